package enrich

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/s2frame"
	"github.com/panoptes-go/panoptes/internal/snmp"
	"github.com/panoptes-go/panoptes/internal/testutil/natstest"
)

// stallingKV is a KV bucket whose reads hang (until their ctx ends or
// release closes) while stall is set, as during a stream leader election;
// it only counts puts and deletes. Unused methods panic (nil embedded).
type stallingKV struct {
	jetstream.KeyValue
	stall   atomic.Bool
	entered chan struct{} // a stalled Get began
	release chan struct{}
	puts    atomic.Int32
}

func (k *stallingKV) Get(ctx context.Context, _ string) (jetstream.KeyValueEntry, error) {
	if k.stall.Load() {
		k.entered <- struct{}{}
		select {
		case <-k.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return nil, jetstream.ErrKeyNotFound
}

func (k *stallingKV) Put(context.Context, string, []byte) (uint64, error) {
	k.puts.Add(1)
	return 1, nil
}

func (k *stallingKV) Delete(context.Context, string, ...jetstream.KVDeleteOpt) error { return nil }

// TestKVReadNotUnderEntryLock: a Refresher visit stuck reading KV does not
// hold up a poll whose data is in memory.
func TestKVReadNotUnderEntryLock(t *testing.T) {
	kv := &stallingKV{entered: make(chan struct{}, 1), release: make(chan struct{})}
	c := New(Options{KV: kv, Refresh: time.Hour})
	dev := &scripted{uptime: 1000, alias: "a"}
	res := &resource.Resource{ID: "sw1"}
	ctx := context.Background()
	if _, err := c.Lookup(ctx, res, snmp.Target{}, dev, Signals{}, Need{Interfaces: true}); err != nil {
		t.Fatal(err)
	}
	kv.stall.Store(true)
	visited := make(chan struct{})
	go func() {
		defer close(visited)
		_, _ = c.refresh(ctx, res, snmp.Target{}, dev, time.Now().Add(time.Hour))
	}()
	<-kv.entered
	looked := make(chan error, 1)
	go func() {
		lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_, err := c.Lookup(lctx, res, snmp.Target{}, dev, Signals{}, Need{Interfaces: true})
		looked <- err
	}()
	select {
	case err := <-looked:
		if err != nil {
			t.Errorf("lookup: %v", err)
		}
	case <-time.After(3 * time.Second):
		t.Error("a poll's lookup waited for the Refresher's KV read (entry locked across a network call)")
		close(kv.release)
		<-looked
		<-visited
		return
	}
	close(kv.release)
	<-visited
}

// TestKVReadBounded: a KV read that hangs gives up after kvTimeout, not
// the caller's (possibly minutes long) deadline.
func TestKVReadBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("waits kvTimeout")
	}
	kv := &stallingKV{entered: make(chan struct{}, 1), release: make(chan struct{})}
	kv.stall.Store(true)
	c := New(Options{KV: kv})
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if d, _, _ := c.fromKV(ctx, "k"); d != nil || time.Since(start) > kvTimeout+5*time.Second {
		t.Errorf("hanging KV read: %v after %v", d, time.Since(start))
	}
}

// bigDevice answers with n interfaces with long aliases.
type bigDevice struct {
	scripted
	n         int
	realistic bool // aliases like an access switch's, not random text
}

func (b *bigDevice) Walk(_ context.Context, _ snmp.Target, root string) ([]snmp.Varbind, error) {
	if root != ".1.3.6.1.2.1.31.1.1.1.18" {
		return nil, nil
	}
	out := make([]snmp.Varbind, b.n)
	for i := range out {
		// Random text: it must stay too large once compressed.
		text := fmt.Sprintf("%016x%016x%016x%016x", rand.Uint64(), rand.Uint64(), rand.Uint64(), rand.Uint64())
		if b.realistic {
			text = fmt.Sprintf("user port %d, floor 2, room 2.%02d", i+1, i%7)
		}
		out[i] = snmp.Varbind{Name: fmt.Sprintf("%s.%d", root, i+1), Type: gosnmp.OctetString, Value: []byte(text)}
	}
	return out, nil
}

// TestOversizeKeptInMemory: data larger than a KV value (real NATS, 1 MiB
// default max payload) is served from memory, counted and logged once,
// and no put is attempted.
func TestOversizeKeptInMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("embedded NATS")
	}
	ctx := context.Background()
	kv, err := OpenBucket(ctx, natstest.JetStream(t, ""), time.Hour, 1)
	if err != nil {
		t.Fatal(err)
	}
	logs := &records{}
	c := New(Options{KV: kv, Refresh: time.Hour, MinInterval: time.Nanosecond, Logger: slog.New(logs)})
	dev := &bigDevice{scripted: scripted{uptime: 1000}, n: 40000} // ~3.5 MB of JSON, ~1.9 MB compressed
	res := &resource.Resource{ID: "big"}
	for i := range 2 {
		dev.lastChange = uint32(i) // collected again
		d, err := c.Lookup(ctx, res, snmp.Target{}, dev, Signals{LastChange: uint32(i), HaveLastChange: true}, Need{Interfaces: true})
		if err != nil || d.Interfaces.Len() != dev.n {
			t.Fatalf("lookup %d: %v, %d interfaces", i, err, d.Interfaces.Len())
		}
	}
	if got := testutil.ToFloat64(c.m.kvErrors.WithLabelValues("too_large")); got != 2 {
		t.Errorf("too_large errors %v, want 2", got)
	}
	if got := testutil.ToFloat64(c.m.kvErrors.WithLabelValues("put")); got != 0 {
		t.Errorf("%v put errors: an oversize put was attempted", got)
	}
	if n := logs.count("enrichment too large for the KV bucket"); n != 1 {
		t.Errorf("%d oversize log lines, want 1", n)
	}
	if _, err := kv.Get(ctx, kvKey(res.Key())); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Errorf("KV entry: %v, want none", err)
	}
	// A device that fits is stored.
	small := &resource.Resource{ID: "small"}
	if _, err := c.Lookup(ctx, small, snmp.Target{}, &scripted{uptime: 1}, Signals{}, Need{Interfaces: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Get(ctx, kvKey(small.Key())); err != nil {
		t.Errorf("small device not in KV: %v", err)
	}
}

// gatedDevice holds every walk until open closes, then answers (or fails).
type gatedDevice struct {
	scripted
	started chan struct{}
	open    chan struct{}
	fail    bool
}

func (g *gatedDevice) Walk(ctx context.Context, t snmp.Target, root string) ([]snmp.Varbind, error) {
	select {
	case g.started <- struct{}{}:
	default:
	}
	<-g.open
	if g.fail {
		return nil, errors.New("request timeout")
	}
	return g.scripted.Walk(ctx, t, root)
}

// TestRemoveDuringCollection: a resource removed (or forgotten) while its
// collection runs is not written to KV again after Remove, and a failure
// then leaves the failing gauge at zero.
func TestRemoveDuringCollection(t *testing.T) {
	for _, fail := range []bool{false, true} {
		kv := &stallingKV{}
		c := New(Options{KV: kv, Refresh: time.Hour})
		dev := &gatedDevice{scripted: scripted{uptime: 1000, alias: "a"}, started: make(chan struct{}, 1), open: make(chan struct{}), fail: fail}
		res := &resource.Resource{ID: "sw1"}
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, _ = c.refresh(context.Background(), res, snmp.Target{}, dev, time.Now())
		}()
		<-dev.started
		if err := c.Remove(context.Background(), res.Key()); err != nil {
			t.Fatal(err)
		}
		close(dev.open)
		<-done
		if n := kv.puts.Load(); n != 0 {
			t.Errorf("fail=%v: %d KV puts after Remove", fail, n)
		}
		if g := testutil.ToFloat64(c.m.failing); g != 0 {
			t.Errorf("fail=%v: failing gauge %v for a removed resource", fail, g)
		}
	}
}

// TestFailedLookupBacksOff: with no data, a failed inline collection is
// not repeated by every poll within MinInterval.
func TestFailedLookupBacksOff(t *testing.T) {
	now := time.Unix(10000, 0)
	c := New(Options{Refresh: time.Hour, MinInterval: time.Minute, Now: func() time.Time { return now }})
	dev := &slowDevice{scripted: scripted{uptime: 1000, alias: "a"}}
	dev.down.Store(true)
	res := &resource.Resource{ID: "sw1"}
	ctx := context.Background()
	for range 3 {
		if d, err := c.Lookup(ctx, res, snmp.Target{}, dev, Signals{}, Need{Interfaces: true}); d != nil || err == nil {
			t.Fatalf("down device: %v, %v", d, err)
		}
	}
	if n := dev.started.Load(); n != 0 {
		t.Errorf("%d walks: want none (the system GET fails first)", n)
	}
	if got := testutil.ToFloat64(c.m.collections[triggerInline][resultFailed]); got != 1 {
		t.Errorf("%v collections within MinInterval of a failure, want 1", got)
	}
	dev.down.Store(false)
	now = now.Add(time.Minute)
	if d, err := c.Lookup(ctx, res, snmp.Target{}, dev, Signals{}, Need{Interfaces: true}); err != nil || d == nil {
		t.Errorf("after MinInterval: %v, %v; want collected", d, err)
	}
}

// TestKVValuesCompressed: what goes into the KV bucket is S2-framed and
// several times smaller than its JSON; a plain JSON value (as older
// versions wrote) is still read.
func TestKVValuesCompressed(t *testing.T) {
	if testing.Short() {
		t.Skip("embedded NATS")
	}
	ctx := context.Background()
	kv, err := OpenBucket(ctx, natstest.JetStream(t, ""), time.Hour, 1)
	if err != nil {
		t.Fatal(err)
	}
	c := New(Options{KV: kv, Refresh: time.Hour, MinInterval: time.Nanosecond})
	res := &resource.Resource{ID: "sw1"}
	dev := &bigDevice{scripted: scripted{uptime: 1000}, n: 48, realistic: true}
	if _, err := c.Lookup(ctx, res, snmp.Target{}, dev, Signals{}, Need{Interfaces: true}); err != nil {
		t.Fatal(err)
	}
	e, err := kv.Get(ctx, kvKey(res.Key()))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := s2frame.Decode(nil, e.Value())
	if err != nil || !s2frame.Is(e.Value()) {
		t.Fatalf("KV value not S2-framed (%v): %.40q", err, e.Value())
	}
	if len(e.Value())*2 > len(plain) {
		t.Errorf("KV value %d bytes for %d of JSON; want it compressed", len(e.Value()), len(plain))
	}
	// An older node's plain JSON is read by a fresh cache.
	if _, err := kv.Put(ctx, kvKey(res.Key()), plain); err != nil {
		t.Fatal(err)
	}
	fresh := New(Options{KV: kv, Refresh: time.Hour, MinInterval: time.Hour})
	if d, _, _ := fresh.fromKV(ctx, res.Key()); d == nil || d.Interfaces.Len() != 48 {
		t.Fatalf("plain JSON value not read back: %+v", d)
	}
}
