package enrich

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/snmp"
)

// countingKV counts a real bucket's Gets.
type countingKV struct {
	jetstream.KeyValue
	gets atomic.Int32
}

func (k *countingKV) Get(ctx context.Context, key string) (jetstream.KeyValueEntry, error) {
	k.gets.Add(1)
	return k.KeyValue.Get(ctx, key)
}

// TestVisitReadsKVOnlyWhenNewer: two nodes share a bucket. A node whose
// copy is the newest value in KV (it wrote it) visits the device again
// without reading KV (a Get of a value in an older block loads the whole
// 4 MiB block); once the other node wrote newer data, the next visit reads
// it and serves it instead of collecting.
func TestVisitReadsKVOnlyWhenNewer(t *testing.T) {
	ctx, _, bucket := kvTest(t)
	kvA := &countingKV{KeyValue: bucket}
	a := New(Options{KV: kvA, Refresh: time.Hour, MinInterval: time.Nanosecond})
	b := New(Options{KV: bucket, Refresh: time.Hour, MinInterval: time.Nanosecond})
	watching(t, ctx, a)
	res := &resource.Resource{ID: "sw1"}
	h := kvHash(res.Key())
	devA, devB := &scripted{uptime: 100000, alias: "from A"}, &scripted{uptime: 100000, alias: "from B"}
	alias := func() string {
		e := a.entry(res.Key())
		e.mu.Lock()
		defer e.mu.Unlock()
		i, _ := e.dev.Interfaces.Get(7)
		return i.Alias
	}
	waitRev := func(min uint64) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			if _, rev := a.revs.lookup(h); rev >= min {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the watch did not see revision %d", min)
			}
		}
	}

	// The first visit reads (nothing there), collects and writes.
	if skipped, err := a.refresh(ctx, res, snmp.Target{}, devA, time.Now().Add(2*time.Hour)); skipped || err != nil {
		t.Fatalf("first visit: skipped %v, %v", skipped, err)
	}
	if n := kvA.gets.Load(); n != 1 {
		t.Fatalf("%d KV reads on the first visit, want 1", n)
	}
	waitRev(1)
	// Due again (its data would not last past the next visit): it collects,
	// but KV holds nothing newer than what it wrote, so it reads nothing.
	if skipped, err := a.refresh(ctx, res, snmp.Target{}, devA, time.Now().Add(2*time.Hour)); skipped || err != nil {
		t.Fatalf("second visit: skipped %v, %v", skipped, err)
	}
	if n := kvA.gets.Load(); n != 1 {
		t.Errorf("%d KV reads after a visit of a device whose newest value this node wrote, want still 1", n)
	}
	if n := testutil.ToFloat64(a.m.kvReads[kvSkipped]); n != 1 {
		t.Errorf("kv reads skipped %v, want 1", n)
	}

	// Another node collects newer data: the next visit reads it and keeps
	// it (fresh for the hour) instead of walking the device.
	if skipped, err := b.refresh(ctx, res, snmp.Target{}, devB, time.Now().Add(2*time.Hour)); skipped || err != nil {
		t.Fatalf("the other node's visit: skipped %v, %v", skipped, err)
	}
	kve, err := bucket.Get(ctx, kvKey(res.Key()))
	if err != nil {
		t.Fatal(err)
	}
	waitRev(kve.Revision())
	walks := devA.walks.Load()
	if skipped, err := a.refresh(ctx, res, snmp.Target{}, devA, time.Now()); !skipped || err != nil {
		t.Fatalf("visit after the other node's write: skipped %v, %v; want it served from KV", skipped, err)
	}
	if n := kvA.gets.Load(); n != 2 {
		t.Errorf("%d KV reads, want 2 (the other node's newer value)", n)
	}
	if got := alias(); got != "from B" || devA.walks.Load() != walks {
		t.Errorf("alias %q after the other node's collection (walks %d), want %q, no walk", got, devA.walks.Load()-walks, "from B")
	}
	// And that value is now this node's copy: no read again.
	if _, err := a.refresh(ctx, res, snmp.Target{}, devA, time.Now()); err != nil {
		t.Fatal(err)
	}
	if n := kvA.gets.Load(); n != 2 {
		t.Errorf("%d KV reads, want still 2", n)
	}

	// A lookup that finds the device changed reads KV only for a newer
	// value as well: none here, so it collects itself.
	devA.uptime = 10 // restarted
	if _, err := a.Lookup(ctx, res, snmp.Target{}, devA, Signals{Uptime: 10, HaveUptime: true}, Need{Interfaces: true}); err != nil {
		t.Fatal(err)
	}
	if n := kvA.gets.Load(); n != 2 || alias() != "from A" {
		t.Errorf("changed device: %d KV reads (want 2), alias %q (want collected again)", n, alias())
	}

	// Without the watch every visit reads, as before it existed.
	a.revs.end()
	if _, err := a.refresh(ctx, res, snmp.Target{}, devA, time.Now()); err != nil {
		t.Fatal(err)
	}
	if n := kvA.gets.Load(); n != 3 {
		t.Errorf("%d KV reads with no watch running, want 3", n)
	}
}
