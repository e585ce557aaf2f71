package schedule

import (
	"context"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/phase"
)

// checkDueInvariant fails unless Due = Started + Skipped + queued runs.
func checkDueInvariant(t *testing.T, s *Scheduler, when string) Stats {
	t.Helper()
	s.mu.Lock()
	queued := uint64(s.ready.len())
	s.mu.Unlock()
	st := s.Stats()
	if st.Due != st.Started+st.Skipped+queued {
		t.Fatalf("%s: due %d != started %d + skipped %d + queued %d", when, st.Due, st.Started, st.Skipped, queued)
	}
	return st
}

// Every due time the timer reaches is counted in Due, the ones a stall
// jumped over too, and ends up started, skipped or queued, also when its
// check is removed while queued and when the scheduler stops.
func TestDueCountsEveryReachedDueTime(t *testing.T) {
	clk := newFakeClock(t0)
	s := New(Options{Now: clk.Now, MaxConcurrent: 1})
	keys := []string{"check-a", "check-b", "check-c"}
	sort.Slice(keys, func(i, j int) bool { return phase.Of(keys[i], time.Second) < phase.Of(keys[j], time.Second) })
	x, y, z := keys[0], keys[1], keys[2] // due in that order within a second
	xStarted, release := make(chan struct{}, 8), make(chan struct{})
	s.Add(Check{Key: x, Interval: time.Second, Run: func(context.Context) { xStarted <- struct{}{}; <-release }})
	s.Add(Check{Key: y, Interval: time.Second, Run: noop})
	s.Add(Check{Key: z, Interval: time.Second, Run: noop})
	startManual(t, s)
	var releaseOnce sync.Once
	t.Cleanup(func() { releaseOnce.Do(func() { close(release) }) }) // before the workers are awaited
	if st := checkDueInvariant(t, s, "before any due time"); st.Due != 0 {
		t.Fatalf("due %d before any due time", st.Due)
	}

	// Second 1: x takes the only worker, y and z wait for it.
	clk.set(t0.UnixNano() + int64(phase.Of(z, time.Second)))
	s.tick()
	<-xStarted
	if st := checkDueInvariant(t, s, "x running, y and z queued"); st.Due != 3 || st.Started != 1 {
		t.Fatalf("stats %+v, want 3 due, 1 started", st)
	}

	// Just before x's due time of second 3: each check's due times of
	// seconds 1 and 2 after the first are reached at once (one of them
	// jumped over); x's are skipped as it runs, y's and z's as their runs
	// still wait.
	clk.set(t0.UnixNano() + int64(phase.Of(x, time.Second)) + int64(3*time.Second) - 1)
	s.tick()
	if st := checkDueInvariant(t, s, "after the stall"); st.Due != 9 || st.Skipped != 6 {
		t.Fatalf("stats %+v, want 9 due, 6 skipped", st)
	}

	// z is removed while queued: its run is dropped, counted skipped.
	s.Remove(z)
	releaseOnce.Do(func() { close(release) })
	waitFor(t, "y's run", func() bool { return s.Stats().Completed == 2 })
	waitFor(t, "z's queued run dropped", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.ready.len() == 0 && s.entries[z] == nil
	})
	if st := checkDueInvariant(t, s, "after z's removal"); st.Due != 9 || st.Started != 2 || st.Skipped != 7 {
		t.Fatalf("stats %+v, want 9 due, 2 started, 7 skipped", st)
	}

	// Shutdown drops what still waits for a worker: skipped too.
	block := make(chan struct{})
	s.Add(Check{Key: x, Interval: time.Second, Run: func(context.Context) { xStarted <- struct{}{}; <-block }})
	clk.add(time.Second)
	s.tick() // x runs (and blocks until its ctx ends), y waits
	<-xStarted
	st := checkDueInvariant(t, s, "x running again")
	stopped := make(chan struct{})
	go func() { s.stop(); close(stopped) }()
	waitFor(t, "stop to drop y's queued run", func() bool { return s.Stats().Skipped == st.Skipped+1 })
	close(block)
	<-stopped
	if after := s.Stats(); after.Due != st.Due || after.Started+after.Skipped != after.Due {
		t.Fatalf("after stop %+v (before %+v): every due time must be started or skipped", after, st)
	}
}

// TestOverdue: runs waiting for a worker are counted by how late they are.
func TestOverdue(t *testing.T) {
	clock := time.Unix(1_000_000, 0)
	s := &Scheduler{now: func() time.Time { return clock }}
	for _, late := range []time.Duration{0, 500 * time.Millisecond, 2 * time.Second, 5 * time.Second} {
		s.ready.push(&entry{due: clock.Add(-late).UnixNano()})
	}
	if got := s.Overdue(time.Second); got != 2 {
		t.Errorf("Overdue(1s) = %d, want the 2 runs more than a second late", got)
	}
	if got := s.Overdue(time.Hour); got != 0 {
		t.Errorf("Overdue(1h) = %d, want 0", got)
	}
}
