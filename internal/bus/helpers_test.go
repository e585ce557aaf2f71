package bus_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/panoptes-go/panoptes/internal/bus"
	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/wire"
)

// openEmbedded starts an in-process bus in dir and closes it with the test.
func openEmbedded(t testing.TB, dir string) *bus.Bus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := bus.Open(ctx, bus.Options{DataDir: dir, MaxBytes: 256 << 20, Name: t.Name()})
	if err != nil {
		t.Fatalf("open embedded bus: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func testResource(site, id string) *resource.Resource {
	return &resource.Resource{
		Site: site, Class: "network", Subclass: "switch", Type: "cisco",
		ID: id, Endpoint: id, Metadata: map[string]string{"_resource_ttl": "604800"},
		CreationTimestamp: 1535496674.53, Plugin: "discovery_csv",
	}
}

// interfaceSet is what one interface check of a 48-port switch produces:
// 48 interface groups and the status group.
func interfaceSet(r *resource.Resource, ports int) *metric.GroupSet {
	set := &metric.GroupSet{}
	now := 1535497112.075
	for i := 0; i < ports; i++ {
		g := &metric.Group{
			Resource: r, Type: "interface", Interval: 60, CreationTimestamp: now,
			SchemaVersion: metric.SchemaVersion,
			Dimensions: []metric.Dimension{
				{Name: "interface_name", Value: fmt.Sprintf("Ethernet1/%d", i+1)},
				{Name: "media_type", Value: "ethernetCsmacd"},
			},
		}
		for _, name := range []string{"bits_in", "bits_out", "packets_in", "packets_out", "errors_in", "errors_out", "discards_in", "discards_out"} {
			g.Metrics = append(g.Metrics, metric.Metric{Name: name, Value: metric.Uint(29771896789864 + uint64(i)), Type: metric.Counter, Timestamp: now})
		}
		g.Metrics = append(g.Metrics, metric.Metric{Name: "oper_state", Value: metric.Int(1), Type: metric.Gauge, Timestamp: now})
		set.Groups = append(set.Groups, g)
	}
	set.Groups = append(set.Groups, &metric.Group{
		Resource: r, Type: "status", Interval: 60, CreationTimestamp: now, SchemaVersion: metric.SchemaVersion,
		Metrics: []metric.Metric{{Name: "polling_status", Value: metric.Int(metric.StatusSuccess), Type: metric.Gauge, Timestamp: now}},
	})
	return set
}

// waitStreamGroups waits up to 20s for stream to hold want metrics groups
// (a message holds one or more, one per line: wire.Groups).
func waitStreamGroups(t testing.TB, b *bus.Bus, stream string, want uint64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	counted := map[uint64]uint64{}
	var got uint64
	for time.Now().Before(deadline) {
		if got = streamGroups(t, b, stream, counted); got == want {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("stream %s holds %d groups after 20s, want %d", stream, got, want)
}

// streamGroups counts the metrics groups stream holds; counted (may be
// nil) remembers messages already read.
func streamGroups(t testing.TB, b *bus.Bus, stream string, counted map[uint64]uint64) uint64 {
	t.Helper()
	if counted == nil {
		counted = map[uint64]uint64{}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := b.JetStream().Stream(ctx, stream)
	if err != nil {
		return 0
	}
	st := s.CachedInfo().State
	var got uint64
	for seq := st.FirstSeq; st.Msgs > 0 && seq <= st.LastSeq; seq++ {
		n, ok := counted[seq]
		if !ok {
			raw, err := s.GetMsg(ctx, seq)
			if err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
				return got // retried by the caller
			}
			if err == nil {
				n = uint64(wire.GroupCount(raw.Data))
			}
			counted[seq] = n
		}
		got += n
	}
	return got
}
