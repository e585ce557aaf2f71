package schedule

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/panoptes-go/panoptes/internal/phase"
)

// fakeClock is an injected wall clock the test moves by hand.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock(t time.Time) *fakeClock {
	c := &fakeClock{}
	c.ns.Store(t.UnixNano())
	return c
}
func (c *fakeClock) Now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) set(ns int64)        { c.ns.Store(ns) }
func (c *fakeClock) add(d time.Duration) { c.ns.Add(int64(d)) }

// runScheduler runs s until the returned stop is called; stop waits for Run
// to return and fails the test if it errs or takes longer than a second.
func runScheduler(t *testing.T, s *Scheduler) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(time.Second):
				t.Error("Run did not return within 1s of cancel")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// counterValue reads a metric from reg: name with an optional plugin label.
func counterValue(t *testing.T, reg *prometheus.Registry, name, plugin string) float64 {
	t.Helper()
	sum, counted := 0.0, false
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			labelOK := plugin == ""
			for _, l := range m.GetLabel() {
				if l.GetName() == "plugin" && l.GetValue() == plugin {
					labelOK = true
				}
			}
			if !labelOK {
				continue
			}
			switch {
			case m.Counter != nil:
				sum, counted = sum+m.Counter.GetValue(), true // every series of the plugin (reasons)
				continue
			case m.Gauge != nil:
				return m.Gauge.GetValue()
			case m.Histogram != nil:
				return float64(m.Histogram.GetSampleCount())
			}
		}
	}
	if counted {
		return sum
	}
	return 0
}

func noop(context.Context) {}

func TestDueTimesAlignedToWallClock(t *testing.T) {
	// Injected clock: the first due time is the first aligned one at or
	// after now, whatever the process start time.
	clk := newFakeClock(time.Unix(1_700_000_000, 123_456_789))
	s := New(Options{Now: clk.Now})
	const iv = 10 * time.Second
	for i := 0; i < 100; i++ {
		key := fmt.Sprintf("k%d", i)
		s.Add(Check{Key: key, Interval: iv, Run: noop})
		next := s.heap.nextOf(s.entries[key])
		now := clk.Now().UnixNano()
		if next < now || next >= now+int64(iv) {
			t.Fatalf("%s: next due %d not within [now, now+interval)", key, next)
		}
		if (next-int64(phase.Of(key, iv)))%int64(iv) != 0 {
			t.Fatalf("%s: next due %d not aligned to phase %v", key, next, phase.Of(key, iv))
		}
	}

	// Real time: runs start at their aligned due time, and their deadline is
	// the next due time.
	s = New(Options{})
	const riv = time.Second
	type start struct {
		key          string
		at, deadline time.Time
	}
	var mu sync.Mutex
	var starts []start
	for i := 0; i < 3; i++ {
		key := fmt.Sprintf("align-%d", i)
		s.Add(Check{Key: key, Interval: riv, Run: func(ctx context.Context) {
			dl, _ := ctx.Deadline()
			mu.Lock()
			starts = append(starts, start{key, time.Now(), dl})
			mu.Unlock()
		}})
	}
	stop := runScheduler(t, s)
	waitFor(t, "6 runs", func() bool { return s.Stats().Completed >= 6 })
	stop()
	mu.Lock()
	defer mu.Unlock()
	for _, st := range starts {
		phase := int64(phase.Of(st.key, riv))
		if off := (st.deadline.UnixNano() - phase) % int64(riv); off != 0 {
			t.Errorf("%s: deadline %v is %v off its phase", st.key, st.deadline, time.Duration(off))
		}
		// Lateness: the start is just after a due time (a random start
		// would land anywhere in the interval; 250ms leaves room for a
		// loaded machine, and a random start passes it 1 in 4 times).
		late := time.Duration(((st.at.UnixNano()-phase)%int64(riv) + int64(riv)) % int64(riv))
		if late > 250*time.Millisecond {
			t.Errorf("%s: started %v after its due time, want < 250ms", st.key, late)
		}
		if d := st.deadline.Sub(st.at); d <= 0 || d > riv {
			t.Errorf("%s: deadline %v after start, want within one interval", st.key, d)
		}
	}
}

func TestOverrunIsSkippedNotStacked(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := New(Options{Registerer: reg})
	const iv = 50 * time.Millisecond
	var inFlight, maxInFlight atomic.Int32
	var ctxErrs sync.Map
	s.Add(Check{Key: "slow", Plugin: "p", Interval: iv, Run: func(ctx context.Context) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		if n > maxInFlight.Load() {
			maxInFlight.Store(n)
		}
		time.Sleep(120 * time.Millisecond) // ignores ctx: overruns by 2+ intervals
		ctxErrs.Store(ctx.Err(), true)
	}})
	stop := runScheduler(t, s)
	waitFor(t, "3 runs", func() bool { return s.Stats().Completed >= 3 })
	stop()
	st := s.Stats()
	if maxInFlight.Load() != 1 {
		t.Fatalf("max runs in flight = %d, want 1 (no stacking)", maxInFlight.Load())
	}
	// Each 120ms run covers the next two 50ms due times.
	if st.Skipped < 2*(st.Started-1) {
		t.Fatalf("stats %+v: want at least 2 skips per overrun", st)
	}
	if got := counterValue(t, reg, "panoptes_schedule_checks_skipped_total", "p"); got != float64(st.Skipped) {
		t.Fatalf("skipped metric = %v, Stats.Skipped = %d", got, st.Skipped)
	}
	if got := counterValue(t, reg, "panoptes_schedule_checks_started_total", "p"); got != float64(st.Started) {
		t.Fatalf("started metric = %v, Stats.Started = %d", got, st.Started)
	}
	if _, ok := ctxErrs.Load(context.DeadlineExceeded); !ok {
		t.Fatal("an overrunning run's ctx was not cancelled at its deadline")
	}
}

func TestWedgedRunKeepsWorkerOthersContinue(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := New(Options{MaxConcurrent: 2, Registerer: reg})
	const iv = 50 * time.Millisecond
	release := make(chan struct{})
	s.Add(Check{Key: "wedge", Plugin: "wedge", Interval: iv, Run: func(context.Context) { <-release }})
	s.Add(Check{Key: "ok", Plugin: "ok", Interval: iv, Run: noop})
	stop := runScheduler(t, s)
	waitFor(t, "wedge skipped 4 times", func() bool {
		return counterValue(t, reg, "panoptes_schedule_checks_skipped_total", "wedge") >= 4
	})
	if got := counterValue(t, reg, "panoptes_schedule_checks_started_total", "wedge"); got != 1 {
		t.Fatalf("wedged check started %v times, want 1", got)
	}
	waitFor(t, "ok check keeps running", func() bool {
		return counterValue(t, reg, "panoptes_schedule_checks_started_total", "ok") >= 4
	})
	if got := counterValue(t, reg, "panoptes_schedule_checks_running", ""); got < 1 {
		t.Fatalf("running gauge = %v with a wedged run, want >= 1", got)
	}

	// Shutdown waits for the wedged run, however long it takes.
	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	select {
	case <-stopped:
		t.Fatal("Run returned while a check was still running")
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	select {
	case <-stopped:
	case <-time.After(time.Second):
		t.Fatal("Run did not return after the wedged check returned")
	}
	if st := s.Stats(); st.Running != 0 || st.Completed != st.Started {
		t.Fatalf("after shutdown: %+v, want nothing running and all started completed", st)
	}
}

func TestConcurrencyLimitNeverExceeded(t *testing.T) {
	const limit, checks, iv = 4, 40, 100 * time.Millisecond
	s := New(Options{MaxConcurrent: limit})
	var running, maxRunning atomic.Int32
	var mu sync.Mutex
	seen := map[string]bool{} // key@due: a due time is started at most once
	dup := ""
	for i := 0; i < checks; i++ {
		key := fmt.Sprintf("c%d", i)
		s.Add(Check{Key: key, Interval: iv, Run: func(ctx context.Context) {
			n := running.Add(1)
			for m := maxRunning.Load(); n > m && !maxRunning.CompareAndSwap(m, n); m = maxRunning.Load() {
			}
			dl, _ := ctx.Deadline()
			id := fmt.Sprintf("%s@%d", key, dl.UnixNano())
			mu.Lock()
			if seen[id] {
				dup = id
			}
			seen[id] = true
			mu.Unlock()
			time.Sleep(25 * time.Millisecond)
			running.Add(-1)
		}})
	}
	stop := runScheduler(t, s)
	// 40 checks × 25ms per 100ms need 10 workers: 4 saturate, the rest wait.
	waitFor(t, "skips from waiting", func() bool { return s.Stats().Skipped >= 20 && s.Stats().Started >= 40 })
	stop()
	if m := maxRunning.Load(); m != limit {
		t.Fatalf("max concurrent runs = %d, want exactly the limit %d", m, limit)
	}
	if dup != "" {
		t.Fatalf("a due time was started twice: %s", dup)
	}
	if s.workers != 0 {
		t.Fatalf("%d workers left after shutdown", s.workers)
	}
	_, p99 := s.LatencyQuantiles()
	if p99 < 25*time.Millisecond {
		t.Fatalf("p99 lateness %v with saturated workers, want >= one run time (25ms)", p99)
	}
}

func TestUpdateAddRemoveIntervalChange(t *testing.T) {
	clk := newFakeClock(time.Unix(1_700_000_000, 0))
	var logs bytes.Buffer
	s := New(Options{Now: clk.Now, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	next := func(key string) int64 {
		t.Helper()
		e := s.entries[key]
		if e == nil || e.heapIdx < 0 {
			t.Fatalf("check %q not scheduled", key)
		}
		return s.heap.nextOf(e)
	}
	s.Update([]Check{
		{Key: "a", Interval: time.Second, Run: noop},
		{Key: "b", Interval: time.Second, Run: noop},
		{Key: "c", Interval: time.Second, Run: noop},
	})
	if s.Len() != 3 {
		t.Fatalf("Len = %d, want 3", s.Len())
	}
	cNext := next("c")
	clk.add(250 * time.Millisecond)
	s.Update([]Check{
		{Key: "b", Interval: 2 * time.Second, Run: noop},
		{Key: "c", Interval: time.Second, Run: noop},
		{Key: "d", Interval: time.Second, Run: noop},
		{Key: "d", Interval: time.Second, Run: noop}, // duplicate: kept once
		{Key: "", Interval: time.Second, Run: noop},  // invalid: ignored
		{Key: "e", Interval: 0, Run: noop},           // invalid: ignored
	})
	if s.Len() != 3 {
		t.Fatalf("Len = %d, want 3 (b, c, d)", s.Len())
	}
	if _, ok := s.entries["a"]; ok {
		t.Fatal("removed check a is still known")
	}
	if got := next("c"); got != cNext {
		t.Fatalf("unchanged check c moved from %d to %d", cNext, got)
	}
	now := clk.Now().UnixNano()
	for key, iv := range map[string]time.Duration{"b": 2 * time.Second, "d": time.Second} {
		n := next(key)
		if n < now || n >= now+int64(iv) || (n-int64(phase.Of(key, iv)))%int64(iv) != 0 {
			t.Fatalf("check %s: next due %d not the first aligned due time at/after %d for %v", key, n, now, iv)
		}
	}
	for _, want := range []string{"duplicate check keys", "invalid checks ignored", "empty Key"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}

	s.Add(Check{Key: "e", Interval: time.Second, Run: noop})
	s.Remove("b")
	s.Remove("nope")
	s.Add(Check{Key: "", Interval: time.Second, Run: noop})
	if s.Len() != 3 || s.heap.len() != 3 {
		t.Fatalf("Len = %d, heap %d after add e, remove b: want 3", s.Len(), s.heap.len())
	}
	s.Update(nil)
	if s.Len() != 0 || s.heap.len() != 0 || len(s.entries) != 0 {
		t.Fatalf("after Update(nil): Len %d, heap %d, entries %d; want all 0", s.Len(), s.heap.len(), len(s.entries))
	}
}

func TestUpdateWhileRunning(t *testing.T) {
	s := New(Options{})
	const iv = 50 * time.Millisecond
	var a, b1, b2, c atomic.Int32
	count := func(n *atomic.Int32) func(context.Context) { return func(context.Context) { n.Add(1) } }
	s.Update([]Check{
		{Key: "a", Interval: iv, Run: count(&a)},
		{Key: "b", Interval: iv, Run: count(&b1)},
	})
	runScheduler(t, s)
	waitFor(t, "a and b run", func() bool { return a.Load() >= 2 && b1.Load() >= 2 })
	s.Update([]Check{
		{Key: "b", Interval: iv, Run: count(&b2)}, // same schedule, new Run
		{Key: "c", Interval: iv / 2, Run: count(&c)},
	})
	aAtUpdate, b1AtUpdate := a.Load(), b1.Load()
	waitFor(t, "new b and c run", func() bool { return b2.Load() >= 3 && c.Load() >= 3 })
	// A run already handed to a worker may still finish after Update.
	if a.Load() > aAtUpdate+1 || b1.Load() > b1AtUpdate+1 {
		t.Fatalf("removed/replaced runs kept going: a %d→%d, old b %d→%d", aAtUpdate, a.Load(), b1AtUpdate, b1.Load())
	}
	if s.Len() != 2 {
		t.Fatalf("Len = %d, want 2", s.Len())
	}
}

func TestRemoveRunningCheck(t *testing.T) {
	s := New(Options{})
	const iv = 200 * time.Millisecond
	started := make(chan context.Context, 10)
	release := make(chan struct{})
	var runs, inFlight, maxInFlight atomic.Int32
	check := Check{Key: "r", Interval: iv, Run: func(ctx context.Context) {
		if inFlight.Add(1) > 1 {
			maxInFlight.Store(2)
		}
		defer inFlight.Add(-1)
		runs.Add(1)
		started <- ctx
		<-release
	}}
	s.Add(check)
	runScheduler(t, s)
	ctx := <-started
	s.Remove("r")
	if s.Len() != 0 {
		t.Fatalf("Len = %d after Remove, want 0", s.Len())
	}
	if ctx.Err() != nil {
		t.Fatalf("Remove cancelled the running check: %v", ctx.Err())
	}
	// Re-adding the key while its old run is in flight must not stack a
	// second run: the next due time is skipped.
	s.Add(check)
	waitFor(t, "a skip of the re-added check", func() bool { return s.Stats().Skipped >= 1 })
	if runs.Load() != 1 {
		t.Fatalf("re-added check started while its removed run was in flight: %d runs", runs.Load())
	}
	s.Remove("r")
	close(release)
	waitFor(t, "the removed run completes", func() bool { return s.Stats().Completed == 1 })
	time.Sleep(2 * iv)
	if runs.Load() != 1 || maxInFlight.Load() > 1 {
		t.Fatalf("runs = %d, stacked = %v; want 1 run and no more after removal", runs.Load(), maxInFlight.Load() > 1)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.entries) != 0 || s.retiring != 0 {
		t.Fatalf("removed check still held: %d entries, %d retiring", len(s.entries), s.retiring)
	}
}

// forceDue makes key due now, once Run has started (Run rebases due times).
func forceDue(t *testing.T, s *Scheduler, key string) {
	t.Helper()
	waitFor(t, "Run to start", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.started
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	s.heap.set(s.entries[key], s.nowNano())
	s.nudgeLocked()
}

func TestShutdownCancelsAndWaitsForRuns(t *testing.T) {
	s := New(Options{})
	var finished atomic.Bool
	var gotErr atomic.Value
	started := make(chan struct{})
	s.Add(Check{Key: "s", Interval: time.Hour, Run: func(ctx context.Context) {
		close(started)
		<-ctx.Done()
		gotErr.Store(ctx.Err())
		time.Sleep(30 * time.Millisecond) // cleanup after cancel
		finished.Store(true)
	}})
	stop := runScheduler(t, s)
	forceDue(t, s, "s")
	select {
	case <-started:
	case <-time.After(time.Second):
		t.Fatal("check did not start")
	}
	stop()
	if !finished.Load() {
		t.Fatal("Run returned before the running check finished")
	}
	if err, _ := gotErr.Load().(error); !errors.Is(err, context.Canceled) {
		t.Fatalf("running check's ctx error at shutdown = %v, want context.Canceled", err)
	}
	if err := s.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "more than once") {
		t.Fatalf("second Run: err = %v, want a 'called more than once' error", err)
	}
}

// TestSkipReasons: a skipped due time is counted with its reason: overrun
// while the run waits for a worker past its next due time, removed when
// its check is removed before a worker takes it.
func TestSkipReasons(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := New(Options{MaxConcurrent: 1, Registerer: reg})
	const iv = 50 * time.Millisecond
	release := make(chan struct{})
	s.Add(Check{Key: "wedge", Plugin: "wedge", Interval: iv, Run: func(context.Context) { <-release }})
	s.Add(Check{Key: "q", Plugin: "q", Interval: iv, Run: noop})
	stop := runScheduler(t, s)
	defer stop()
	skipped := func(reason string) float64 {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() != "panoptes_schedule_checks_skipped_total" {
				continue
			}
			for _, m := range mf.GetMetric() {
				labels := map[string]string{}
				for _, l := range m.GetLabel() {
					labels[l.GetName()] = l.GetValue()
				}
				if labels["plugin"] == "q" && labels["reason"] == reason {
					return m.GetCounter().GetValue()
				}
			}
		}
		return 0
	}
	// The one worker is wedged: q's run waits, its next due times pass.
	waitFor(t, "q skipped as overrun", func() bool { return skipped(SkipOverrun) >= 2 })
	s.Remove("q") // its queued run is still waiting for the worker
	close(release)
	waitFor(t, "q's waiting run dropped as removed", func() bool { return skipped(SkipRemoved) == 1 })
	if got := skipped(SkipStopped); got != 0 {
		t.Errorf("stopped: %v, want 0 (nothing was waiting at a stop)", got)
	}
}

// TestSetMaxConcurrent: the limit follows a reload: raised from 2 to 6,
// checks that need 10 workers run 6 at once; lowered to 3, never more than
// 3 once the runs under the old limit ended, and the workers beyond it end.
func TestSetMaxConcurrent(t *testing.T) {
	const checks, iv = 40, 100 * time.Millisecond
	s := New(Options{MaxConcurrent: 2})
	var running, maxRunning atomic.Int32
	for i := 0; i < checks; i++ {
		s.Add(Check{Key: fmt.Sprintf("c%d", i), Interval: iv, Run: func(context.Context) {
			n := running.Add(1)
			for m := maxRunning.Load(); n > m && !maxRunning.CompareAndSwap(m, n); m = maxRunning.Load() {
			}
			time.Sleep(25 * time.Millisecond)
			running.Add(-1)
		}})
	}
	stop := runScheduler(t, s)
	defer stop()
	completed := func(more uint64) func() bool {
		from := s.Stats().Completed
		return func() bool { return s.Stats().Completed >= from+more }
	}
	waitFor(t, "runs at the first limit", completed(40))
	if m := maxRunning.Load(); m != 2 {
		t.Fatalf("max concurrent runs = %d, want the limit 2", m)
	}
	s.SetMaxConcurrent(6)
	waitFor(t, "runs at the raised limit", completed(80))
	if m := maxRunning.Load(); m != 6 {
		t.Fatalf("after raising to 6: max concurrent runs = %d, want 6", m)
	}
	s.SetMaxConcurrent(3)
	waitFor(t, "the old runs to end", completed(12)) // beyond the 6 running at the change
	maxRunning.Store(running.Load())
	waitFor(t, "runs at the lowered limit", completed(80))
	if m := maxRunning.Load(); m > 3 {
		t.Fatalf("after lowering to 3: max concurrent runs = %d, want at most 3", m)
	}
	s.mu.Lock()
	workers := s.workers
	s.mu.Unlock()
	if workers > 3 {
		t.Errorf("%d workers after lowering the limit to 3", workers)
	}
}
