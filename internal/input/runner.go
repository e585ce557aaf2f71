package input

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/panoptes-go/panoptes/internal/backoff"
	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/rate"
	"github.com/panoptes-go/panoptes/internal/resource"
)

// Status group of a stream that cannot run (as a check's: see poll).
const (
	StatusGroupType = "status"
	StatusMetric    = "polling_status"
	PluginDimension = "plugin"
	// StatusInternal is a stream Open refused or whose Run failed: the
	// resource lacks what the input needs, or the input cannot go on.
	StatusInternal = 5
)

// Instance is a configured input as the runner starts it: its name (the
// instance's, unique among inputs), interval and what it opens streams
// with; the resources it streams (Filter) and the counters that also get
// a <counter>_rate gauge (Rates, applied by the runner's Emit).
type Instance struct {
	Name     string
	Interval time.Duration
	Input    Input
	Filter   *resource.Filter
	Rates    rate.Selector
}

// Wanted are the streams of the resources of site this node owns (owned,
// by key: the same ownership as checks), one per instance whose filter
// matches.
func Wanted(instances []*Instance, site string, snap []*resource.Resource, owned map[string]bool) []Want {
	if len(instances) == 0 {
		return nil
	}
	var want []Want
	for _, res := range snap {
		if res.Site != site || !owned[res.Key()] {
			continue
		}
		for _, inst := range instances {
			if inst.Filter.Match(res) {
				want = append(want, Want{Instance: inst, Resource: res})
			}
		}
	}
	return want
}

// Want is one stream this node should run: an instance for a resource it
// owns.
type Want struct {
	Instance *Instance
	Resource *resource.Resource
}

func (w Want) key() string { return w.Instance.Name + "|" + w.Resource.Key() }

// Emit takes what a stream delivered (the caller applies rates and
// publishes). It is called from the stream's goroutine; it owns set.
type Emit func(inst *Instance, set *metric.GroupSet)

// Runner runs the streams this node owns, one goroutine each: Update
// starts the wanted ones that do not run and stops (cancels, then waits
// for) those no longer wanted or whose resource changed; Stop stops all.
type Runner struct {
	emit Emit
	log  *slog.Logger

	mu      sync.Mutex
	running map[string]*stream
	stopped bool
}

type stream struct {
	want   Want
	cancel context.CancelFunc
	done   chan struct{}
}

// NewRunner makes a runner that hands every set to emit.
func NewRunner(emit Emit, logger *slog.Logger) *Runner {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Runner{emit: emit, log: logger, running: map[string]*stream{}}
}

// Update makes the running streams those of want. It returns once the
// streams it stopped have returned, so a resource that moved to another
// node is not streamed twice for longer than a Run takes to end.
func (r *Runner) Update(want []Want) {
	r.mu.Lock()
	if r.stopped {
		r.mu.Unlock()
		return
	}
	wanted := make(map[string]Want, len(want))
	for _, w := range want {
		wanted[w.key()] = w
	}
	var stopping []*stream
	for k, s := range r.running {
		w, ok := wanted[k]
		if ok && w.Instance == s.want.Instance && w.Resource.SameContent(s.want.Resource) {
			continue
		}
		s.cancel()
		stopping = append(stopping, s)
		delete(r.running, k)
	}
	for k, w := range wanted {
		if _, ok := r.running[k]; !ok {
			r.running[k] = r.start(w)
		}
	}
	r.mu.Unlock()
	for _, s := range stopping {
		<-s.done
	}
}

// Len is how many streams run.
func (r *Runner) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.running)
}

// Stop stops every stream and waits for them; Update does nothing after.
func (r *Runner) Stop() {
	r.mu.Lock()
	r.stopped = true
	all := r.running
	r.running = map[string]*stream{}
	r.mu.Unlock()
	for _, s := range all {
		s.cancel()
	}
	for _, s := range all {
		<-s.done
	}
}

func (r *Runner) start(w Want) *stream {
	ctx, cancel := context.WithCancel(context.Background())
	s := &stream{want: w, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		r.run(ctx, w)
	}()
	return s
}

// run opens and runs one stream until ctx ends; a stream that cannot be
// opened or fails is reported as status 5 every interval and tried again
// (a failed Run after a backoff: its input reconnects by itself, so a
// returned error is rare).
func (r *Runner) run(ctx context.Context, w Want) {
	inst, res := w.Instance, w.Resource
	log := r.log.With("input", inst.Name, "resource", res.ID)
	emit := func(set *metric.GroupSet) { r.emit(inst, set) }
	b := backoff.Backoff{Min: time.Second, Max: max(inst.Interval, time.Second)}
	for ctx.Err() == nil {
		s, err := inst.Input.Open(res)
		if err == nil {
			if s == nil {
				return // nothing to stream for this resource
			}
			err = s.Run(ctx, emit)
		}
		if ctx.Err() != nil {
			return
		}
		if err != nil { // else Run ended early: run it again, later
			log.Warn("streaming input failed", "err", err)
			r.emit(inst, &metric.GroupSet{Groups: []*metric.Group{statusGroup(inst, res, time.Now(), StatusInternal)}})
		}
		wait := b.Next()
		if inst.Interval > 0 && b.Attempts() > 3 {
			wait = inst.Interval
		}
		if backoff.Sleep(ctx, wait) != nil {
			return
		}
	}
}

func statusGroup(inst *Instance, res *resource.Resource, now time.Time, status int) *metric.Group {
	at := float64(now.UnixNano()) / 1e9
	return &metric.Group{Resource: res, Type: StatusGroupType, Interval: int(inst.Interval / time.Second),
		CreationTimestamp: at, SchemaVersion: metric.SchemaVersion,
		Metrics:    []metric.Metric{{Name: StatusMetric, Value: metric.Int(int64(status)), Type: metric.Gauge, Timestamp: at}},
		Dimensions: []metric.Dimension{{Name: PluginDimension, Value: inst.Name}}}
}
