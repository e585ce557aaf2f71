// Package schedule runs a node's checks on stable, wall-clock-aligned
// schedules. One timer goroutine keeps a min-heap of next due times and hands
// due checks to a bounded pool of workers; no goroutine sleeps per check, and
// steady-state dispatch allocates nothing but each run's context, which
// needs no runtime timer: the timer goroutine ends it at its deadline.
//
// Guards against overpolling: at most one run of a check is in flight
// (waiting for a worker or running); a due time that finds the previous run
// still in flight is skipped and counted, never stacked or queued twice.
package schedule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/panoptes-go/panoptes/internal/latency"
	"github.com/panoptes-go/panoptes/internal/phase"
)

// Check is one (polling plugin, resource) pair to run every Interval.
type Check struct {
	Key      string // unique, e.g. "interface|" + resource key; its hash sets the phase
	Plugin   string // label for self-metrics
	Interval time.Duration
	// Run does the check. Its ctx is cancelled at the check's deadline (due
	// time + Interval) or at shutdown. A Run that ignores ctx keeps its
	// worker and its check stays in flight: later due times are skipped.
	Run func(ctx context.Context)
}

// DefaultMaxConcurrent is the per-node limit on running checks when
// Options.MaxConcurrent is not set.
const DefaultMaxConcurrent = 256

// Options configure a Scheduler. The zero value is usable.
type Options struct {
	MaxConcurrent int // per-node limit on checks running at once (default 256)
	Logger        *slog.Logger
	Registerer    prometheus.Registerer // nil: self-metrics are not registered
	Now           func() time.Time      // for tests; default time.Now
}

// maxBatch bounds how many due checks the timer goroutine dispatches per
// lock hold, so workers and Update are not starved by a large burst.
const maxBatch = 1024

// dispatchQuantum is the least the timer goroutine sleeps: at tens of
// thousands of checks a second it then wakes once per few dozen due times
// rather than once per each (a wake-up cost more than the dispatch). A
// check starts at most this much later for it.
const dispatchQuantum = 500 * time.Microsecond

type runState uint8

const (
	idle    runState = iota
	queued           // due, waiting for a worker
	running          // a worker is running it
)

// entry is the scheduler's state for one check. key and hash never change;
// the other fields are guarded by Scheduler.mu. The two one-byte fields
// sit together: 96 bytes an entry (a size class), where apart they took
// 104, allocated as 112.
type entry struct {
	key      string
	hash     uint64
	interval int64 // ns
	phase    int64 // ns, hash mod interval
	run      func(context.Context)
	pm       *pluginMetrics
	heapIdx  int     // -1 when not in the heap (removed)
	due      int64   // the due time the queued or running run is for
	rc       *runCtx // the running run's context (nil unless running)
	mark     uint64  // the Update generation that last listed it
	state    runState
	removed  bool // removed while in flight: forgotten when it goes idle
}

// Scheduler runs checks on their schedules. Its methods are safe for
// concurrent use.
type Scheduler struct {
	log  *slog.Logger
	now  func() time.Time
	max  int
	m    *metrics
	hist latency.Hist

	dueN, startedN, skippedN, completedN atomic.Uint64
	// reached is the latest due time the timer reached (Unix nanoseconds).
	reached  atomic.Int64
	runningN atomic.Int64

	wake chan struct{} // nudges the timer goroutine after the heap top moved earlier
	wg   sync.WaitGroup

	mu         sync.Mutex
	workerCond sync.Cond // on mu; idle workers wait here
	entries    map[string]*entry
	retiring   int // entries removed but still in flight
	heap       dueHeap
	ready      readyQueue
	plugins    map[string]*pluginMetrics
	gen        uint64 // Update generation, for mark-and-sweep
	idleW      int    // workers waiting on workerCond and not yet signalled
	workers    int
	started    bool // Run was called
	stopping   bool
	values     context.Context // run contexts' values: Run's ctx, without its cancellation
	expired    []*runCtx       // runs tick found past their deadline, ended after unlocking
	sleepUntil int64           // due time the timer goroutine sleeps until
	lastNow    int64
	marks      []*dueMark // DueBefore's, by time
}

// New returns a Scheduler with no checks. It starts nothing: call Run.
func New(opts Options) *Scheduler {
	if opts.MaxConcurrent <= 0 {
		opts.MaxConcurrent = DefaultMaxConcurrent
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Scheduler{
		log:     opts.Logger,
		now:     opts.Now,
		max:     opts.MaxConcurrent,
		m:       newMetrics(opts.Registerer, opts.Logger),
		wake:    make(chan struct{}, 1),
		entries: make(map[string]*entry),
		plugins: make(map[string]*pluginMetrics),
	}
	s.workerCond.L = &s.mu
	return s
}

func (s *Scheduler) nowNano() int64 { return s.now().UnixNano() }

func validate(c *Check) error {
	switch {
	case c.Key == "":
		return fmt.Errorf("schedule: check of plugin %q has an empty Key: set a unique key", c.Plugin)
	case c.Interval <= 0:
		return fmt.Errorf("schedule: check %q has interval %v: the interval must be positive", c.Key, c.Interval)
	case c.Run == nil:
		return fmt.Errorf("schedule: check %q has no Run function", c.Key)
	}
	return nil
}

// Update replaces the whole set of checks. New keys start at their phase,
// removed keys stop (a running one finishes, uncancelled), a check whose
// Interval changed is rescheduled, and unchanged ones keep their schedule;
// Run and Plugin are taken from the new set. Invalid checks are logged and
// ignored; for a duplicated key the last one wins.
func (s *Scheduler) Update(checks []Check) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.nowNano()
	s.gen++
	var invalid, dups, marked int
	var firstErr error
	for i := range checks {
		c := &checks[i]
		if err := validate(c); err != nil {
			if firstErr == nil {
				firstErr = err
			}
			invalid++
			continue
		}
		e := s.entries[c.Key]
		if e != nil && e.mark == s.gen {
			dups++
		} else {
			marked++
		}
		s.upsertLocked(e, c, now)
	}
	// Sweep only when some active check was not in the new set.
	if active := len(s.entries) - s.retiring; marked < active {
		for _, e := range s.entries {
			if e.mark != s.gen && !e.removed {
				s.removeLocked(e)
			}
		}
	}
	s.m.scheduled.Set(float64(len(s.entries) - s.retiring))
	s.nudgeLocked()
	if invalid > 0 {
		s.log.Warn("schedule: invalid checks ignored", "count", invalid, "first", firstErr)
	}
	if dups > 0 {
		s.log.Warn("schedule: duplicate check keys in update; the last of each was kept", "count", dups)
	}
}

// Add adds a check, or updates the check with the same key as Update would.
func (s *Scheduler) Add(c Check) {
	if err := validate(&c); err != nil {
		s.log.Warn("schedule: invalid check ignored", "err", err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.upsertLocked(s.entries[c.Key], &c, s.nowNano())
	s.m.scheduled.Set(float64(len(s.entries) - s.retiring))
	s.nudgeLocked()
}

// Remove stops scheduling the check with this key. A run in flight finishes.
func (s *Scheduler) Remove(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.entries[key]; e != nil && !e.removed {
		s.removeLocked(e)
		s.m.scheduled.Set(float64(len(s.entries) - s.retiring))
	}
}

// Len is the number of checks scheduled.
func (s *Scheduler) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.entries) - s.retiring
}

// upsertLocked adds c (e == nil), revives a removed entry, or updates e in
// place, keeping its schedule unless the interval changed.
func (s *Scheduler) upsertLocked(e *entry, c *Check, now int64) {
	iv := int64(c.Interval)
	if e == nil {
		e = &entry{key: c.Key, hash: phase.Hash(c.Key), heapIdx: -1}
		s.entries[c.Key] = e
	}
	if e.removed {
		e.removed = false
		s.retiring--
	}
	if e.interval != iv || e.heapIdx < 0 {
		e.interval = iv
		e.phase = int64(phase.FromHash(e.hash, time.Duration(iv)))
		next := nextDue(now, e.phase, iv)
		if e.heapIdx < 0 {
			s.heap.push(e, next)
		} else {
			s.heap.set(e, next)
		}
		s.watchLocked(e)
	}
	e.run = c.Run
	if e.pm == nil || e.pm.name != c.Plugin {
		e.pm = s.pluginLocked(c.Plugin)
	}
	e.mark = s.gen
}

func (s *Scheduler) pluginLocked(name string) *pluginMetrics {
	pm := s.plugins[name]
	if pm == nil {
		pm = s.m.forPlugin(name)
		s.plugins[name] = pm
	}
	return pm
}

// removeLocked takes e out of the schedule. An entry in flight stays in the
// map, marked removed, so that re-adding its key cannot start a second run
// while the first is still in flight; it is forgotten when it goes idle.
func (s *Scheduler) removeLocked(e *entry) {
	if e.heapIdx >= 0 {
		s.heap.remove(e)
		s.watchLocked(e)
	}
	if e.state == idle {
		delete(s.entries, e.key)
		return
	}
	e.removed = true
	s.retiring++
}

// settleLocked marks e idle after its run ended or was dropped.
func (s *Scheduler) settleLocked(e *entry) {
	e.state = idle
	e.rc = nil
	if e.removed {
		e.removed = false
		s.retiring--
		delete(s.entries, e.key)
	}
}

// nudgeLocked wakes the timer goroutine if the earliest due time moved
// before the one it sleeps until.
func (s *Scheduler) nudgeLocked() {
	if s.heap.len() > 0 && s.heap.top().next < s.sleepUntil {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// Run schedules until ctx is done, then drops checks waiting for a worker
// (counted as skipped), cancels the running ones' contexts and waits for them
// to return. It returns nil after a clean shutdown and an error if called
// twice.
func (s *Scheduler) Run(ctx context.Context) error {
	if err := s.start(ctx); err != nil {
		return err
	}
	s.loop(ctx)
	s.stop()
	return nil
}

func (s *Scheduler) start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return errors.New("schedule: Run called more than once; create a new Scheduler")
	}
	s.started = true
	s.values = context.WithoutCancel(ctx)
	// Checks added before Run start at their next due time, not in a burst.
	now := s.nowNano()
	s.rebaseLocked(now, true)
	s.lastNow = now
	return nil
}

// rebaseLocked moves due times to the first one at or after now: all of them
// (all) or only those further ahead than one interval, which only a wall
// clock stepped backwards produces.
func (s *Scheduler) rebaseLocked(now int64, all bool) {
	for i := range s.heap.items {
		it := &s.heap.items[i]
		if all || it.next-now > it.e.interval {
			it.next = nextDue(now, it.e.phase, it.e.interval)
		}
	}
	s.heap.rebuild()
	for i := range s.heap.items {
		s.watchLocked(s.heap.items[i].e)
	}
}

// watchLocked makes sure a running run of e ends at its deadline: the timer
// goroutine ends it when it reaches e's next due time if that is the
// deadline (the usual case); otherwise (e was removed, rescheduled, or the
// clock stepped) the run's context arms a timer of its own.
func (s *Scheduler) watchLocked(e *entry) {
	if e.rc != nil && (e.heapIdx < 0 || s.heap.nextOf(e) != e.rc.deadline) {
		e.rc.arm()
	}
}

func (s *Scheduler) loop(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		more, wait := s.tick()
		if more {
			if ctx.Err() != nil {
				return
			}
			continue
		}
		if wait < 0 {
			timer.Stop()
		} else {
			timer.Reset(wait)
		}
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-s.wake:
		}
	}
}

// tick dispatches checks due by now. It reports whether more are due now
// (the batch limit was hit), else how long to sleep (-1: no checks).
func (s *Scheduler) tick() (more bool, wait time.Duration) {
	more, wait = s.tickLocked()
	for i, rc := range s.expired {
		rc.end(ctxDeadline)
		s.expired[i] = nil
	}
	s.expired = s.expired[:0]
	return more, wait
}

func (s *Scheduler) tickLocked() (more bool, wait time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.nowNano()
	if now < s.lastNow {
		s.log.Warn("schedule: wall clock stepped backwards; rescheduling", "by", time.Duration(s.lastNow-now))
		s.rebaseLocked(now, false)
	}
	s.lastNow = now
	if s.dispatchLocked(now, maxBatch) == maxBatch {
		return true, 0
	}
	if s.heap.len() == 0 {
		s.sleepUntil = 1<<63 - 1
		return false, -1
	}
	s.sleepUntil = s.heap.top().next
	return false, max(time.Duration(s.sleepUntil-now), dispatchQuantum)
}

// dispatchLocked handles up to limit checks due at or before now and
// returns how many it handled. A due time whose check is idle queues it for
// a worker; one whose check is in flight is skipped. Due times the timer
// itself missed (a stall, a clock step forward) are skipped too.
func (s *Scheduler) dispatchLocked(now int64, limit int) int {
	n := 0
	for n < limit && s.heap.len() > 0 {
		top := s.heap.top()
		due := top.next
		if due > now {
			break
		}
		e := top.e
		iv := e.interval
		var skips uint64
		if late := now - due; late >= iv {
			k := late / iv
			due += k * iv
			skips = uint64(k)
		}
		if len(s.marks) > 0 && s.marks[0].at <= due {
			s.passMarksLocked(top.next, due, iv)
		}
		s.dueN.Add(skips + 1)       // before the run is queued or counted skipped
		if due > s.reached.Load() { // under mu: no other writer
			s.reached.Store(due)
		}
		switch e.state {
		case idle:
			e.state = queued
			e.due = due
			s.enqueueLocked(e)
		case queued:
			// Still waiting for a worker: its old due time is missed; the
			// single queued run now serves the current one.
			e.due = due
			skips++
		case running:
			skips++
		}
		top.next = due + iv
		s.heap.down(0)
		if rc := e.rc; rc != nil { // running: its deadline is this due time
			if now >= rc.deadline {
				s.expired = append(s.expired, rc)
			} else {
				s.watchLocked(e) // rescheduled by a clock step back
			}
		}
		if skips > 0 {
			s.skippedN.Add(skips)
			e.pm.skipped.Add(float64(skips))
		}
		n++
	}
	if len(s.marks) > 0 {
		next := int64(math.MaxInt64) // no checks: nothing more is due
		if s.heap.len() > 0 {
			next = s.heap.top().next
		}
		s.settleMarksLocked(next)
	}
	return n
}

// SetMaxConcurrent changes how many checks may run at once (a config
// reload of polling.max_concurrent_checks). Raised, queued runs get
// workers at once; lowered, workers beyond it end after their run.
func (s *Scheduler) SetMaxConcurrent(n int) {
	if n <= 0 {
		n = DefaultMaxConcurrent
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if n == s.max {
		return
	}
	s.max = n
	if s.idleW > 0 { // idle workers check the new limit
		s.idleW = 0
		s.workerCond.Broadcast()
	}
	if !s.started || s.stopping {
		return
	}
	for q := s.ready.size; q > 0 && s.workers < s.max; q-- {
		s.workers++
		s.wg.Add(1)
		go s.worker()
	}
}

// MaxConcurrent is how many checks may run at once.
func (s *Scheduler) MaxConcurrent() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.max
}

// enqueueLocked hands e to an idle worker, or starts a worker while the pool
// is below its limit; otherwise e waits for the first worker to free up.
func (s *Scheduler) enqueueLocked(e *entry) {
	s.ready.push(e)
	switch {
	case s.idleW > 0:
		s.idleW--
		s.workerCond.Signal()
	case s.workers < s.max:
		s.workers++
		s.wg.Add(1)
		go s.worker()
	}
}

func (s *Scheduler) worker() {
	defer s.wg.Done()
	rc := new(runCtx) // the next run's, allocated outside the lock
	s.mu.Lock()
	for {
		if s.workers > s.max { // SetMaxConcurrent lowered the limit
			s.workers--
			s.mu.Unlock()
			return
		}
		e := s.ready.pop()
		if e == nil {
			if s.stopping {
				s.workers--
				s.mu.Unlock()
				return
			}
			s.idleW++
			s.workerCond.Wait()
			continue
		}
		if e.removed { // its due time was reached: it is skipped, not lost
			s.skippedN.Add(1)
			e.pm.removed.Inc()
			s.settleLocked(e)
			continue
		}
		e.state = running
		rc.values, rc.deadline = s.values, e.due+e.interval
		e.rc = rc
		s.watchLocked(e)
		due, run, pm := e.due, e.run, e.pm
		s.mu.Unlock()
		s.execute(e.key, due, rc, run, pm)
		rc = new(runCtx)
		s.mu.Lock()
		s.settleLocked(e)
	}
}

// execute runs one check for due time due, recording its lateness.
func (s *Scheduler) execute(key string, due int64, ctx *runCtx, run func(context.Context), pm *pluginMetrics) {
	now := s.now()
	ctx.begin(now)
	late := time.Duration(now.UnixNano() - due)
	if late < 0 {
		late = 0
	}
	s.hist.Observe(late)
	s.m.lateness.Observe(late.Seconds())
	s.startedN.Add(1)
	pm.started.Inc()
	s.runningN.Add(1)
	s.m.running.Inc()
	defer func() {
		if r := recover(); r != nil {
			pm.panicked.Inc()
			s.log.Error("schedule: check panicked", "check", key, "plugin", pm.name, "panic", fmt.Sprint(r))
		}
		s.m.running.Dec()
		s.runningN.Add(-1)
		s.completedN.Add(1)
	}()
	run(ctx)
}

// stop drops checks still waiting for a worker, cancels the running ones'
// contexts and waits for the workers.
func (s *Scheduler) stop() {
	s.mu.Lock()
	s.stopping = true
	for e := s.ready.pop(); e != nil; e = s.ready.pop() {
		s.skippedN.Add(1)
		e.pm.stopped.Inc()
		s.settleLocked(e)
	}
	var running []*runCtx
	for _, e := range s.entries {
		if e.rc != nil {
			running = append(running, e.rc)
		}
	}
	s.workerCond.Broadcast()
	s.mu.Unlock()
	for _, rc := range running {
		rc.end(ctxCanceled)
	}
	s.wg.Wait()
}
