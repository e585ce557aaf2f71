package schedule

import "time"

// Stats are running totals for tests and the benchmark harness.
//
// Due counts the due times the timer reached, those it found already past
// by an interval or more (a stall, a clock step) included. Every one of
// them ends up either Started or Skipped (a run dropped because its check
// was removed or the scheduler stopped counts as skipped), so at any time
// Due = Started + Skipped + the runs waiting for a worker.
type Stats struct {
	Due, Started, Skipped, Completed uint64
	Running                          int
	// Reached is the latest due time counted in Due: every due time
	// before it has been reached. A busy timer runs a little behind the
	// clock, so a window's count of due times is exact once Reached has
	// passed the window's end.
	Reached time.Time
}

// Stats returns the scheduler's running totals. Due is read last, so that
// a snapshot taken while checks run has Due >= Started + Skipped.
func (s *Scheduler) Stats() Stats {
	st := Stats{
		Completed: s.completedN.Load(),
		Started:   s.startedN.Load(),
		Skipped:   s.skippedN.Load(),
		Running:   int(s.runningN.Load()),
	}
	st.Due = s.dueN.Load()
	if r := s.reached.Load(); r != 0 {
		st.Reached = time.Unix(0, r)
	}
	return st
}

// Overdue counts the runs waiting for a worker whose due time is more than
// age ago: at the end of a measured window they are due times the window
// did not run (each will still start late or be skipped).
func (s *Scheduler) Overdue(age time.Duration) int {
	cutoff := s.nowNano() - int64(age)
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for i := 0; i < s.ready.size; i++ {
		if s.ready.buf[(s.ready.head+i)&(len(s.ready.buf)-1)].due < cutoff {
			n++
		}
	}
	return n
}

// LatencyQuantiles returns the median and 99th percentile of start lateness
// (start time − due time) over all runs so far, within ~3%.
func (s *Scheduler) LatencyQuantiles() (p50, p99 time.Duration) {
	q := s.hist.Quantiles(0.5, 0.99)
	return q[0], q[1]
}
