package monitor

import (
	"context"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/bus"
	"github.com/panoptes-go/panoptes/internal/event"
	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/sink"
)

// TestRun: the events app as a node runs it: BGP groups published on the
// metrics stream become an event on the events stream; groups published
// before its consumer existed are not read.
func TestRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded NATS server")
	}
	ctx := context.Background()
	b, err := bus.Open(ctx, bus.Options{DataDir: t.TempDir(), MaxBytes: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	js := b.JetStream()
	pub := func(groups ...*metric.Group) {
		t.Helper()
		if _, err := b.PublishSet(ctx, &metric.GroupSet{Groups: groups}); err != nil {
			t.Fatal(err)
		}
	}
	pub(bgp(1000, "192.0.2.7", 1)) // history: a session down long ago

	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- Run(runCtx, js, RunOptions{Replicas: 1}) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	wait := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(15 * time.Second); !ok(); time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
		}
	}
	wait("the app's consumer", func() bool {
		_, err := js.Consumer(ctx, "PANOPTES_METRICS", sink.DurableName("app_events"))
		return err == nil
	})
	pub(bgp(2000, "192.0.2.9", 6))
	pub(bgp(2060, "192.0.2.9", 3))
	var events []*event.Event
	wait("the session's event", func() bool {
		s, err := js.Stream(ctx, event.Stream)
		if err != nil {
			return false
		}
		info, err := s.Info(ctx)
		if err != nil || info.State.Msgs == 0 {
			return false
		}
		events = events[:0]
		for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
			m, err := s.GetMsg(ctx, seq)
			if err != nil {
				return false
			}
			e, err := event.Decode(m.Data)
			if err != nil {
				t.Fatal(err)
			}
			events = append(events, e)
		}
		return true
	})
	time.Sleep(200 * time.Millisecond)
	if len(events) != 1 || events[0].Object != "192.0.2.9" || events[0].OldState != "established" || events[0].NewState != "active" {
		for _, e := range events {
			t.Logf("event %+v", e)
		}
		t.Fatalf("%d events; want one: 192.0.2.9 established -> active (the history not read)", len(events))
	}
}
