package enrich

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/snmp"
	"github.com/panoptes-go/panoptes/internal/testutil/natstest"
)

// laggingKV answers Gets with a replica's older copy while stale is set,
// as a lagging replica answers a direct get (bus.replicas 3).
type laggingKV struct {
	jetstream.KeyValue
	gets  atomic.Int32
	mu    sync.Mutex
	stale jetstream.KeyValueEntry
}

func (k *laggingKV) Get(ctx context.Context, key string) (jetstream.KeyValueEntry, error) {
	k.gets.Add(1)
	k.mu.Lock()
	stale := k.stale
	k.mu.Unlock()
	if stale != nil {
		return stale, nil
	}
	return k.KeyValue.Get(ctx, key)
}

// kvTest is a test's context (30 s) and an enrichment bucket on an
// embedded JetStream server.
func kvTest(t *testing.T) (context.Context, jetstream.JetStream, jetstream.KeyValue) {
	t.Helper()
	if testing.Short() {
		t.Skip("embedded NATS")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	js := natstest.JetStream(t, "")
	bucket, err := OpenBucket(ctx, js, time.Hour, 1)
	if err != nil {
		t.Fatal(err)
	}
	return ctx, js, bucket
}

// watching starts c's watch of its bucket and waits for it to run.
func watching(t *testing.T, ctx context.Context, c *Cache) {
	t.Helper()
	ready := make(chan struct{})
	go c.WatchKV(ctx, ready)
	<-ready
	if c.revs.current() == 0 {
		t.Fatal("the watch did not start")
	}
}

func waitSaw(t *testing.T, c *Cache, key string, rev uint64) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if _, n := c.revs.lookup(kvHash(key)); n >= rev {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the watch did not see revision %d of %s", rev, key)
		}
	}
}

// TestLaggingReadReadsAgain: another node wrote revision 2, which this
// node's watch saw, but its read met a replica that still had revision 1.
// The node records the revision it read, not the watch's, so the next
// visit reads again (and gets the newer value once the replica caught up)
// instead of skipping reads of the key until its next write.
func TestLaggingReadReadsAgain(t *testing.T) {
	ctx, _, bucket := kvTest(t)
	kvA := &laggingKV{KeyValue: bucket}
	a := New(Options{KV: kvA, Refresh: time.Hour, MinInterval: time.Nanosecond})
	b := New(Options{KV: bucket, Refresh: time.Hour, MinInterval: time.Nanosecond})
	res := &resource.Resource{ID: "sw1"}
	a.entry(res.Key()) // held: A polls it
	watching(t, ctx, a)
	next := time.Now().Add(2 * time.Hour)
	if _, err := b.refresh(ctx, res, snmp.Target{}, &scripted{uptime: 100000, alias: "old"}, next); err != nil {
		t.Fatal(err)
	}
	old, err := bucket.Get(ctx, kvKey(res.Key()))
	if err != nil {
		t.Fatal(err)
	}
	b.Invalidate(res.Key()) // deletes it from KV: B's next visit writes again
	if _, err := b.refresh(ctx, res, snmp.Target{}, &scripted{uptime: 100000, alias: "new"}, next); err != nil {
		t.Fatal(err)
	}
	cur, err := bucket.Get(ctx, kvKey(res.Key()))
	if err != nil {
		t.Fatal(err)
	}
	waitSaw(t, a, res.Key(), cur.Revision())

	kvA.mu.Lock()
	kvA.stale = old // the replica lags
	kvA.mu.Unlock()
	if skipped, err := a.refresh(ctx, res, snmp.Target{}, &scripted{uptime: 100000, alias: "A"}, time.Now()); !skipped || err != nil {
		t.Fatalf("visit: skipped %v, %v; want served from KV", skipped, err)
	}
	e := a.entry(res.Key())
	e.mu.Lock()
	rev := e.rev
	e.mu.Unlock()
	if rev != old.Revision() {
		t.Errorf("recorded revision %d after reading %d (the watch saw %d): want the one read", rev, old.Revision(), cur.Revision())
	}
	kvA.mu.Lock()
	kvA.stale = nil // caught up
	kvA.mu.Unlock()
	gets := kvA.gets.Load()
	if _, err := a.refresh(ctx, res, snmp.Target{}, &scripted{uptime: 100000, alias: "A"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if kvA.gets.Load() != gets+1 {
		t.Fatal("the visit after a lagging read did not read KV again")
	}
	e.mu.Lock()
	i, _ := e.dev.Interfaces.Get(7)
	e.mu.Unlock()
	if i.Alias != "new" {
		t.Errorf("alias %q, want the newer value %q", i.Alias, "new")
	}
	if a.revs.current() != 1 {
		t.Errorf("watch epoch %d, want 1: a lagging replica is no reason to restart the watch", a.revs.current())
	}
}

// TestBucketCreatedAgainRestartsWatch: the bucket is deleted and created
// again (revisions start over) while a node watches it. The node restarts
// its watch, and reads the value another node then writes instead of
// skipping the read because its own old revision is above the new ones.
func TestBucketCreatedAgainRestartsWatch(t *testing.T) {
	ctx, js, bucket := kvTest(t)
	for i := range 20 { // revisions above those of the bucket created again
		if _, err := bucket.Put(ctx, "filler", []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	kvA := &countingKV{KeyValue: bucket}
	a := New(Options{KV: kvA, Refresh: time.Hour, MinInterval: time.Nanosecond})
	a.checkEvery = 50 * time.Millisecond
	watching(t, ctx, a)
	res := &resource.Resource{ID: "sw1"}
	if _, err := a.refresh(ctx, res, snmp.Target{}, &scripted{uptime: 100000, alias: "from A"}, time.Now().Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	mine, err := bucket.Get(ctx, kvKey(res.Key()))
	if err != nil {
		t.Fatal(err)
	}
	waitSaw(t, a, res.Key(), mine.Revision())

	if err := js.DeleteKeyValue(ctx, Bucket); err != nil {
		t.Fatal(err)
	}
	again, err := OpenBucket(ctx, js, time.Hour, 1)
	if err != nil {
		t.Fatal(err)
	}
	b := New(Options{KV: again, Refresh: time.Hour, MinInterval: time.Nanosecond})
	if _, err := b.refresh(ctx, res, snmp.Target{}, &scripted{uptime: 100000, alias: "from B"}, time.Now().Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); a.revs.current() < 2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("watch epoch %d: the watch was not restarted after the bucket was created again", a.revs.current())
		}
	}
	if skipped, err := a.refresh(ctx, res, snmp.Target{}, &scripted{uptime: 100000, alias: "A again"}, time.Now()); !skipped || err != nil {
		t.Fatalf("visit: skipped %v, %v; want served from KV", skipped, err)
	}
	e := a.entry(res.Key())
	e.mu.Lock()
	i, _ := e.dev.Interfaces.Get(7)
	e.mu.Unlock()
	if i.Alias != "from B" {
		t.Errorf("alias %q, want the other node's %q written after the bucket was created again", i.Alias, "from B")
	}
}

// TestWatchKeepsOnlyHeldKeys: another node's write of a device this node
// holds no entry for leaves nothing in the watch's revisions; one of a
// held device is recorded, and is dropped with the entry.
func TestWatchKeepsOnlyHeldKeys(t *testing.T) {
	ctx, _, bucket := kvTest(t)
	a := New(Options{KV: bucket, Refresh: time.Hour})
	b := New(Options{KV: bucket, Refresh: time.Hour})
	held, other := &resource.Resource{ID: "held"}, &resource.Resource{ID: "other"}
	a.entry(held.Key())
	watching(t, ctx, a)
	next := time.Now().Add(2 * time.Hour)
	for _, res := range []*resource.Resource{other, held} { // other first: seen once held is
		if _, err := b.refresh(ctx, res, snmp.Target{}, &scripted{uptime: 100000, alias: "b"}, next); err != nil {
			t.Fatal(err)
		}
	}
	kve, err := bucket.Get(ctx, kvKey(held.Key()))
	if err != nil {
		t.Fatal(err)
	}
	waitSaw(t, a, held.Key(), kve.Revision())
	a.revs.mu.Lock()
	_, kept := a.revs.newest[kvHash(other.Key())]
	n := len(a.revs.newest)
	a.revs.mu.Unlock()
	if kept || n != 1 {
		t.Errorf("watch revisions hold %d keys (the other node's device: %v), want only the held one", n, kept)
	}
	a.Forget(held.Key())
	a.revs.mu.Lock()
	n = len(a.revs.newest)
	a.revs.mu.Unlock()
	if n != 0 {
		t.Errorf("%d keys in the watch's revisions after the entry was forgotten, want 0", n)
	}
}

// TestSkipsHaveNoForcedRead: a node that wrote the newest value of its
// device visits it many times while nothing else writes it; none of the
// visits reads KV (a read forced every so many skips would load an old
// block of the bucket a few times a second at 10,000 devices).
func TestSkipsHaveNoForcedRead(t *testing.T) {
	ctx, _, bucket := kvTest(t)
	kvA := &countingKV{KeyValue: bucket}
	a := New(Options{KV: kvA, Refresh: time.Hour, MinInterval: time.Nanosecond})
	watching(t, ctx, a)
	res := &resource.Resource{ID: "sw1"}
	dev := &scripted{uptime: 100000, alias: "a"}
	if _, err := a.refresh(ctx, res, snmp.Target{}, dev, time.Now().Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	mine, err := bucket.Get(ctx, kvKey(res.Key()))
	if err != nil {
		t.Fatal(err)
	}
	waitSaw(t, a, res.Key(), mine.Revision())
	reads := kvA.gets.Load()
	for i := range 40 {
		if skipped, err := a.refresh(ctx, res, snmp.Target{}, dev, time.Now()); !skipped || err != nil {
			t.Fatalf("visit %d: skipped %v, %v; want its fresh copy served", i, skipped, err)
		}
	}
	if n := kvA.gets.Load() - reads; n != 0 {
		t.Errorf("%d KV reads in 40 visits of a device whose newest value this node wrote, want 0", n)
	}
}
