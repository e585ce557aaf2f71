package bus_test

import (
	"context"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/wire"
)

// TestPublishVouches: PublishSet marks a message whose groups all pass
// Group.Validate with wire.ValidHeader, a direct one (a switch's interface
// groups) and a coalesced one (the status group) alike, and leaves the
// header off a message holding a group that does not.
func TestPublishVouches(t *testing.T) {
	b := openEmbedded(t, t.TempDir())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	good := interfaceSet(testResource("site1", "sw1"), 48)
	bad := interfaceSet(testResource("site1", "sw2"), 48)
	bad.Groups[5].Metrics[0].Type = 0 // no type: the interface message only
	for _, set := range []*metric.GroupSet{good, bad} {
		if _, err := b.PublishSet(ctx, set); err != nil {
			t.Fatal(err)
		}
	}
	st, err := b.JetStream().Stream(ctx, wire.MetricsStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	type key struct{ id, subject string }
	got := map[key]string{}
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		for line := range wire.Groups(m.Data) {
			var id string
			if g, err := metric.Decode(line); err == nil {
				id = g.Resource.ID
			} else {
				id = "sw2" // the broken group
			}
			got[key{id, m.Subject}] = m.Header.Get(wire.ValidHeader)
		}
	}
	want := map[key]string{
		{"sw1", "panoptes.metrics.site1.interface"}: wire.ValidValue,
		{"sw1", "panoptes.metrics.site1.status"}:    wire.ValidValue,
		{"sw2", "panoptes.metrics.site1.interface"}: "",
		{"sw2", "panoptes.metrics.site1.status"}:    wire.ValidValue,
	}
	for k, v := range want {
		if h, ok := got[k]; !ok || h != v {
			t.Errorf("%s's message on %s: header %q (stored %v), want %q", k.id, k.subject, h, ok, v)
		}
	}
}
