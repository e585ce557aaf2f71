package schedule

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/panoptes-go/panoptes/internal/phase"
)

// Deterministic tests: an injected clock and tick() called by hand instead
// of the timer goroutine; workers are real.

// T0 is aligned to a whole second, so a 1s check is due at T0 + its phase.
var t0 = time.Unix(1_700_000_000, 0)

// startManual starts s's worker side without the timer goroutine.
func startManual(t *testing.T, s *Scheduler) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	if err := s.start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		done := make(chan struct{})
		go func() { s.stop(); close(done) }()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
			t.Error("workers did not stop within 2s of shutdown")
		}
	})
}

func TestLatenessRecorded(t *testing.T) {
	clk := newFakeClock(t0)
	reg := prometheus.NewRegistry()
	s := New(Options{Now: clk.Now, Registerer: reg})
	s.Add(Check{Key: "l", Plugin: "p", Interval: time.Second, Run: noop})
	startManual(t, s)
	due := s.heap.nextOf(s.entries["l"])
	clk.set(due + int64(7*time.Millisecond))
	more, wait := s.tick()
	if more || wait != time.Second-7*time.Millisecond {
		t.Fatalf("tick = (%v, %v), want (false, 993ms) until the next due time", more, wait)
	}
	waitFor(t, "the run", func() bool { return s.Stats().Completed == 1 })
	p50, p99 := s.LatencyQuantiles()
	for _, q := range []time.Duration{p50, p99} {
		if q < 6790*time.Microsecond || q > 7210*time.Microsecond {
			t.Fatalf("lateness quantiles (%v, %v), want 7ms within 3%%", p50, p99)
		}
	}
	if n := counterValue(t, reg, "panoptes_schedule_lateness_seconds", ""); n != 1 {
		t.Fatalf("lateness histogram count = %v, want 1", n)
	}
}

func TestStalledTimerCountsMissedDueTimes(t *testing.T) {
	clk := newFakeClock(t0)
	s := New(Options{Now: clk.Now})
	deadlines := make(chan time.Time, 4)
	s.Add(Check{Key: "x", Interval: time.Second, Run: func(ctx context.Context) {
		dl, _ := ctx.Deadline()
		deadlines <- dl
	}})
	startManual(t, s)
	due := s.heap.nextOf(s.entries["x"])
	// The timer goroutine wakes 3.5 intervals late (a stall, a clock step).
	clk.set(due + int64(3500*time.Millisecond))
	s.tick()
	dl := <-deadlines
	if want := time.Unix(0, due+int64(4*time.Second)); !dl.Equal(want) {
		t.Fatalf("late run's deadline = %v, want %v (run for the latest due time)", dl, want)
	}
	if st := s.Stats(); st.Started != 1 || st.Skipped != 3 {
		t.Fatalf("stats %+v, want 1 started and the 3 missed due times skipped", st)
	}
	// Reached is the latest due time counted, not the clock.
	if st := s.Stats(); !st.Reached.Equal(time.Unix(0, due+int64(3*time.Second))) {
		t.Fatalf("reached %v, want the due time 3 intervals after the first (%v)", st.Reached, time.Unix(0, due+int64(3*time.Second)))
	}
	if next := s.heap.nextOf(s.entries["x"]); next != due+int64(4*time.Second) {
		t.Fatalf("next due %d, want %d", next, due+int64(4*time.Second))
	}
}

func TestWaitingForWorkerPastNextDueSkipsOnce(t *testing.T) {
	clk := newFakeClock(t0)
	s := New(Options{Now: clk.Now, MaxConcurrent: 1})
	// Name the checks so that x is due before y within each second.
	x, y := "check-a", "check-b"
	if phase.Of(x, time.Second) > phase.Of(y, time.Second) {
		x, y = y, x
	}
	xStarted, release := make(chan struct{}), make(chan struct{})
	yDeadlines := make(chan time.Time, 4)
	s.Add(Check{Key: x, Interval: time.Second, Run: func(context.Context) { close(xStarted); <-release }})
	s.Add(Check{Key: y, Interval: time.Second, Run: func(ctx context.Context) {
		dl, _ := ctx.Deadline()
		yDeadlines <- dl
	}})
	startManual(t, s)
	dy := t0.UnixNano() + int64(phase.Of(y, time.Second))

	clk.set(dy)
	s.tick() // x takes the only worker; y waits
	<-xStarted
	clk.add(time.Second)
	s.tick() // x still running, y still waiting: both due times skipped
	if st := s.Stats(); st.Started != 1 || st.Skipped != 2 {
		t.Fatalf("stats %+v, want x started, and x's and y's second due times skipped", st)
	}
	close(release)
	dl := <-yDeadlines
	if want := time.Unix(0, dy+int64(2*time.Second)); !dl.Equal(want) {
		t.Fatalf("y ran with deadline %v, want %v (its latest due time + interval)", dl, want)
	}
	waitFor(t, "both runs complete", func() bool { return s.Stats().Completed == 2 })
	if st := s.Stats(); st.Started != 2 || st.Skipped != 2 {
		t.Fatalf("stats %+v, want y started once for its two due times", st)
	}
	select {
	case dl := <-yDeadlines:
		t.Fatalf("y started twice (second deadline %v)", dl)
	case <-time.After(20 * time.Millisecond):
	}
}

func TestWallClockStepBackwardReschedules(t *testing.T) {
	clk := newFakeClock(t0)
	var logs bytes.Buffer
	s := New(Options{Now: clk.Now, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	s.Add(Check{Key: "b", Interval: time.Second, Run: noop})
	startManual(t, s)
	clk.add(-time.Hour)
	_, wait := s.tick()
	if wait < 0 || wait >= time.Second {
		t.Fatalf("after the clock stepped back 1h the next run is in %v, want within one interval", wait)
	}
	if !strings.Contains(logs.String(), "stepped backwards") {
		t.Fatalf("no warning about the clock step in the log:\n%s", logs.String())
	}
	if st := s.Stats(); st.Started+st.Skipped != 0 {
		t.Fatalf("stats %+v: nothing should have been due", st)
	}
}

func TestPanickingCheckIsRecovered(t *testing.T) {
	clk := newFakeClock(t0)
	reg := prometheus.NewRegistry()
	var logs bytes.Buffer
	s := New(Options{Now: clk.Now, Registerer: reg, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	s.Add(Check{Key: "boom", Plugin: "p", Interval: time.Second, Run: func(context.Context) { panic("bad device") }})
	startManual(t, s)
	for i := 1; i <= 2; i++ {
		clk.add(time.Second)
		s.tick()
		waitFor(t, "the run", func() bool { return s.Stats().Completed == uint64(i) })
	}
	if got := counterValue(t, reg, "panoptes_schedule_checks_panicked_total", "p"); got != 2 {
		t.Fatalf("panicked metric = %v, want 2", got)
	}
	if st := s.Stats(); st.Running != 0 || st.Started != 2 {
		t.Fatalf("stats %+v, want 2 started, none running", st)
	}
	if !strings.Contains(logs.String(), "bad device") || !strings.Contains(logs.String(), "check=boom") {
		t.Fatalf("panic not logged with its check:\n%s", logs.String())
	}
}

func TestInvalidAddIsLoggedAndIgnored(t *testing.T) {
	var logs bytes.Buffer
	s := New(Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	s.Add(Check{Plugin: "p", Interval: time.Second, Run: noop})
	s.Add(Check{Key: "k", Interval: -time.Second, Run: noop})
	s.Add(Check{Key: "k", Interval: time.Second})
	if s.Len() != 0 {
		t.Fatalf("Len = %d after invalid adds, want 0", s.Len())
	}
	for _, want := range []string{"empty Key", "interval must be positive", "no Run function"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
}

func TestSecondSchedulerSharesRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	clk := newFakeClock(t0)
	a := New(Options{Registerer: reg, Now: clk.Now})
	b := New(Options{Registerer: reg, Now: clk.Now})
	a.Add(Check{Key: "a", Plugin: "p", Interval: time.Second, Run: noop})
	b.Add(Check{Key: "b", Plugin: "p", Interval: time.Second, Run: noop})
	startManual(t, a)
	startManual(t, b)
	clk.add(time.Second)
	a.tick()
	b.tick()
	waitFor(t, "both runs", func() bool { return a.Stats().Completed == 1 && b.Stats().Completed == 1 })
	if got := counterValue(t, reg, "panoptes_schedule_checks_started_total", "p"); got != 2 {
		t.Fatalf("shared started counter = %v, want 2", got)
	}
}
