package schedule

import (
	"fmt"
	"testing"
	"time"
)

// TestDueBeforeExact: DueBefore counts the due times before its boundary
// exactly, where a Stats snapshot read after it does not: a timer that
// wakes 700 ms past the boundary counts a burst beyond it, and one stalled
// across the boundary counts the due times it skipped on both sides.
func TestDueBeforeExact(t *testing.T) {
	clk := newFakeClock(t0)
	s := New(Options{Now: clk.Now, MaxConcurrent: 64})
	for i := range 20 {
		s.Add(Check{Key: fmt.Sprintf("k%d", i), Interval: time.Second, Run: noop})
	}
	startManual(t, s)
	var first []int64
	for _, e := range s.entries {
		first = append(first, s.heap.nextOf(e))
	}
	want := func(m time.Time) uint64 {
		var n uint64
		for _, f := range first {
			for d := f; d < m.UnixNano(); d += int64(time.Second) {
				n++
			}
		}
		return n
	}
	tickTo := func(ns int64) {
		clk.set(ns)
		for more := true; more; more, _ = s.tick() {
		}
	}
	got := func(ch <-chan uint64) uint64 {
		select {
		case n := <-ch:
			return n
		default:
			t.Fatal("the mark was not settled once the timer passed it")
			return 0
		}
	}
	markA, markB := t0.Add(1500*time.Millisecond), t0.Add(4200*time.Millisecond)
	b, a := s.DueBefore(markB), s.DueBefore(markA) // out of order: kept by time

	tickTo(markA.UnixNano() + int64(700*time.Millisecond)) // a busy timer, late
	if n, w := got(a), want(markA); n != w {
		t.Errorf("DueBefore(A) = %d, want %d", n, w)
	} else if d := s.Stats().Due; d <= n {
		t.Fatalf("the snapshot after the burst counts %d, not more than the boundary's %d: the test shows nothing", d, n)
	}
	select {
	case <-b:
		t.Fatal("mark B settled before the timer reached it")
	default:
	}
	tickTo(markB.UnixNano() + int64(2600*time.Millisecond)) // a stall across B: skips on both sides
	if n, w := got(b), want(markB); n != w {
		t.Errorf("DueBefore(B) = %d, want %d", n, w)
	}
	if st := s.Stats(); st.Skipped == 0 {
		t.Errorf("stats %+v: the stall skipped nothing, the test shows nothing", st)
	}
}
