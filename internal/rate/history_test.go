package rate

import (
	"context"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/testutil/natstest"
)

func TestSwap(t *testing.T) {
	p := New(Options{})
	ctx := context.Background()
	key := testRes.Key()
	if _, _, ok := p.Swap(ctx, key, 7, 100, 10); ok {
		t.Fatal("first sample has a previous one")
	}
	if v, at, ok := p.Swap(ctx, key, 7, 150, 20); !ok || v != 100 || at != 10 {
		t.Errorf("Swap = %d, %v, %v; want 100 at 10", v, at, ok)
	}
	// Not newer: the stored sample stays and is returned.
	if v, at, ok := p.Swap(ctx, key, 7, 999, 20); !ok || v != 150 || at != 20 {
		t.Errorf("stale Swap = %d, %v, %v; want 150 at 20", v, at, ok)
	}
	if v, _, ok := p.Swap(ctx, key, 7, 160, 30); !ok || v != 150 {
		t.Errorf("after a stale sample: %d, %v; want 150", v, ok)
	}
	// Series and resources are independent.
	if _, _, ok := p.Swap(ctx, key, 8, 1, 30); ok {
		t.Error("another series shares the state")
	}
	if _, _, ok := p.Swap(ctx, key+"x", 7, 1, 30); ok {
		t.Error("another resource shares the state")
	}
}

// TestSwapStateSurvivesRestart: samples recorded with Swap are flushed with
// the resource's rate state and read back by a new Processor on the same
// real JetStream KV, beside the rate samples.
func TestSwapStateSurvivesRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("embedded NATS JetStream test")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	kv, err := OpenBucket(ctx, natstest.JetStream(t, t.TempDir()), time.Hour, 1)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	p1 := New(Options{KV: kv})
	p1.Apply(ctx, &metric.GroupSet{Groups: []*metric.Group{ifGroup("Gi0/1", 100, 1000, metric.Hint{Bits: 64}, 0)}}, All(), now)
	p1.Swap(ctx, testRes.Key(), 42, 5000, 100)
	if err := p1.Flush(ctx, now); err != nil {
		t.Fatal(err)
	}

	p2 := New(Options{KV: kv})
	if v, at, ok := p2.Swap(ctx, testRes.Key(), 42, 5100, 160); !ok || v != 5000 || at != 100 {
		t.Errorf("after restart Swap = %d, %v, %v; want 5000 at 100", v, at, ok)
	}
	g := ifGroup("Gi0/1", 160, 1000+60*10, metric.Hint{Bits: 64}, 0)
	p2.Apply(ctx, &metric.GroupSet{Groups: []*metric.Group{g}}, All(), now)
	if r, ok := rateOf(g, "bits_in"); !ok || r != 10 {
		t.Errorf("rate after restart = %v, %v; want 10", r, ok)
	}
}
