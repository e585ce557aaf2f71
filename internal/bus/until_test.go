package bus_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/panoptes-go/panoptes/internal/bus"
	"github.com/panoptes-go/panoptes/internal/wire"
)

// swallowAcks makes the stream stop answering: it is deleted, and a plain
// subscriber takes its subjects, so publishes are neither stored nor
// refused (no "no responders") and their acks never come, as with a stream
// stalled electing a leader. restore brings a stream back, so that Close
// can empty the buffer at once.
func swallowAcks(t *testing.T, b *bus.Bus) (restore func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.JetStream().DeleteStream(ctx, wire.MetricsStream); err != nil {
		t.Fatal(err)
	}
	sub, err := b.Conn().Subscribe(wire.AllMetrics, func(*nats.Msg) {})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Conn().Flush(); err != nil {
		t.Fatal(err)
	}
	return func() {
		_ = sub.Unsubscribe()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := b.JetStream().CreateStream(ctx, jetstream.StreamConfig{Name: wire.MetricsStream,
			Subjects: []string{wire.AllMetrics}, Storage: jetstream.MemoryStorage}); err != nil {
			t.Error(err)
		}
	}
}

// TestPublishSetUntilBoundsTheWait: with acks that never come, PublishSetUntil
// returns at its until (well before the 5s publish timeout), direct or
// coalesced, and what was not acknowledged is buffered and counted as
// accepted; a ctx deadline bounds PublishSet the same way. A coalesced set
// whose until comes before the linger ends is sent early and returns by it.
func TestPublishSetUntilBoundsTheWait(t *testing.T) {
	if testing.Short() {
		t.Skip("starts embedded NATS servers")
	}
	const bound = 300 * time.Millisecond
	until := func(b *bus.Bus, ctx context.Context, seq int) (int, error) {
		return b.PublishSetUntil(ctx, lightSet("sw", seq), time.Now().Add(bound))
	}
	ctxDeadline := func(b *bus.Bus, ctx context.Context, seq int) (int, error) {
		dctx, cancel := context.WithTimeout(ctx, bound)
		defer cancel()
		return b.PublishSet(dctx, lightSet("sw", seq))
	}
	for _, tc := range []struct {
		name    string
		linger  time.Duration
		publish func(b *bus.Bus, ctx context.Context, seq int) (int, error)
	}{
		{"direct until", 0, until},
		{"direct ctx deadline", 0, ctxDeadline},
		{"coalesced until", 5 * time.Millisecond, until},
		{"coalesced ctx deadline", 5 * time.Millisecond, ctxDeadline},
		{"coalesced until before the linger ends", 3 * time.Second, until},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			b, err := bus.Open(ctx, bus.Options{DataDir: t.TempDir(), Linger: tc.linger, PublishTimeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			check := func(what string, seq int) {
				t.Helper()
				start := time.Now()
				n, err := tc.publish(b, ctx, seq)
				took := time.Since(start)
				if n != 2 || err != nil {
					t.Fatalf("%s: %d, %v; want 2 groups accepted", what, n, err)
				}
				// Generous on a shared machine, but far from the 5s timeout
				// (and the 3s linger).
				if took > bound+1500*time.Millisecond {
					t.Fatalf("%s returned after %s, want by about %s", what, took, bound)
				}
			}
			check("with acks", 1) // stored: sent by its until even with a long linger
			waitStreamGroups(t, b, wire.MetricsStream, 2)
			if tc.linger > time.Second {
				// A batch opened by a caller that can wait long is sent
				// early for one that joins it with an earlier until.
				first := make(chan error, 1)
				go func() {
					_, err := b.PublishSetUntil(ctx, lightSet("sw", 10), time.Now().Add(time.Minute))
					first <- err
				}()
				time.Sleep(50 * time.Millisecond)
				check("joining a batch", 11)
				if err := <-first; err != nil {
					t.Fatal(err)
				}
				waitStreamGroups(t, b, wire.MetricsStream, 6)
			}

			restore := swallowAcks(t, b)
			defer restore()
			start := time.Now()
			check("without acks", 2)
			if took := time.Since(start); took < bound-20*time.Millisecond {
				t.Fatalf("without acks: returned after %s, before its bound %s", took, bound)
			}
			if h := b.Health(); h.Buffered == 0 {
				t.Fatalf("the unacknowledged set was not buffered: %+v", h)
			}
		})
	}
}
