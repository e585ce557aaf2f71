package bus_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/bus"
	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/wire"
)

// TestPublishSetRefs: the refs PublishSetRefs returns locate the set's
// messages in the stream (read back, they hold the set's groups), directly
// published and coalesced alike; PublishSetUntil is unchanged.
func TestPublishSetRefs(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded NATS server")
	}
	for _, linger := range []time.Duration{0, 20 * time.Millisecond} {
		t.Run(fmt.Sprintf("linger=%v", linger), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			b, err := bus.Open(ctx, bus.Options{DataDir: t.TempDir(), Linger: linger})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			stream, err := b.JetStream().Stream(ctx, wire.MetricsStream)
			if err != nil {
				t.Fatal(err)
			}
			// groupsAt returns the groups of resource id in the message at ref.
			groupsAt := func(ref bus.Ref, id string) []*metric.Group {
				t.Helper()
				if ref.Stream != wire.MetricsStream || ref.Seq == 0 {
					t.Fatalf("ref %+v", ref)
				}
				raw, err := stream.GetMsg(ctx, ref.Seq)
				if err != nil {
					t.Fatalf("message %d: %v", ref.Seq, err)
				}
				groups, err := wire.Decode(raw.Data)
				if err != nil {
					t.Fatal(err)
				}
				var out []*metric.Group
				for _, g := range groups {
					if g.Resource.ID == id {
						out = append(out, g)
					}
				}
				return out
			}

			// A 48-port interface set: its messages, nothing else.
			set := interfaceSet(testResource("s", "sw-big"), 48)
			n, refs, err := b.PublishSetRefs(ctx, set, time.Now().Add(10*time.Second), nil)
			if n != 49 || err != nil || len(refs) == 0 {
				t.Fatalf("PublishSetRefs = %d, %v, %v", n, refs, err)
			}
			got := 0
			for _, ref := range refs {
				got += len(groupsAt(ref, "sw-big"))
			}
			if got != 49 {
				t.Fatalf("the refs hold %d of the set's 49 groups", got)
			}

			// Light checks at once: coalesced with linger, each set's refs
			// still lead to its own two groups.
			var wg sync.WaitGroup
			var mu sync.Mutex
			byCheck := map[string][]bus.Ref{}
			for i := range 40 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					id := fmt.Sprintf("sw%d", i)
					n, refs, err := b.PublishSetRefs(ctx, lightSet(id, i), time.Now().Add(10*time.Second), make([]bus.Ref, 0, 2))
					if n != 2 || err != nil {
						t.Errorf("%s: %d, %v", id, n, err)
					}
					mu.Lock()
					byCheck[id] = refs
					mu.Unlock()
				}()
			}
			wg.Wait()
			// On a busy machine an ack can come after the publish timeout:
			// that message went to the buffer and its checks have no ref.
			buffered := b.Health().Buffered > 0
			seqs := map[uint64]bool{}
			for id, refs := range byCheck {
				if buffered && len(refs) == 0 {
					t.Logf("%s: no ref (its message was buffered)", id)
					continue
				}
				got := 0
				for _, ref := range refs {
					seqs[ref.Seq] = true
					got += len(groupsAt(ref, id))
				}
				if len(refs) == 0 || got != 2 {
					t.Errorf("%s: refs %v hold %d of its 2 groups", id, refs, got)
				}
			}
			if len(seqs) == 0 {
				t.Fatal("no light check got a ref")
			}
			if linger > 0 && len(seqs) >= 40 {
				t.Errorf("linger %v: %d distinct messages for 40 light checks, want them coalesced", linger, len(seqs))
			}
			// PublishSetUntil: the same publish, no refs asked.
			if n, err := b.PublishSetUntil(ctx, lightSet("plain", 99), time.Time{}); n != 2 || err != nil {
				t.Fatalf("PublishSetUntil = %d, %v", n, err)
			}
		})
	}
}
