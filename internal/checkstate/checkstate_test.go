package checkstate

import (
	"sync"
	"testing"
	"time"
	"unsafe"
)

func TestRecordHistoryAndSummary(t *testing.T) {
	b := New()
	t0 := time.Unix(1_800_000_000, 0)
	for i := range HistoryLen + 5 {
		b.Record("r1", Run{Plugin: "interface", Start: t0.Add(time.Duration(i) * time.Minute),
			End: t0.Add(time.Duration(i)*time.Minute + time.Second), Status: i % 2, NextDue: t0.Add(time.Duration(i+1) * time.Minute),
			Messages: []MessageRef{{Stream: "S", Seq: uint64(i)}}})
	}
	b.Record("r1", Run{Plugin: "uptime", Start: t0, End: t0.Add(time.Second), NextDue: t0.Add(30 * time.Second)})
	checks := b.Checks("r1")
	if len(checks) != 2 || checks[0].Last.Plugin != "interface" || checks[1].Last.Plugin != "uptime" {
		t.Fatalf("checks: %+v", checks)
	}
	h := checks[0].History
	if len(h) != HistoryLen {
		t.Fatalf("history holds %d points, want %d", len(h), HistoryLen)
	}
	// Oldest first: run 5 is the oldest kept, the last is run HistoryLen+4.
	if !h[0].End.Equal(t0.Add(5*time.Minute+time.Second)) || !h[len(h)-1].End.Equal(t0.Add(time.Duration(HistoryLen+4)*time.Minute+time.Second)) {
		t.Fatalf("history order: first %v last %v", h[0].End, h[len(h)-1].End)
	}
	if h[0].Duration != time.Second {
		t.Fatalf("duration %v", h[0].Duration)
	}
	if got := checks[0].Last.Messages; len(got) != 1 || got[0].Seq != HistoryLen+4 {
		t.Fatalf("messages %+v", got)
	}
	s, ok := b.Summary("r1")
	// The last interface run (HistoryLen+4, even) succeeded: all ok.
	if !ok || s.Status != 0 || s.Checks != 2 || !s.NextDue.Equal(t0.Add(30*time.Second)) ||
		!s.LastEnd.Equal(t0.Add(time.Duration(HistoryLen+4)*time.Minute+time.Second)) {
		t.Fatalf("summary %+v", s)
	}
	b.Record("r1", Run{Plugin: "uptime", Start: t0, End: t0.Add(time.Second), Status: 3, Reason: "timeout"})
	if s, _ := b.Summary("r1"); s.Status != 3 || s.Plugin != "uptime" || s.Reason != "timeout" {
		t.Fatalf("failing summary %+v", s)
	}
	if _, ok := b.Summary("nope"); ok || b.Checks("nope") != nil {
		t.Fatal("unknown resource has a record")
	}
}

func TestRetainForgetEach(t *testing.T) {
	b := New()
	for _, k := range []string{"a", "b", "c"} {
		b.Record(k, Run{Plugin: "p", End: time.Now()})
		b.Record(k, Run{Plugin: "q", End: time.Now()})
	}
	b.Retain(func(k string) bool { return k != "b" })
	b.Forget("c", "p")
	b.Forget("c", "q")
	b.Forget("zzz", "p")
	seen := map[string]int{}
	b.Each(func(k string, s Summary) { seen[k] = s.Checks })
	if len(seen) != 1 || seen["a"] != 2 || b.Len() != 1 {
		t.Fatalf("after retain and forget: %v", seen)
	}
}

// Records and reads race freely (run with -race).
func TestConcurrent(t *testing.T) {
	b := New()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				b.Record(string(rune('a'+w)), Run{Plugin: "p", End: time.Now(), Status: i % 3, Messages: []MessageRef{{Stream: "S", Seq: uint64(i)}}})
				b.Each(func(string, Summary) {})
				_ = b.Checks("a")
			}
		}()
	}
	wg.Wait()
	if b.Len() != 4 {
		t.Fatalf("len %d", b.Len())
	}
}

// A check keeps its Entry; once the book drops it (Retain, Forget) the
// entry says so, and a new Entry is what the page sees again.
func TestEntryRemoved(t *testing.T) {
	b := New()
	e := b.Entry("a", "p")
	if b.Entry("a", "p") != e {
		t.Fatal("Entry made a second record for the same check")
	}
	now := time.Now().Truncate(time.Millisecond)
	e.Record(Run{Plugin: "p", Start: now.Add(-time.Second), End: now, Status: 6})
	if c := b.Checks("a"); len(c) != 1 || c[0].Last.Status != 6 || len(c[0].History) != 1 ||
		!c[0].History[0].End.Equal(now) || c[0].History[0].Duration != time.Second || c[0].History[0].Status != 6 {
		t.Fatalf("checks %+v", c)
	}
	b.Retain(func(string) bool { return false })
	if !e.Removed() || b.Len() != 0 {
		t.Fatalf("after Retain: removed %v, len %d", e.Removed(), b.Len())
	}
	e2 := b.Entry("a", "p")
	if e2 == e || e2.Removed() {
		t.Fatal("Entry after a removal returned the dropped record")
	}
	b.Forget("a", "p")
	if !e2.Removed() {
		t.Fatal("Forget left the entry unmarked")
	}
}

// A check with an interval under SampleEvery adds one point per
// SampleEvery: the runs in it, how many failed, the last failure's status,
// the longest duration and the last end. The point being filled is the
// history's newest, and the history still holds HistoryLen points at most.
func TestHistorySampled(t *testing.T) {
	b := New()
	e := b.Entry("r", "uptime")
	t0 := time.Unix(1_800_000_000, 0)
	run := func(i int, status int, dur time.Duration) Run {
		end := t0.Add(time.Duration(i) * time.Second)
		return Run{Plugin: "uptime", Interval: time.Second, Start: end.Add(-dur), End: end, Status: status, NextDue: end.Add(time.Second)}
	}
	for i := range 10 { // 0..9 s: one point
		status := 0
		if i == 3 || i == 6 {
			status = 2 + i/6 // 2, then 3
		}
		e.Record(run(i, status, time.Duration(i+1)*time.Millisecond))
	}
	h := b.Checks("r")[0].History
	if len(h) != 1 || h[0].Runs != 10 || h[0].Failed != 2 || h[0].Status != 3 || h[0].Duration != 10*time.Millisecond ||
		!h[0].End.Equal(t0.Add(9*time.Second)) {
		t.Fatalf("one sampled point: %+v", h)
	}
	e.Record(run(10, 0, time.Millisecond)) // 10 s after the point's first run: a new point
	c := b.Checks("r")[0]
	if h := c.History; len(h) != 2 || h[1].Runs != 1 || h[1].Status != 0 || h[1].Failed != 0 || h[0].Runs != 10 {
		t.Fatalf("after the next point opened: %+v", h)
	}
	if c.Last.Status != 0 || !c.Last.End.Equal(t0.Add(10*time.Second)) || !c.Last.NextDue.Equal(t0.Add(11*time.Second)) || c.Last.Interval != time.Second {
		t.Fatalf("last %+v", c.Last)
	}
	for i := 11; i < 11+10*HistoryLen; i++ {
		e.Record(run(i, 0, time.Millisecond))
	}
	h = b.Checks("r")[0].History
	if len(h) != HistoryLen || h[len(h)-1].Runs != 1 || h[len(h)-2].Runs != 10 {
		t.Fatalf("full history: %d points, newest %+v", len(h), h[len(h)-1])
	}
	for i := 1; i < len(h); i++ {
		if !h[i].End.After(h[i-1].End) {
			t.Fatalf("history out of order at %d: %v then %v", i, h[i-1].End, h[i].End)
		}
	}
}

// A check at SampleEvery or longer adds a point per run; a run's Messages
// are copied, so the caller may reuse the array; a zero NextDue stays zero.
func TestHistoryPerRunAndMessagesCopied(t *testing.T) {
	b := New()
	e := b.Entry("r", "iface")
	t0 := time.Unix(1_800_000_000, 0)
	refs := []MessageRef{{Stream: "S", Seq: 1}}
	e.Record(Run{Plugin: "iface", Interval: SampleEvery, Start: t0, End: t0.Add(time.Second), Messages: refs})
	refs[0].Seq = 99
	e.Record(Run{Plugin: "iface", Interval: SampleEvery, Start: t0.Add(time.Second), End: t0.Add(1500 * time.Millisecond), Status: 3, Messages: refs[:0]})
	c := b.Checks("r")[0]
	if len(c.History) != 2 || c.History[0].Runs != 1 || c.History[1].Status != 3 || c.History[1].Failed != 1 ||
		c.History[1].Duration != 500*time.Millisecond {
		t.Fatalf("history %+v", c.History)
	}
	if len(c.Last.Messages) != 0 || !c.Last.NextDue.IsZero() || c.Last.Status != 3 {
		t.Fatalf("last %+v", c.Last)
	}
	e.Record(Run{Plugin: "iface", Interval: SampleEvery, Start: t0, End: t0.Add(time.Second), Messages: refs})
	refs[0].Seq = 7
	if got := b.Checks("r")[0].Last.Messages; len(got) != 1 || got[0].Seq != 99 {
		t.Fatalf("messages %+v: the entry kept the caller's array", got)
	}
}

// TestRingCompact: the closed points take 9 bytes each; their durations
// come back exact to the microsecond up to 4 ms and to three digits
// beyond, their ends to the millisecond, also after the clock went back
// or jumped by more than the ring's 49 days.
func TestRingCompact(t *testing.T) {
	if n := unsafe.Sizeof(ring{}); n != 9*HistoryLen {
		t.Errorf("ring of %d bytes, want %d", n, 9*HistoryLen)
	}
	for d, want := range map[time.Duration]time.Duration{
		0: 0, -time.Second: 0, 999 * time.Nanosecond: 0, 4095 * time.Microsecond: 4095 * time.Microsecond,
		time.Second: time.Second, 500 * time.Millisecond: 500 * time.Millisecond,
		1234567 * time.Microsecond: 1234 * time.Millisecond, 2 * time.Hour: 2 * time.Hour,
		71 * time.Minute: 71 * time.Minute, 1 << 62: 4095 * 1e9 * time.Microsecond,
	} {
		if got := durOf(durCode(d)); got != want {
			t.Errorf("duration %v comes back %v, want %v", d, got, want)
		}
	}

	b := New()
	e := b.Entry("r", "p")
	t0 := time.Unix(1_800_000_000, 123_456_789)
	ends := []time.Time{t0, t0.Add(time.Minute), t0.Add(-time.Hour), t0.Add(60 * 24 * time.Hour), t0.Add(61 * 24 * time.Hour)}
	for i, end := range ends {
		e.Record(Run{Plugin: "p", Interval: time.Minute, Start: end.Add(-time.Second), End: end, Status: i})
	}
	e.Record(Run{Plugin: "p", Interval: time.Minute, Start: t0, End: t0.Add(62 * 24 * time.Hour)})
	h := b.Checks("r")[0].History
	if len(h) != len(ends)+1 {
		t.Fatalf("%d points, want %d", len(h), len(ends)+1)
	}
	for i, end := range ends {
		want := end.Truncate(time.Millisecond)
		if i < 3 { // more than 49 days before the newest: at the range's start
			want = ends[4].Add(-(1<<32 - 1) * time.Millisecond).Truncate(time.Millisecond)
		}
		if !h[i].End.Equal(want) || h[i].Status != i || h[i].Duration != time.Second || h[i].Runs != 1 {
			t.Errorf("point %d: %+v, want end %v, status %d, 1s, 1 run", i, h[i], want, i)
		}
	}
}
