package enrich

import (
	"container/heap"
	"context"
	"sync"
	"time"

	"github.com/panoptes-go/panoptes/internal/phase"
	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/snmp"
)

// Target is a device a Refresher keeps fresh.
type Target struct {
	Resource *resource.Resource
	SNMP     snmp.Target
}

// RefresherOptions configure a Refresher. Zero values take the defaults.
type RefresherOptions struct {
	Cache *Cache // required: where collections go
	SNMP  SNMP   // required: how to collect (the node's pool)
	// MaxConcurrent bounds collections running at once (default 8): they
	// run beside the polls, never in their slots.
	MaxConcurrent int
	// Timeout bounds one collection (default the smaller of the Cache's
	// Refresh and 2m).
	Timeout time.Duration
	// Resolve, when set, builds a target's SNMP target at each visit
	// (Target.SNMP is then not kept): a node refreshing thousands of
	// devices would otherwise hold one, 208 bytes with its credential,
	// per device beside its checks' own. A target it fails for is not
	// collected (its polls report why).
	Resolve func(*resource.Resource) (snmp.Target, error)
}

// Refresher is the enrichment role: it visits each of its targets once per
// the Cache's Refresh interval, at a stable phase (like a check's: the
// same on every node, spread over the interval), and collects the device
// unless its data is still fresh; a new target is visited at once. Polls
// then find fresh data in memory or KV and walk only their own columns.
type Refresher struct {
	c        *Cache
	s        SNMP
	resolve  func(*resource.Resource) (snmp.Target, error)
	interval time.Duration
	timeout  time.Duration
	sem      chan struct{}

	mu    sync.Mutex
	items map[string]*visit
	queue visits
	wake  chan struct{}
}

type visit struct {
	key     string
	res     *resource.Resource
	snmp    *snmp.Target // nil with Resolve
	phase   time.Duration
	due     time.Time
	index   int  // in queue; -1 when out
	running bool // a collection of this target is in flight
}

// NewRefresher returns a Refresher; Run starts it.
func NewRefresher(opts RefresherOptions) *Refresher {
	if opts.MaxConcurrent <= 0 {
		opts.MaxConcurrent = 8
	}
	interval := opts.Cache.opts.Refresh
	if opts.Timeout <= 0 {
		opts.Timeout = min(interval, 2*time.Minute)
	}
	return &Refresher{c: opts.Cache, s: opts.SNMP, resolve: opts.Resolve, interval: interval, timeout: opts.Timeout,
		sem: make(chan struct{}, opts.MaxConcurrent), items: map[string]*visit{}, wake: make(chan struct{}, 1)}
}

// Update replaces the targets: new ones are visited at once, those gone
// are no longer visited (a collection in flight ends normally).
func (r *Refresher) Update(targets []Target) {
	now := time.Now()
	keys := make(map[string]bool, len(targets))
	r.mu.Lock()
	for _, t := range targets {
		key := t.Resource.Key()
		if v, ok := r.items[key]; ok {
			keys[v.key] = true // the string kept already, not a copy of it per update
			v.res = t.Resource
			if v.snmp != nil {
				*v.snmp = t.SNMP
			}
			continue
		}
		keys[key] = true
		v := &visit{key: key, res: t.Resource, snmp: r.keptSNMP(t), phase: phase.Of("enrichment|"+key, r.interval), due: now}
		r.items[key] = v
		heap.Push(&r.queue, v)
	}
	for key, v := range r.items {
		if !keys[key] {
			delete(r.items, key)
			if v.index >= 0 {
				heap.Remove(&r.queue, v.index)
			}
		}
	}
	r.mu.Unlock()
	r.c.setScheduled(keys)
	r.c.m.scheduled.Set(float64(len(keys)))
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Len is the number of targets.
func (r *Refresher) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.items)
}

// Run visits the targets until ctx ends, then waits for the collections
// in flight (cancelled with ctx).
func (r *Refresher) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	// The bucket's watch, so that visits read KV only for what another
	// node wrote since; the first visits wait for its start (bounded).
	ready := make(chan struct{})
	wg.Go(func() { r.c.WatchKV(ctx, ready) })
	select {
	case <-ready:
	case <-time.After(kvTimeout):
	case <-ctx.Done():
		return ctx.Err()
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		due, wait := r.due(time.Now())
		for _, v := range due {
			select {
			case r.sem <- struct{}{}:
			case <-ctx.Done():
				return ctx.Err()
			}
			r.mu.Lock()
			t, next, current := Target{Resource: v.res}, v.due, r.items[v.key] == v
			if v.snmp != nil {
				t.SNMP = *v.snmp
			}
			if current {
				v.running = true
			}
			r.mu.Unlock()
			if !current { // removed while waiting for a slot
				<-r.sem
				continue
			}
			wg.Go(func() {
				defer func() { <-r.sem }()
				r.visit(ctx, v, t, next)
			})
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-r.wake:
		case <-timer.C:
		}
	}
}

// due pops the visits due at now, schedules their next ones, and says how
// long until the next one after.
func (r *Refresher) due(now time.Time) ([]*visit, time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*visit
	for len(r.queue) > 0 && !r.queue[0].due.After(now) {
		v := r.queue[0]
		v.due = nextVisit(now, v.phase, r.interval)
		heap.Fix(&r.queue, 0)
		if v.running {
			r.c.m.overruns.Inc()
			continue
		}
		out = append(out, v)
	}
	wait := time.Hour
	if len(r.queue) > 0 {
		wait = max(r.queue[0].due.Sub(now), time.Millisecond)
	}
	return out, wait
}

func (r *Refresher) visit(ctx context.Context, v *visit, t Target, next time.Time) {
	if r.resolve != nil {
		var err error
		if t.SNMP, err = r.resolve(t.Resource); err != nil {
			r.mu.Lock()
			v.running = false
			r.mu.Unlock()
			return
		}
	}
	cctx, cancel := context.WithTimeout(ctx, r.timeout)
	skipped, _ := r.c.refresh(cctx, t.Resource, t.SNMP, r.s, next)
	cancel()
	if skipped {
		r.c.m.skipped.Inc()
	}
	r.mu.Lock()
	v.running = false
	r.mu.Unlock()
}

// keptSNMP is what a visit keeps of t's SNMP target: nothing with Resolve.
func (r *Refresher) keptSNMP(t Target) *snmp.Target {
	if r.resolve != nil {
		return nil
	}
	return &t.SNMP
}

// nextVisit is the first time after now at phase + k×interval (wall clock).
func nextVisit(now time.Time, phase, interval time.Duration) time.Time {
	n, p, iv := now.UnixNano(), int64(phase), int64(interval)
	r := (n - p) % iv
	if r < 0 {
		r += iv
	}
	return time.Unix(0, n-r+iv)
}

// visits is a min-heap by due time.
type visits []*visit

func (q visits) Len() int           { return len(q) }
func (q visits) Less(i, j int) bool { return q[i].due.Before(q[j].due) }
func (q visits) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index, q[j].index = i, j
}
func (q *visits) Push(x any) {
	v := x.(*visit)
	v.index = len(*q)
	*q = append(*q, v)
}
func (q *visits) Pop() any {
	old := *q
	v := old[len(old)-1]
	old[len(old)-1] = nil
	v.index = -1
	*q = old[:len(old)-1]
	return v
}
