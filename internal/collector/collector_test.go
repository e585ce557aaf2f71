package collector

import (
	"context"
	"errors"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/poll"
	"github.com/panoptes-go/panoptes/internal/rate"
	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/schedule"
)

// The fakes stand for the cluster, the bus, the inventory, the rate
// processor, the runner and the scheduler; the real ones meet in the
// node's tests (real NATS, simulated devices).

type fakeOwner struct {
	owned    map[string]bool
	takeover map[string]time.Time
	handover map[string]time.Time
	drainAt  time.Time
	joinAt   time.Time
}

func (o *fakeOwner) Owned(keys []string) map[string]bool {
	m := map[string]bool{}
	for _, k := range keys {
		if o.owned[k] {
			m[k] = true
		}
	}
	return m
}
func (o *fakeOwner) Takeovers(owned map[string]bool) map[string]time.Time { return o.takeover }
func (o *fakeOwner) Handovers(owned map[string]bool) map[string]time.Time { return o.handover }
func (o *fakeOwner) DrainAt() time.Time                                   { return o.drainAt }
func (o *fakeOwner) JoinAt() time.Time                                    { return o.joinAt }

type fakeInventory []*resource.Resource

func (f fakeInventory) Snapshot() []*resource.Resource { return f }

type fakeScheduler struct{ checks []schedule.Check }

func (s *fakeScheduler) Update(c []schedule.Check) { s.checks = c }

// fakePoller answers every check with one counter group and the status.
type fakePoller struct {
	mu       sync.Mutex
	polled   []string
	deadline time.Time
}

func (p *fakePoller) RunCheck(ctx context.Context, k *poll.Check) *metric.GroupSet {
	p.mu.Lock()
	p.polled = append(p.polled, k.Name+"|"+k.Resource.ID)
	p.deadline, _ = ctx.Deadline()
	p.mu.Unlock()
	return &metric.GroupSet{Groups: []*metric.Group{
		{Type: "counter", Resource: k.Resource, Metrics: []metric.Metric{{Name: "octets", Value: metric.Int(10), Type: metric.Counter}}},
		{Type: "status", Resource: k.Resource, Metrics: []metric.Metric{{Name: "polling_status", Value: metric.Int(0)}}},
	}}
}

// fakeRates adds a gauge, as the processor adds <counter>_rate.
type fakeRates struct{ applied int }

func (r *fakeRates) Apply(_ context.Context, set *metric.GroupSet, _ rate.Selector, _ time.Time) {
	r.applied++
	set.Groups[0].Metrics = append(set.Groups[0].Metrics, metric.Metric{Name: "octets_rate", Value: metric.Float(1)})
}

type fakePublisher struct {
	sets  []*metric.GroupSet
	until []time.Time
	err   error
}

func (p *fakePublisher) PublishSetUntil(_ context.Context, set *metric.GroupSet, until time.Time) (int, error) {
	p.sets = append(p.sets, set)
	p.until = append(p.until, until)
	if p.err != nil {
		return len(set.Groups) - 1, p.err
	}
	return len(set.Groups), nil
}

func res(id, site, class string) *resource.Resource {
	return &resource.Resource{ID: id, Site: site, Class: class, Endpoint: "10.0.0.1"}
}

func newTest(t *testing.T, inv fakeInventory, owner *fakeOwner) (*Collector, *fakeScheduler, *fakePoller, *fakeRates, *fakePublisher) {
	t.Helper()
	sel, err := rate.ParseSelector("all")
	if err != nil {
		t.Fatal(err)
	}
	sched, poller, rates, pub := &fakeScheduler{}, &fakePoller{}, &fakeRates{}, &fakePublisher{}
	c := New(Options{Site: "lab", Owner: owner, Publisher: pub, Inventory: inv, Poller: poller, Scheduler: sched, Rates: rates,
		Plugins: []Plugin{
			{Name: "iface", Interval: time.Minute, Filter: resource.MustParseFilter(`resource_class = "network"`), Rates: sel},
			{Name: "up", Interval: 10 * time.Second, Timeout: time.Second, Filter: resource.MustParseFilter("")},
		}})
	return c, sched, poller, rates, pub
}

// Reconcile: this site's owned resources × the plugins whose filter
// matches them.
func TestReconcile(t *testing.T) {
	inv := fakeInventory{res("sw1", "lab", "network"), res("srv1", "lab", "server"), res("sw2", "lab", "network"), res("far", "other", "network")}
	owner := &fakeOwner{owned: map[string]bool{inv[0].Key(): true, inv[1].Key(): true, inv[3].Key(): true}}
	c, sched, _, _, _ := newTest(t, inv, owner)
	n, own := c.Reconcile()
	var keys []string
	for _, k := range sched.checks {
		keys = append(keys, k.Key)
	}
	sort.Strings(keys)
	want := []string{"iface|" + inv[0].Key(), "up|" + inv[1].Key(), "up|" + inv[0].Key()}
	sort.Strings(want)
	if n != 3 || len(keys) != 3 || keys[0] != want[0] || keys[1] != want[1] || keys[2] != want[2] {
		t.Errorf("checks %v (%d), want %v", keys, n, want)
	}
	if len(own.Snapshot) != 4 || !own.Owned[inv[0].Key()] || own.Owned[inv[2].Key()] || own.Owned[inv[3].Key()] {
		t.Errorf("ownership %+v: another site's resources are not asked for", own.Owned)
	}
}

// A check polls, applies rates when its plugin has some, publishes until
// just before its next due time and counts what it did.
func TestCheckPollRatePublish(t *testing.T) {
	sw := res("sw1", "lab", "network")
	c, _, poller, rates, pub := newTest(t, fakeInventory{sw}, &fakeOwner{})
	due := time.Now()
	ctx, cancel := context.WithDeadline(context.Background(), due.Add(time.Minute))
	c.CheckFunc(&c.o.Plugins[0], sw, time.Time{}, time.Time{})(ctx)
	cancel()
	if len(pub.sets) != 1 || rates.applied != 1 {
		t.Fatalf("published %d sets, rates applied %d times; want 1 and 1", len(pub.sets), rates.applied)
	}
	if _, ok := pub.sets[0].Groups[0].Metric("octets_rate"); !ok {
		t.Error("the rate is not in the published set")
	}
	if want := due.Add(time.Minute - PublishMargin(time.Minute)); !pub.until[0].Equal(want) {
		t.Errorf("publish waits until %v, want %v (the deadline minus the margin)", pub.until[0], want)
	}
	if !poller.deadline.Equal(due.Add(time.Minute)) {
		t.Errorf("the poll's deadline %v is not the check's", poller.deadline)
	}

	// Without rates; a timeout shorter than the interval bounds the poll;
	// a publish error is counted.
	pub.err = errors.New("bus down")
	ctx, cancel = context.WithDeadline(context.Background(), time.Now().Add(10*time.Second))
	c.CheckFunc(&c.o.Plugins[1], sw, time.Time{}, time.Time{})(ctx)
	cancel()
	if rates.applied != 1 {
		t.Error("rates applied for a plugin without")
	}
	if d := time.Until(poller.deadline); d > time.Second {
		t.Errorf("the poll's deadline is %v away, want the plugin's 1s timeout", d)
	}
	if c.Total.OK.Load() != 2 || c.Total.Published.Load() != 3 || c.Total.Errors.Load() != 1 || c.Interval.OK.Load() != 2 {
		t.Errorf("totals ok %d published %d errors %d", c.Total.OK.Load(), c.Total.Published.Load(), c.Total.Errors.Load())
	}
}

// The handover rules: a resource taken over is polled for due times from
// its takeover time on, one handed over for those before its handover
// time; a leaving node polls due times before its handover only, a
// joining node those from its join time on.
func TestMayPoll(t *testing.T) {
	sw := res("sw1", "lab", "network")
	owner := &fakeOwner{}
	c, _, poller, _, pub := newTest(t, fakeInventory{sw}, owner)
	iv := 10 * time.Second
	due := time.Now().Truncate(time.Second)
	runUntil := func(notBefore, until time.Time) bool {
		before := len(pub.sets)
		ctx, cancel := context.WithDeadline(context.Background(), due.Add(iv))
		defer cancel()
		c.CheckFunc(&c.o.Plugins[1], sw, notBefore, until)(ctx)
		return len(pub.sets) > before
	}
	run := func(notBefore time.Time) bool { return runUntil(notBefore, time.Time{}) }
	if !run(time.Time{}) || !run(due) {
		t.Error("a check due at or after its takeover time did not poll")
	}
	if run(due.Add(iv)) {
		t.Error("a check due before its takeover time polled: the leaving node polls it")
	}
	owner.drainAt = due.Add(iv)
	if !run(time.Time{}) {
		t.Error("a leaving node did not poll a due time before its handover")
	}
	owner.drainAt = due
	if run(time.Time{}) {
		t.Error("a leaving node polled a due time at its handover: the new owner does")
	}
	owner.drainAt = time.Time{}
	if !runUntil(time.Time{}, due.Add(time.Millisecond)) {
		t.Error("a check due before its handover to a joining node did not poll")
	}
	if runUntil(time.Time{}, due) {
		t.Error("a check due at its handover to a joining node polled: the joining node does")
	}
	owner.joinAt = due.Add(time.Millisecond)
	if run(time.Time{}) {
		t.Error("a joining node polled a due time before its join time: the old owner does")
	}
	owner.joinAt = due
	if !run(time.Time{}) {
		t.Error("a joining node did not poll a due time at its join time")
	}
	if len(poller.polled) != 5 {
		t.Errorf("%d polls, want 5", len(poller.polled))
	}
	// No deadline (a direct call): always.
	owner.drainAt = time.Now().Add(-time.Hour)
	c.CheckFunc(&c.o.Plugins[1], sw, time.Now().Add(time.Hour), time.Time{})(context.Background())
	if len(poller.polled) != 6 {
		t.Error("a check without a deadline did not poll")
	}
}

func TestPublishMargin(t *testing.T) {
	for iv, want := range map[time.Duration]time.Duration{
		100 * time.Millisecond: 20 * time.Millisecond, time.Second: 50 * time.Millisecond,
		time.Minute: 250 * time.Millisecond,
	} {
		if got := PublishMargin(iv); got != want {
			t.Errorf("PublishMargin(%v) = %v, want %v", iv, got, want)
		}
	}
}

// A stream's set goes through its rates and the publisher and is counted
// as groups, not as a check.
func TestEmit(t *testing.T) {
	sw := res("sw1", "lab", "network")
	c, _, _, rates, pub := newTest(t, fakeInventory{sw}, &fakeOwner{})
	set := (&fakePoller{}).RunCheck(context.Background(), &poll.Check{Name: "gnmi", Resource: sw})
	c.Emit("gnmi", time.Second, c.o.Plugins[0].Rates, set)
	if rates.applied != 1 || len(pub.sets) != 1 {
		t.Fatalf("rates applied %d, sets published %d; want 1 and 1", rates.applied, len(pub.sets))
	}
	if d := time.Until(pub.until[0]); d < 9*time.Second || d > 10*time.Second {
		t.Errorf("publish waits %v, want 10 s (at least)", d)
	}
	c.Emit("gnmi", time.Second, rate.Selector{}, set)
	if rates.applied != 1 {
		t.Error("rates applied without a selector")
	}
	if c.Total.Published.Load() != 4 || c.Total.OK.Load() != 0 {
		t.Errorf("published %d, checks ok %d; want 4 and 0", c.Total.Published.Load(), c.Total.OK.Load())
	}
}

// A stream (no due times) leaves a key handed to a joining node at once.
func TestOwnershipKept(t *testing.T) {
	own := Ownership{Owned: map[string]bool{"a": true, "b": true}}
	if got := own.Kept(); len(got) != 2 {
		t.Errorf("kept %v with nothing handed over, want a and b", got)
	}
	own.Handing = map[string]time.Time{"b": time.Now()}
	if got := own.Kept(); len(got) != 1 || !got["a"] {
		t.Errorf("kept %v with b handed over, want only a", got)
	}
	if len(own.Owned) != 2 {
		t.Error("Kept changed Owned")
	}
}
