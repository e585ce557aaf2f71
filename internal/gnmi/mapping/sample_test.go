package mapping_test

import (
	"slices"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/gnmi/mapping"
	"github.com/panoptes-go/panoptes/internal/metric"
)

// TestBuildHoldsAPartialSample: a Build in the middle of a target's sample
// (its burst delivered in two parts, a flush between them) publishes the
// rows that are complete and holds the one cut in two until the rest
// comes, so each row goes out once per sample with that sample's values;
// a row missing a leaf for good goes out after half an interval; a row
// whose next sample is late is not published again with the old values.
func TestBuildHoldsAPartialSample(t *testing.T) {
	set := shipped(t).Select(func(g *mapping.Group) bool { return g.Type == "interface" })
	st := set.NewState(mapping.Options{Name: "sw1"})
	const iv = 10 * time.Second
	t0 := time.Unix(1_800_000_000, 0)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	ts := func(s float64) int64 { return at(s).UnixNano() }
	build := func(s float64) []*metric.Group { return st.Build(testResource, iv, at(s), false) }

	for i, s := range []float64{0, 10} { // two whole samples: what a sample holds is learned
		for _, n := range sampleTick(ts(s)) {
			st.Notification(n)
		}
		if gs := build(s + 0.5); len(gs) != 55 {
			t.Fatalf("sample %d: %d groups, want 55", i, len(gs))
		}
	}

	tick := sampleTick(ts(20))
	perRow := len(tick) / 55
	cut := 27*perRow + 5 // the 28th interface's row cut after 5 leaves
	for _, n := range tick[:cut] {
		st.Notification(n)
	}
	first := build(20.5)
	if len(first) != 27 {
		t.Errorf("a Build in the middle of a sample: %d groups, want the 27 complete rows", len(first))
	}
	for _, n := range tick[cut:] {
		st.Notification(n)
	}
	second := build(21.5)
	if len(second) != 28 {
		t.Errorf("after the rest of the sample: %d groups, want the 28 other rows", len(second))
	}
	seen := map[string]int{}
	for _, g := range append(first, second...) {
		seen[g.Dimension("interface_name")]++
		for _, m := range g.Metrics {
			if m.Type == metric.Counter && m.Timestamp != 1_800_000_020 {
				t.Errorf("%s %s stamped %.3f: a value of another sample", g.Dimension("interface_name"), m.Name, m.Timestamp)
			}
		}
	}
	if len(seen) != 55 {
		t.Errorf("%d rows published for the sample, want 55", len(seen))
	}
	for name, n := range seen {
		if n != 1 {
			t.Errorf("row %s published %d times for one sample", name, n)
		}
	}

	// A leaf that no longer comes: the row waits half an interval, then
	// goes out without it.
	tick = sampleTick(ts(30))
	for _, n := range tick[1:] {
		st.Notification(n)
	}
	if gs := build(30.5); len(gs) != 54 {
		t.Errorf("a sample missing one leaf of a row: %d groups, want 54 (the row held)", len(gs))
	}
	if gs := build(33); len(gs) != 0 {
		t.Errorf("2.5 s later: %d groups, want 0 (still held)", len(gs))
	}
	if gs := build(35.5); len(gs) != 1 {
		t.Errorf("half an interval later: %d groups, want the held row", len(gs))
	}

	// The next sample 13 s late: nothing is published again meanwhile.
	if gs := build(49); len(gs) != 0 {
		t.Errorf("a late sample: %d rows published again with their old values", len(gs))
	}
	// Three intervals without a sample: the rows are quiet, published again.
	if gs := build(66); len(gs) != 55 {
		t.Errorf("three intervals without a sample: %d groups, want 55", len(gs))
	}
}

// TestBuildHeldAtTheEnd: when the stream ends (stop, handover) in the
// middle of a sample, BuildHeld publishes the row waiting for the rest of
// it, which will not come on this stream, and nothing else; a Build would
// have held it.
func TestBuildHeldAtTheEnd(t *testing.T) {
	set := shipped(t).Select(func(g *mapping.Group) bool { return g.Type == "interface" })
	st := set.NewState(mapping.Options{Name: "sw1"})
	const iv = 10 * time.Second
	t0 := time.Unix(1_800_000_000, 0)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	for _, s := range []float64{0, 10} {
		for _, n := range sampleTick(at(s).UnixNano()) {
			st.Notification(n)
		}
		st.Build(testResource, iv, at(s+0.5), false)
	}
	tick := sampleTick(at(20).UnixNano())
	cut := 27*(len(tick)/55) + 5 // the 28th interface cut after 5 leaves
	for _, n := range tick[:cut] {
		st.Notification(n)
	}
	if gs := st.Build(testResource, iv, at(20.5), false); len(gs) != 27 {
		t.Fatalf("a Build in the middle of a sample: %d groups, want 27", len(gs))
	}
	if gs := st.Build(testResource, iv, at(20.6), false); len(gs) != 0 {
		t.Fatalf("the next Build: %d groups, want 0 (the cut row held)", len(gs))
	}
	gs := st.BuildHeld(testResource, iv, at(20.7))
	if len(gs) != 1 {
		t.Fatalf("BuildHeld: %d groups, want the held row", len(gs))
	}
	if gs[0].Dimension("interface_name") == "" {
		t.Errorf("held row without its name: %+v", gs[0])
	}
	if gs := st.BuildHeld(testResource, iv, at(20.8)); len(gs) != 0 {
		t.Errorf("BuildHeld again: %d groups, want 0", len(gs))
	}
}

// TestBuildQuietRow: a row updated once (an on-change leaf) is published
// again an interval and a quarter later, and every interval after, while
// the flush ticks between find nothing to publish.
func TestBuildQuietRow(t *testing.T) {
	set := shipped(t).Select(func(g *mapping.Group) bool { return g.Type == "interface" })
	st := set.NewState(mapping.Options{Name: "sw1"})
	t0 := time.Unix(1_800_000_000, 0)
	for _, n := range sampleTick(t0.UnixNano())[:24] { // one interface
		st.Notification(n)
	}
	var at []int
	for s := 0; s <= 40; s++ { // a flush tick a second
		if gs := st.Build(testResource, 10*time.Second, t0.Add(time.Duration(s)*time.Second), false); len(gs) > 0 {
			if len(gs) != 1 {
				t.Fatalf("%d s: %d groups", s, len(gs))
			}
			at = append(at, s)
		}
	}
	// 0: the update; 12: quiet (≥ 12 s without one); then each 10 s.
	if want := []int{0, 12, 22, 32}; !slices.Equal(at, want) {
		t.Errorf("published at %v s, want %v", at, want)
	}
}

// BenchmarkBuildIdle is a flush tick of a 55-port switch with nothing new.
func BenchmarkBuildIdle(b *testing.B) {
	set := shipped(b).Select(func(g *mapping.Group) bool { return g.Type == "interface" })
	st := set.NewState(mapping.Options{Name: "sw1"})
	now := time.Unix(1_800_000_000, 0)
	for _, n := range sampleTick(now.UnixNano()) {
		st.Notification(n)
	}
	st.Build(testResource, 10*time.Second, now, false)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if len(st.Build(testResource, 10*time.Second, now.Add(time.Second), false)) != 0 {
			b.Fatal("groups on an idle tick")
		}
	}
}
