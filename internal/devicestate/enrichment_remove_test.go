package devicestate

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/panoptes-go/panoptes/internal/enrich"
)

// hangingKV is a KV bucket whose deletes hang until their ctx ends, as
// when no server answers; unused methods panic (nil embedded).
type hangingKV struct {
	jetstream.KeyValue
	deletes atomic.Int32
}

func (k *hangingKV) Delete(ctx context.Context, _ string, _ ...jetstream.KVDeleteOpt) error {
	k.deletes.Add(1)
	<-ctx.Done()
	return ctx.Err()
}

// TestRemoveEnrichmentBounded: when KV does not answer, the deletes of
// many removed resources give up after the first timeout instead of each
// waiting it (the node waits for them on shutdown).
func TestRemoveEnrichmentBounded(t *testing.T) {
	kv := &hangingKV{}
	e := NewEnrichment(EnrichmentOptions{Cache: enrich.New(enrich.Options{KV: kv}), Logger: slog.New(slog.DiscardHandler)})
	keys := make([]string, 100)
	for i := range keys {
		keys[i] = fmt.Sprint("r", i)
	}
	start := time.Now()
	e.remove(keys, 50*time.Millisecond)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("removing 100 resources with KV down took %v", d)
	}
	if got := kv.deletes.Load(); got != 1 {
		t.Errorf("%d deletes attempted, want 1 (then left to the TTL)", got)
	}
}
