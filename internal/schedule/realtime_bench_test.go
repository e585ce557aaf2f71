//go:build unix

package schedule

import (
	"context"
	"syscall"
	"testing"
	"time"
)

// BenchmarkSchedulerRealtime runs the real timer goroutine and workers with
// 100k checks on a 2s interval (50k checks/s) for one interval per op and
// reports the rate reached, the CPU used (cores, the whole process) and the
// start lateness. Run with -benchtime=1x (or Nx): each op takes 2s.
func BenchmarkSchedulerRealtime(b *testing.B) {
	const iv = 2 * time.Second
	s := New(Options{})
	s.Update(benchCheckSet(benchChecks, iv, ""))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	time.Sleep(iv / 4) // let the pool start
	st0, ru0, t0 := s.Stats(), rusage(b), time.Now()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		time.Sleep(iv)
	}
	b.StopTimer()
	st1, ru1, wall := s.Stats(), rusage(b), time.Since(t0)
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	started, skipped := st1.Started-st0.Started, st1.Skipped-st0.Skipped
	p50, p99 := s.LatencyQuantiles()
	b.ReportMetric(float64(started)/wall.Seconds(), "checks/s")
	b.ReportMetric(float64(skipped), "skipped")
	b.ReportMetric((ru1-ru0).Seconds()/wall.Seconds(), "cpu-cores")
	b.ReportMetric(float64(p50.Microseconds()), "p50-late-µs")
	b.ReportMetric(float64(p99.Microseconds()), "p99-late-µs")
}

func rusage(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
