package enrich

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/snmp"
)

// runRefresher runs r until the test ends.
func runRefresher(t *testing.T, r *Refresher) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != context.Canceled {
			t.Errorf("Run: %v, want context.Canceled", err)
		}
	})
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func scheduledOK(c *Cache) int {
	return int(testutil.ToFloat64(c.m.collections[triggerScheduled][resultOK]))
}

// TestRefresherVisitsOnSchedule: a new target is collected at once, then
// about once per interval; a removed one is no longer visited.
func TestRefresherVisitsOnSchedule(t *testing.T) {
	const interval = 200 * time.Millisecond
	c := New(Options{Refresh: interval})
	dev := &scripted{uptime: 1000, alias: "a"}
	r := NewRefresher(RefresherOptions{Cache: c, SNMP: dev, MaxConcurrent: 2})
	res := &resource.Resource{ID: "sw1"}
	r.Update([]Target{{Resource: res}})
	if r.Len() != 1 || testutil.ToFloat64(c.m.scheduled) != 1 {
		t.Fatalf("Len %d, scheduled gauge %v; want 1", r.Len(), testutil.ToFloat64(c.m.scheduled))
	}
	runRefresher(t, r)
	waitFor(t, "the first collection", func() bool { return scheduledOK(c) >= 1 })
	if !c.Has(res.Key()) {
		t.Fatal("collected data not in memory")
	}
	time.Sleep(1200 * time.Millisecond)
	n := scheduledOK(c)
	// About 1.2s/200ms = 6 more; the visit right after the first may skip.
	if n < 3 || n > 9 {
		t.Errorf("%d collections in 1.2s at a %v interval", n, interval)
	}
	r.Update(nil)
	time.Sleep(100 * time.Millisecond) // a visit in flight ends
	n = scheduledOK(c)
	time.Sleep(4 * interval)
	if got := scheduledOK(c); got != n {
		t.Errorf("%d collections after the target was removed, want none", got-n)
	}
}

// TestRefresherSkipsFreshData: data a poll collected (inline) for a
// scheduled device stays fresh for two intervals, so the visit that
// follows collects nothing.
func TestRefresherSkipsFreshData(t *testing.T) {
	c := New(Options{Refresh: time.Hour})
	dev := &scripted{uptime: 1000, alias: "a"}
	r := NewRefresher(RefresherOptions{Cache: c, SNMP: dev})
	res := &resource.Resource{ID: "sw1"}
	r.Update([]Target{{Resource: res}})
	d, err := c.Lookup(context.Background(), res, snmp.Target{}, dev, Signals{}, Need{Interfaces: true})
	if err != nil {
		t.Fatal(err)
	}
	if want := d.CollectedAt.Add(2 * time.Hour); !d.FreshUntil.Equal(want) {
		t.Errorf("FreshUntil %v, want two intervals after %v", d.FreshUntil, d.CollectedAt)
	}
	walks := dev.walks.Load()
	runRefresher(t, r)
	waitFor(t, "the first visit", func() bool { return testutil.ToFloat64(c.m.skipped) == 1 })
	if dev.walks.Load() != walks || scheduledOK(c) != 0 {
		t.Errorf("the visit walked the device (%d walks) although its data was fresh", dev.walks.Load()-walks)
	}
}

// slowDevice makes each walk last a while and can fail on demand.
type slowDevice struct {
	scripted
	delay   time.Duration
	down    atomic.Bool
	started atomic.Int32 // walks begun
}

func (s *slowDevice) Walk(ctx context.Context, t snmp.Target, root string) ([]snmp.Varbind, error) {
	s.started.Add(1)
	if s.down.Load() {
		return nil, context.DeadlineExceeded
	}
	select {
	case <-time.After(s.delay):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return s.scripted.Walk(ctx, t, root)
}

func (s *slowDevice) Get(ctx context.Context, t snmp.Target, oids []string) ([]snmp.Varbind, error) {
	if s.down.Load() {
		return nil, context.DeadlineExceeded
	}
	return s.scripted.Get(ctx, t, oids)
}

// TestLookupWaitsForRunningCollection: a poll that needs data while the
// Refresher collects it waits for that collection instead of walking the
// device a second time.
func TestLookupWaitsForRunningCollection(t *testing.T) {
	c := New(Options{Refresh: time.Hour})
	dev := &slowDevice{scripted: scripted{uptime: 1000, alias: "a"}, delay: 300 * time.Millisecond}
	r := NewRefresher(RefresherOptions{Cache: c, SNMP: dev})
	res := &resource.Resource{ID: "sw1"}
	r.Update([]Target{{Resource: res}})
	runRefresher(t, r)
	waitFor(t, "the refresher's walks", func() bool { return dev.started.Load() > 0 })
	if dev.walks.Load() != 0 {
		t.Fatal("the collection ended before the lookup: make the device slower")
	}
	d, err := c.Lookup(context.Background(), res, snmp.Target{}, dev, Signals{}, Need{Interfaces: true})
	if err != nil || alias7(d) != "a" {
		t.Fatalf("lookup during the collection: %+v, %v", d, err)
	}
	if n := dev.walks.Load(); n != int32(len(slowColumns)) {
		t.Errorf("%d walks, want one collection (%d)", n, len(slowColumns))
	}
	if got := testutil.ToFloat64(c.m.lookups[srcMemory]); got != 1 {
		t.Errorf("lookup served from memory %v times, want 1 (the refresher's result)", got)
	}
}

// records keeps the messages logged.
type records struct {
	mu   sync.Mutex
	msgs []string
}

func (r *records) Enabled(context.Context, slog.Level) bool { return true }
func (r *records) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	r.msgs = append(r.msgs, rec.Message)
	r.mu.Unlock()
	return nil
}
func (r *records) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *records) WithGroup(string) slog.Handler      { return r }

func (r *records) count(prefix string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, m := range r.msgs {
		if strings.HasPrefix(m, prefix) {
			n++
		}
	}
	return n
}

// TestFailuresLoggedOnChange: a device that keeps failing its scheduled
// collections is logged once, and once more when it recovers; the
// failing gauge follows.
func TestFailuresLoggedOnChange(t *testing.T) {
	logs := &records{}
	c := New(Options{Refresh: 200 * time.Millisecond, Logger: slog.New(logs)})
	dev := &slowDevice{scripted: scripted{uptime: 1000, alias: "a"}}
	dev.down.Store(true)
	r := NewRefresher(RefresherOptions{Cache: c, SNMP: dev})
	r.Update([]Target{{Resource: &resource.Resource{ID: "sw1"}}})
	runRefresher(t, r)
	failed := func() float64 { return testutil.ToFloat64(c.m.collections[triggerScheduled][resultFailed]) }
	waitFor(t, "three failed collections", func() bool { return failed() >= 3 })
	if n := logs.count("enrichment collection failed"); n != 1 {
		t.Errorf("%d failure lines for %v failed attempts, want 1", n, failed())
	}
	if g := testutil.ToFloat64(c.m.failing); g != 1 {
		t.Errorf("failing gauge %v, want 1", g)
	}
	dev.down.Store(false)
	waitFor(t, "two good collections", func() bool { return scheduledOK(c) >= 2 })
	if n := logs.count("enrichment collection recovered"); n != 1 {
		t.Errorf("%d recovery lines, want 1", n)
	}
	if n := logs.count("enrichment collection failed"); n != 1 {
		t.Errorf("%d failure lines in all, want 1", n)
	}
	if g := testutil.ToFloat64(c.m.failing); g != 0 {
		t.Errorf("failing gauge %v after recovery, want 0", g)
	}
}

// TestLookupCollectsWhatIsMissing: data without a table a poll wants (as
// collected for another plugin) is collected again, with the table.
func TestLookupCollectsWhatIsMissing(t *testing.T) {
	const col = ".1.3.6.1.2.1.47.1.1.1.1.7"
	c := New(Options{Refresh: time.Hour, MinInterval: time.Nanosecond})
	dev := &scripted{uptime: 1000, alias: "a"}
	res := &resource.Resource{ID: "sw1"}
	ctx := context.Background()
	d, err := c.Lookup(ctx, res, snmp.Target{}, dev, Signals{}, Need{Interfaces: true})
	if err != nil || d.Covers(Need{Tables: []string{col}}) {
		t.Fatalf("first lookup: %v; covers the table: %v", err, d != nil && d.Covers(Need{Tables: []string{col}}))
	}
	d, err = c.Lookup(ctx, res, snmp.Target{}, dev, Signals{}, Need{Tables: []string{col}})
	if err != nil {
		t.Fatal(err)
	}
	if !d.Covers(Need{Interfaces: true, Tables: []string{col}}) {
		t.Errorf("second lookup collected %+v, want the interfaces (the cache's need) and the table", d)
	}
	if cells, ok := d.Table(col); !ok || len(cells) != 0 {
		t.Errorf("a table the device lacks: %v %v, want present and empty", cells, ok)
	}
}

// TestForgetAndRemove: Forget drops memory only; Remove also the failing
// count.
func TestForgetAndRemove(t *testing.T) {
	c := New(Options{Refresh: time.Hour})
	res := &resource.Resource{ID: "sw1"}
	if _, err := c.Lookup(context.Background(), res, snmp.Target{}, failing{}, Signals{}, Need{Interfaces: true}); err == nil {
		t.Fatal("failing device: no error")
	}
	if g := testutil.ToFloat64(c.m.failing); g != 1 || c.Len() != 1 {
		t.Fatalf("failing %v, entries %d", g, c.Len())
	}
	if err := c.Remove(context.Background(), res.Key()); err != nil {
		t.Fatal(err)
	}
	if g := testutil.ToFloat64(c.m.failing); g != 0 || c.Len() != 0 || c.Has(res.Key()) {
		t.Errorf("after Remove: failing %v, entries %d", g, c.Len())
	}
	c.Forget("never seen") // no effect, no panic
}

// targetSeen records the SNMP targets a collection walked.
type targetSeen struct {
	scripted
	mu    sync.Mutex
	hosts map[string]int
}

func (s *targetSeen) Walk(ctx context.Context, t snmp.Target, root string) ([]snmp.Varbind, error) {
	s.mu.Lock()
	s.hosts[t.Host]++
	s.mu.Unlock()
	return s.scripted.Walk(ctx, t, root)
}

// TestRefresherResolvesAtVisit: with Resolve a visit builds its target's
// SNMP target then (none is kept per device: a visit is a few words), and
// a target it fails for is not collected.
func TestRefresherResolvesAtVisit(t *testing.T) {
	if n := unsafe.Sizeof(visit{}); n > 96 {
		t.Errorf("a visit takes %d bytes, want at most 96 (no SNMP target in it)", n)
	}
	c := New(Options{Refresh: time.Hour})
	dev := &targetSeen{scripted: scripted{uptime: 1000, alias: "a"}, hosts: map[string]int{}}
	r := NewRefresher(RefresherOptions{Cache: c, SNMP: dev, Resolve: func(res *resource.Resource) (snmp.Target, error) {
		if res.ID == "bad" {
			return snmp.Target{}, errors.New("no credential")
		}
		return snmp.Target{Host: "resolved-" + res.ID}, nil
	}})
	good, bad := &resource.Resource{ID: "sw1"}, &resource.Resource{ID: "bad"}
	r.Update([]Target{{Resource: good, SNMP: snmp.Target{Host: "given"}}, {Resource: bad}})
	for _, v := range r.items {
		if v.snmp != nil {
			t.Errorf("visit of %s keeps an SNMP target", v.key)
		}
	}
	runRefresher(t, r)
	waitFor(t, "the collection of sw1", func() bool { return c.Has(good.Key()) })
	time.Sleep(50 * time.Millisecond) // bad's visit ran too
	dev.mu.Lock()
	defer dev.mu.Unlock()
	if dev.hosts["resolved-sw1"] == 0 || dev.hosts["given"] != 0 || len(dev.hosts) != 1 {
		t.Errorf("walked targets %v, want only resolved-sw1", dev.hosts)
	}
	if c.Has(bad.Key()) {
		t.Error("a target Resolve failed for was collected")
	}
}

// BenchmarkRefresherBytesPerTarget reports the heap a Refresher keeps per
// target (refresher-B/target) for 10,000 targets, keeping their SNMP
// targets ("kept") or building them at each visit ("resolve").
//
//	go test -run '^$' -bench RefresherBytes -benchtime 3x ./internal/enrich
func BenchmarkRefresherBytesPerTarget(b *testing.B) {
	const n = 10_000
	targets := make([]Target, n)
	for i := range targets {
		res := &resource.Resource{Site: "bench", Class: "network", Subclass: "switch", Type: "cisco", ID: fmt.Sprintf("switch48-%05d", i)}
		res.Freeze() // as the inventory's index hands them out
		targets[i] = Target{Resource: res, SNMP: snmp.Target{Host: "127.1.0.1", Port: 161,
			Credential: &snmp.Credential{Version: "2c", Community: "public"}, CredentialName: "lab", Timeout: time.Second}}
	}
	resolve := func(*resource.Resource) (snmp.Target, error) { return snmp.Target{}, nil }
	for _, mode := range []string{"kept", "resolve"} {
		b.Run(mode, func(b *testing.B) {
			var per float64
			for b.Loop() {
				var m0, m1 runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&m0)
				opts := RefresherOptions{Cache: New(Options{}), SNMP: &scripted{}}
				if mode == "resolve" {
					opts.Resolve = resolve
				}
				r := NewRefresher(opts)
				r.Update(targets)
				runtime.GC()
				runtime.ReadMemStats(&m1)
				per = float64(m1.HeapAlloc-m0.HeapAlloc) / n
				runtime.KeepAlive(r)
			}
			b.ReportMetric(per, "refresher-B/target")
		})
	}
}
