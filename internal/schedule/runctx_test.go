package schedule

import (
	"context"
	"errors"
	"testing"
	"time"
)

// doneReport is what waitingCheck saw when its ctx ended.
type doneReport struct {
	ctx      context.Context
	deadline time.Time
	at       time.Time
	err      error
	child    error // a WithCancel child's error once the run's ctx is done
}

// waitingCheck reports its ctx, waits on Done (and on a child context and
// an AfterFunc of it), and reports when and how it ended.
func waitingCheck(key string, iv time.Duration, started chan<- context.Context, out chan<- doneReport) Check {
	return Check{Key: key, Plugin: "p", Interval: iv, Run: func(ctx context.Context) {
		child, cancel := context.WithCancel(ctx)
		defer cancel()
		stopped := make(chan struct{})
		stop := context.AfterFunc(ctx, func() { close(stopped) })
		defer stop()
		started <- ctx
		<-ctx.Done()
		<-stopped
		<-child.Done()
		dl, _ := ctx.Deadline()
		out <- doneReport{ctx: ctx, deadline: dl, at: time.Now(), err: ctx.Err(), child: child.Err()}
	}}
}

func checkEndedAtDeadline(t *testing.T, out <-chan doneReport, why string) {
	t.Helper()
	var r doneReport
	select {
	case r = <-out:
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: the run's ctx did not end within 5s", why)
	}
	if !errors.Is(r.err, context.DeadlineExceeded) || !errors.Is(r.child, context.DeadlineExceeded) {
		t.Fatalf("%s: ctx ended with %v (child %v), want DeadlineExceeded", why, r.err, r.child)
	}
	if !errors.Is(context.Cause(r.ctx), context.DeadlineExceeded) {
		t.Fatalf("%s: Cause = %v, want DeadlineExceeded", why, context.Cause(r.ctx))
	}
	// Generous: the machine is shared; early is what must never happen.
	if late := r.at.Sub(r.deadline); late < 0 || late > 500*time.Millisecond {
		t.Fatalf("%s: Done closed %v after the deadline, want within [0, 500ms]", why, late)
	}
}

// TestRunCtxEndsAtDeadline: a run that waits on Done (and a child context
// and an AfterFunc of it) is ended at its deadline by the timer goroutine.
func TestRunCtxEndsAtDeadline(t *testing.T) {
	s := New(Options{})
	started, out := make(chan context.Context, 4), make(chan doneReport, 4)
	s.Add(waitingCheck("w", 100*time.Millisecond, started, out))
	runScheduler(t, s)
	checkEndedAtDeadline(t, out, "running check")
	if s.Stats().Skipped == 0 {
		t.Fatal("the due time that found the run in flight was not skipped")
	}
}

// TestRunCtxDeadlineAfterRemoveAndReschedule: a running check removed or
// given another interval is no longer visited at its deadline by the timer
// goroutine; its ctx still ends then.
func TestRunCtxDeadlineAfterRemoveAndReschedule(t *testing.T) {
	const iv = 150 * time.Millisecond
	for _, tc := range []struct {
		name   string
		change func(s *Scheduler, c Check)
	}{
		{"removed", func(s *Scheduler, c Check) { s.Remove(c.Key) }},
		{"interval changed", func(s *Scheduler, c Check) { c.Interval = time.Hour; s.Add(c) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := New(Options{})
			started, out := make(chan context.Context, 4), make(chan doneReport, 4)
			c := waitingCheck("w", iv, started, out)
			s.Add(c)
			runScheduler(t, s)
			ctx := <-started
			tc.change(s, c)
			if ctx.Err() != nil {
				t.Fatalf("the change ended the running check: %v", ctx.Err())
			}
			checkEndedAtDeadline(t, out, tc.name)
		})
	}
}

// TestRunCtxValuesAndShutdownCause: a run sees Run's ctx values, and at
// shutdown its ctx ends with Canceled, Cause included, though Run's ctx
// carries no cause of its own.
func TestRunCtxValuesAndShutdownCause(t *testing.T) {
	type key struct{}
	s := New(Options{})
	got := make(chan context.Context, 1)
	s.Add(Check{Key: "v", Interval: time.Hour, Run: func(ctx context.Context) {
		got <- ctx
		<-ctx.Done()
	}})
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "v1"))
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	waitFor(t, "Run to start", func() bool { s.mu.Lock(); defer s.mu.Unlock(); return s.started })
	s.mu.Lock()
	s.heap.set(s.entries["v"], s.nowNano())
	s.nudgeLocked()
	s.mu.Unlock()
	rctx := <-got
	if v, _ := rctx.Value(key{}).(string); v != "v1" {
		t.Fatalf("Value = %q, want Run's ctx value v1", v)
	}
	if context.Cause(rctx) != nil || rctx.Err() != nil {
		t.Fatalf("live run: Err %v, Cause %v", rctx.Err(), context.Cause(rctx))
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !errors.Is(rctx.Err(), context.Canceled) || !errors.Is(context.Cause(rctx), context.Canceled) {
		t.Fatalf("after shutdown: Err %v, Cause %v, want Canceled", rctx.Err(), context.Cause(rctx))
	}
}

func TestRunCtxUnit(t *testing.T) {
	far := time.Now().Add(time.Hour).UnixNano()
	c := newRunCtx(context.Background(), far, time.Now())
	if dl, ok := c.Deadline(); !ok || dl.UnixNano() != far {
		t.Fatalf("Deadline = %v, %v", dl, ok)
	}
	ran := make(chan int, 3)
	stop1 := c.AfterFunc(func() { ran <- 1 })
	stop2 := c.AfterFunc(func() { ran <- 2 })
	if !stop1() || stop1() {
		t.Fatal("stop: want true once, then false")
	}
	d := c.Done()
	select {
	case <-d:
		t.Fatal("Done closed before the end")
	default:
	}
	c.end(ctxCanceled)
	c.end(ctxDeadline) // the first end counts
	<-d
	if got := <-ran; got != 2 {
		t.Fatalf("ran callback %d, want 2 (1 was stopped)", got)
	}
	if stop2() {
		t.Fatal("stop after the callback ran returned true")
	}
	if !errors.Is(c.Err(), context.Canceled) {
		t.Fatalf("Err = %v, want Canceled", c.Err())
	}
	// A callback added after the end runs at once (in its own goroutine).
	c.AfterFunc(func() { ran <- 3 })
	if got := <-ran; got != 3 {
		t.Fatalf("late callback: %d", got)
	}

	// Err and Done notice a passed deadline by themselves.
	past := newRunCtx(context.Background(), time.Now().Add(-time.Millisecond).UnixNano(), time.Now())
	select {
	case <-past.Done():
	default:
		t.Fatal("Done of a context past its deadline is not closed")
	}
	if !errors.Is(past.Err(), context.DeadlineExceeded) {
		t.Fatalf("Err past the deadline = %v", past.Err())
	}

	// arm: a timer of its own ends it at the deadline.
	soon := newRunCtx(context.Background(), time.Now().Add(20*time.Millisecond).UnixNano(), time.Now())
	d = soon.Done()
	soon.arm()
	select {
	case <-d:
	case <-time.After(5 * time.Second):
		t.Fatal("armed context not ended at its deadline")
	}
	if !errors.Is(soon.Err(), context.DeadlineExceeded) {
		t.Fatalf("armed: Err = %v", soon.Err())
	}
}

// A scheduler started without checks runs and stops (rebasing an empty
// heap), and schedules checks added later.
func TestRunWithoutChecks(t *testing.T) {
	s := New(Options{})
	stop := runScheduler(t, s)
	waitFor(t, "Run to start", func() bool { s.mu.Lock(); defer s.mu.Unlock(); return s.started })
	s.Add(Check{Key: "late", Interval: 20 * time.Millisecond, Run: noop})
	waitFor(t, "the check added after the start to run", func() bool { return s.Stats().Completed > 0 })
	stop()
}
