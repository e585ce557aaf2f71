package schedule

import (
	"cmp"
	"slices"
	"time"
)

// dueMark is a boundary whose count of due times a caller waits for.
type dueMark struct {
	at int64 // Unix nanoseconds
	ch chan uint64
	// beyond counts the due times at or after at already in Due: a late
	// check's skipped due times are counted together, ahead of the heap's
	// order.
	beyond uint64
}

// DueBefore returns a channel that receives the count of due times before
// t, as Stats.Due counts them, once the timer has counted them all. A
// Stats snapshot taken after t is not exact: a busy timer that reaches t
// late counts a burst past it before the snapshot is read, and a window
// between two such snapshots lacked due times that had all run (the
// benchmark harness counted them missed). The channel is buffered and
// receives once; nothing waits for its reader.
func (s *Scheduler) DueBefore(t time.Time) <-chan uint64 {
	m := &dueMark{at: t.UnixNano(), ch: make(chan uint64, 1)}
	s.mu.Lock()
	defer s.mu.Unlock()
	i, _ := slices.BinarySearchFunc(s.marks, m.at, func(x *dueMark, at int64) int { return cmp.Compare(x.at, at) })
	s.marks = slices.Insert(s.marks, i, m)
	return m.ch
}

// settleMarksLocked settles the marks at or before next, the heap's
// earliest due time: every due time before them is counted.
func (s *Scheduler) settleMarksLocked(next int64) {
	for len(s.marks) > 0 && s.marks[0].at <= next {
		m := s.marks[0]
		m.ch <- s.dueN.Load() - m.beyond
		s.marks = s.marks[1:]
	}
}

// passMarksLocked is called before one check's due times first, first+iv,
// ..., last are counted, first being the heap's earliest: it settles the
// marks at or before first, and notes in those up to last how many of
// these due times are beyond them.
func (s *Scheduler) passMarksLocked(first, last, iv int64) {
	s.settleMarksLocked(first)
	for _, m := range s.marks {
		if m.at > last {
			break
		}
		// first < m.at <= last: k from ceil((m.at-first)/iv) to (last-first)/iv
		m.beyond += uint64((last-first)/iv - (m.at-first+iv-1)/iv + 1)
	}
}
