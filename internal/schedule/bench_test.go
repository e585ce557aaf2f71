package schedule

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"
)

const benchChecks = 100_000

func benchCheckSet(n int, iv time.Duration, prefix string) []Check {
	checks := make([]Check, n)
	for i := range checks {
		checks[i] = Check{
			Key:      fmt.Sprintf("interface|%ssw%d.example.net|%d", prefix, i/48, i%48),
			Plugin:   "interface",
			Interval: iv,
			Run:      noop,
		}
	}
	return checks
}

// BenchmarkSchedulerTick is the cost per due check dispatched, end to end:
// heap pop/push, hand-off to a worker, the run's context, a trivial Run,
// lateness and metrics, with 100k checks on a 60s interval. One op is one
// check.
func BenchmarkSchedulerTick(b *testing.B) {
	clk := newFakeClock(t0)
	s := New(Options{Now: clk.Now})
	s.Update(benchCheckSet(benchChecks, time.Minute, ""))
	ctx, cancel := context.WithCancel(context.Background())
	if err := s.start(ctx); err != nil {
		b.Fatal(err)
	}
	defer func() { cancel(); s.stop() }()
	// ~100 checks are due per 60ms step of the fake clock.
	step := int64(time.Minute) / benchChecks * 100
	now := t0.UnixNano()
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; n < b.N; {
		now += step
		clk.set(now)
		s.mu.Lock()
		n += s.dispatchLocked(now, b.N-n)
		s.mu.Unlock()
		// Like the real clock, don't run ahead of the workers by more than
		// a small backlog (a whole interval's backlog would be skipped).
		for st := s.Stats(); uint64(n)-st.Completed > 1024; st = s.Stats() {
			runtime.Gosched()
		}
	}
	for st := s.Stats(); st.Completed+st.Skipped < uint64(b.N); st = s.Stats() {
		time.Sleep(50 * time.Microsecond)
	}
	b.StopTimer()
	if st := s.Stats(); st.Skipped != 0 {
		b.Fatalf("%d checks skipped: workers fell behind", st.Skipped)
	}
}

// BenchmarkDispatch is the timer goroutine's share alone: finding due checks
// in the 100k-entry heap and queueing them (the queue is drained without
// running anything). It must not allocate.
func BenchmarkDispatch(b *testing.B) {
	s := New(Options{Now: newFakeClock(t0).Now})
	s.Update(benchCheckSet(benchChecks, time.Minute, ""))
	s.workers = s.max // no worker goroutines: the benchmark drains the queue
	step := int64(time.Minute) / benchChecks * 100
	now := t0.UnixNano()
	b.ReportAllocs()
	b.ResetTimer()
	s.mu.Lock()
	for n := 0; n < b.N; {
		now += step
		n += s.dispatchLocked(now, b.N-n)
		for e := s.ready.pop(); e != nil; e = s.ready.pop() {
			e.state = idle
		}
	}
	s.mu.Unlock()
}

// BenchmarkUpdate replaces a set of 100k checks: unchanged (a routine
// inventory refresh) and with 1% of the keys replaced. One op is one Update.
func BenchmarkUpdate(b *testing.B) {
	base := benchCheckSet(benchChecks, time.Minute, "")
	churned := append([]Check(nil), base...)
	for i, c := range benchCheckSet(benchChecks/100, time.Minute, "new-") {
		churned[i*100] = c
	}
	for _, bc := range []struct {
		name string
		sets [2][]Check
	}{
		{"unchanged", [2][]Check{base, base}},
		{"churn1pct", [2][]Check{base, churned}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s := New(Options{Now: newFakeClock(t0).Now})
			s.Update(bc.sets[0])
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				s.Update(bc.sets[(i+1)%2])
			}
			b.StopTimer()
			if s.Len() != benchChecks {
				b.Fatalf("Len = %d, want %d", s.Len(), benchChecks)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchChecks, "ns/check")
		})
	}
}
