package rate

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"runtime"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/resource"
)

// discPerPortSet is realisticSet with its own discontinuity time on each
// interface (subinterfaces, SVIs and tunnels made after boot, counters
// cleared port by port): ~10 column timestamps × 55 interfaces.
func discPerPortSet(res *resource.Resource, poll int) *metric.GroupSet {
	set := realisticSet(res, poll)
	for i, g := range set.Groups {
		for j := range g.Metrics {
			g.Metrics[j].Hint.Discontinuity = uint32(1000 + 17*i)
		}
	}
	return set
}

// stampPerIfaceSet is a gNMI target's interfaces: each interface's
// counters stamped with its own leaf timestamp (mapping/build.go), each
// with its discontinuity time (its last-clear).
func stampPerIfaceSet(res *resource.Resource, ifaces, poll int) *metric.GroupSet {
	names := []string{"in_octets", "out_octets", "in_unicast_pkts", "out_unicast_pkts",
		"in_errors", "out_errors", "in_discards", "out_discards"}
	set := &metric.GroupSet{}
	for i := range ifaces {
		at := 1.7e9 + float64(30*poll) + float64(i)*0.0007
		g := &metric.Group{Resource: res, Type: "interface", Interval: 30, Metrics: make([]metric.Metric, 0, 2*len(names)),
			Dimensions: []metric.Dimension{{Name: "interface_name", Value: fmt.Sprintf("Ethernet%d/%d", 1+i/48, 1+i%48)}}}
		for c, name := range names {
			g.Metrics = append(g.Metrics, metric.Metric{Name: name, Value: metric.Uint(uint64(poll*(1000+c*i)) + uint64(c)<<40),
				Type: metric.Counter, Timestamp: at,
				Hint: metric.Hint{Bits: 64, HaveDiscontinuity: true, Discontinuity: uint32(i)}})
		}
		set.Groups = append(set.Groups, g)
	}
	return set
}

// heldPerSeries applies polls of devices (3 each) to a new Processor and
// returns the heap it holds per series after a GC, the series in the
// table by hash, and the series rated at the last poll.
func heldPerSeries(devices int, mk func(res *resource.Resource, poll int) *metric.GroupSet) (perSeries float64, inTable, rated, series int) {
	ctx := context.Background()
	sets := make([][3]*metric.GroupSet, devices)
	for i := range sets {
		res := *testRes
		res.ID = fmt.Sprintf("dev%d", i)
		for poll := range 3 {
			sets[i][poll] = mk(&res, poll+1)
		}
		for _, g := range sets[i][0].Groups {
			for _, m := range g.Metrics {
				if m.Type == metric.Counter {
					series++
				}
			}
		}
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	p := New(Options{})
	for poll := range 3 {
		for i := range sets {
			p.Apply(ctx, sets[i][poll], All(), time.Now())
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	perSeries = float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(series)
	for _, st := range p.res {
		inTable += st.series.len()
	}
	for i := range sets {
		rated += len(ratesOf(sets[i][2]))
	}
	runtime.KeepAlive(p)
	runtime.KeepAlive(sets)
	return perSeries, inTable, rated, series
}

// A discontinuity time per interface, or a timestamp per interface, does
// not multiply a resource's stamps: every series stays by position (none
// in the table by hash, which a stamp index of one byte and the
// discontinuity time in the stamp sent 732 of a switch48's 1,397 to, and
// every one of 500 gNMI interfaces' beyond the 255th stamp), every series
// is rated, and the state holds about what a switch with one
// discontinuity time does (~10 bytes a series), or with a stamp and a row
// per interface of 8 counters ~16 (the table by hash: 20 and more).
func TestStampsPerInterface(t *testing.T) {
	for _, c := range []struct {
		name    string
		devices int
		maxHeld float64 // bytes a series
		mk      func(res *resource.Resource, poll int) *metric.GroupSet
	}{
		{"switch48 discontinuity per port", 20, 14, discPerPortSet},
		{"500 interfaces timestamp per interface", 8, 18, func(res *resource.Resource, poll int) *metric.GroupSet {
			return stampPerIfaceSet(res, 500, poll)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			per, inTable, rated, series := heldPerSeries(c.devices, c.mk)
			if inTable != 0 {
				t.Errorf("%d of %d series in the table by hash, want 0", inTable, series)
			}
			if rated != series {
				t.Errorf("%d of %d series rated at the third poll", rated, series)
			}
			if per > c.maxHeld {
				t.Errorf("%.1f bytes held a series, want at most %.0f", per, c.maxHeld)
			}
			t.Logf("%.1f bytes a series, %d series", per, series)
		})
	}
}

// A flush and a restart keep the rates of a resource with hundreds of
// stamps (16-bit stamp indexes in the entry) and a discontinuity time per
// interface; a discontinuity on one interface is seen after the restart.
func TestStateEncodingWideStamps(t *testing.T) {
	ctx := context.Background()
	res := *testRes
	p := New(Options{})
	p.Apply(ctx, stampPerIfaceSet(&res, 300, 1), All(), time.Now())
	p.Apply(ctx, stampPerIfaceSet(&res, 300, 2), All(), time.Now())
	st := p.res[res.Key()]
	if n := len(st.pos.stamps); n <= 255 {
		t.Fatalf("%d stamps, want over 255", n)
	}
	want := map[uint64]sample{}
	st.pos.each(func(k uint64, s sample) { want[k] = s })
	b := encodeState(nil, st, time.Hour)
	got := &resState{key: st.key, loaded: true}
	if err := decodeState(b, got); err != nil {
		t.Fatal(err)
	}
	n := 0
	got.pos.each(func(k uint64, s sample) {
		if s != want[k] {
			t.Errorf("series %x = %+v, want %+v", k, s, want[k])
		}
		n++
	})
	if n != len(want) || got.series.len() != 0 {
		t.Errorf("%d series by position and %d by hash, want %d and 0", n, got.series.len(), len(want))
	}
	for cut := 0; cut < len(b); cut += 1 + cut/256 { // every byte of the head, then spread
		if err := decodeState(b[:cut], &resState{key: st.key}); err == nil {
			t.Fatalf("cut to %d of %d bytes decoded", cut, len(b))
		}
	}
	q := New(Options{})
	q.res[st.key] = got
	set := stampPerIfaceSet(&res, 300, 3)
	for j := range set.Groups[7].Metrics {
		set.Groups[7].Metrics[j].Hint.Discontinuity++
	}
	q.Apply(ctx, set, All(), time.Now())
	if rates, wantRates := len(ratesOf(set)), 8*299; rates != wantRates {
		t.Errorf("%d rates after the restart, want %d (all but the interface with a discontinuity)", rates, wantRates)
	}
}

// encodeV3 is st's state by position as version 3 wrote it: the
// discontinuity time in each stamp, disc's for series j of slot k when
// disc gives one.
func encodeV3(t *testing.T, st *resState, disc func(k, j int) (uint32, bool)) []byte {
	type s3 struct {
		pstamp
		disc uint32
	}
	var stamps []s3
	idx := func(s s3) uint8 {
		for i, x := range stamps {
			if x == s {
				return uint8(i)
			}
		}
		stamps = append(stamps, s)
		if len(stamps) > 255 {
			t.Fatal("over 255 version 3 stamps")
		}
		return uint8(len(stamps) - 1)
	}
	ps := &st.pos
	var body []byte
	var shapes []*shape
	for _, sl := range ps.slots {
		if !containsShape(shapes, sl.shape) {
			shapes = append(shapes, sl.shape)
		}
	}
	body = binary.AppendUvarint(body, uint64(len(shapes)))
	for _, sh := range shapes {
		body = binary.AppendUvarint(body, uint64(len(sh.names)))
		for _, n := range sh.names {
			body = binary.AppendUvarint(body, uint64(len(n)))
			body = append(body, n...)
		}
	}
	body = binary.AppendUvarint(body, uint64(len(ps.slots)))
	for _, sl := range ps.slots {
		body = binary.BigEndian.AppendUint64(body, sl.hash)
		for i, sh := range shapes {
			if sh == sl.shape {
				body = binary.AppendUvarint(body, uint64(i))
			}
		}
	}
	off := 0
	for k, sl := range ps.slots {
		for j, x := range ps.row(k) {
			if x == absent {
				body = append(body, 0xFF)
			} else {
				s := s3{pstamp: ps.stamps[x]}
				if s.flags&flagDisc != 0 {
					s.disc = sl.disc
					if d, ok := disc(k, j); ok {
						s.disc = d
					}
				}
				body = append(body, idx(s))
				body = binary.AppendUvarint(body, ps.value(sl.shape, j, off))
			}
		}
		off += sl.shape.units
	}
	b := []byte{stateMagic, 3}
	b = binary.BigEndian.AppendUint16(b, uint16(len(st.key)))
	b = append(b, st.key...)
	b = append(b, uint8(len(stamps)))
	for _, s := range stamps {
		b = binary.BigEndian.AppendUint64(b, math.Float64bits(s.at))
		b = binary.BigEndian.AppendUint32(b, s.uptime)
		b = binary.BigEndian.AppendUint32(b, s.disc)
		b = append(b, s.flags)
	}
	b = append(b, body...)
	return encodeTable(b, st.series)
}

func containsShape(shapes []*shape, s *shape) bool {
	for _, x := range shapes {
		if x == s {
			return true
		}
	}
	return false
}

// A version 3 entry (the discontinuity time in its stamps) is still read:
// every sample as written, and a series whose discontinuity time is not
// its group's first (which version 4 cannot hold by position) by hash.
func TestStateEncodingReadsV3(t *testing.T) {
	ctx := context.Background()
	res := *testRes
	p := New(Options{})
	for poll := range 2 { // 20 interfaces: 200 stamps with their discontinuity times
		set := discPerPortSet(&res, poll+1)
		set.Groups = set.Groups[:20]
		p.Apply(ctx, set, All(), time.Now())
	}
	st := p.res[res.Key()]
	want := map[uint64]sample{}
	st.pos.each(func(k uint64, s sample) { want[k] = s })
	// Mixed: series 1 of the third interface with another discontinuity
	// time than the others'.
	mixed := seriesHash(st.pos.slots[2].hash, st.pos.slots[2].shape.names[1])
	for _, mix := range []bool{false, true} {
		b := encodeV3(t, st, func(k, j int) (uint32, bool) { return 0, false })
		if mix {
			s := want[mixed]
			s.disc++
			want[mixed] = s
			b = encodeV3(t, st, func(k, j int) (uint32, bool) { return s.disc, k == 2 && j == 1 })
		}
		got := &resState{key: st.key, loaded: true}
		if err := decodeState(b, got); err != nil {
			t.Fatalf("mixed %v: %v", mix, err)
		}
		n := 0
		each := func(k uint64, s sample) {
			if s != want[k] {
				t.Errorf("mixed %v: series %x = %+v, want %+v", mix, k, s, want[k])
			}
			n++
		}
		got.pos.each(each)
		got.series.each(each)
		if n != len(want) {
			t.Errorf("mixed %v: %d series, want %d", mix, n, len(want))
		}
		if inTable := got.series.len(); mix && inTable != 1 || !mix && inTable != 0 {
			t.Errorf("mixed %v: %d series by hash", mix, inTable)
		}
	}
}

// BenchmarkStateBytesPerSeriesDiscPerPort is BenchmarkStateBytesPerSeriesSwitch48
// with a discontinuity time per interface (50 switches).
func BenchmarkStateBytesPerSeriesDiscPerPort(b *testing.B) {
	var per float64
	var inTable int
	for range b.N {
		per, inTable, _, _ = heldPerSeries(50, discPerPortSet)
	}
	b.ReportMetric(per, "B/series")
	b.ReportMetric(float64(inTable), "in-table")
}

// BenchmarkStateBytesPerSeriesStampPerIface is 1,000 interfaces of 8
// counters each stamped with its own time (gNMI; 10 devices).
func BenchmarkStateBytesPerSeriesStampPerIface(b *testing.B) {
	var per float64
	var inTable int
	for range b.N {
		per, inTable, _, _ = heldPerSeries(10, func(res *resource.Resource, poll int) *metric.GroupSet {
			return stampPerIfaceSet(res, 1000, poll)
		})
	}
	b.ReportMetric(per, "B/series")
	b.ReportMetric(float64(inTable), "in-table")
}

// BenchmarkApplyDiscPerPort is one discPerPortSet poll rated.
func BenchmarkApplyDiscPerPort(b *testing.B) {
	benchApply(b, discPerPortSet)
}

// BenchmarkApplyStampPerIface is one poll of 1,000 interfaces each
// stamped with its own time rated (8,000 series).
func BenchmarkApplyStampPerIface(b *testing.B) {
	benchApply(b, func(res *resource.Resource, poll int) *metric.GroupSet { return stampPerIfaceSet(res, 1000, poll) })
}

func benchApply(b *testing.B, mk func(res *resource.Resource, poll int) *metric.GroupSet) {
	p := New(Options{})
	ctx := context.Background()
	res := *testRes
	p.Apply(ctx, mk(&res, 0), All(), time.Now())
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		b.StopTimer()
		set := mk(&res, i)
		b.StartTimer()
		p.Apply(ctx, set, All(), time.Now())
	}
}

// Counters of one group with different discontinuity times (no plugin
// emits that: the time is the interface's) are rated as by series hash:
// the first's is the slot's, the other goes to the table; a discontinuity
// of either is seen.
func TestLayoutDiscontinuityWithinGroup(t *testing.T) {
	p := New(Options{})
	o := &oracle{maxGap: 3}
	discs := [2]uint32{5, 9}
	for poll := range 6 {
		if poll == 3 {
			discs[1]++
		}
		if poll == 4 {
			discs[0]++
		}
		at := float64(100 + 60*poll)
		g := ifGroup("Gi0/1", at, uint64(1000*poll), metric.Hint{Bits: 64, HaveDiscontinuity: true, Discontinuity: discs[0]}, 0)
		g.Metrics = append(g.Metrics, metric.Metric{Name: "bits_out", Value: metric.Uint(uint64(3000 * poll)),
			Type: metric.Counter, Timestamp: at, Hint: metric.Hint{Bits: 64, HaveDiscontinuity: true, Discontinuity: discs[1]}})
		check(t, fmt.Sprintf("poll %d", poll), p, o, &metric.GroupSet{Groups: []*metric.Group{g}})
	}
	if n := p.res[testRes.Key()].series.len(); n != 1 {
		t.Errorf("%d series by hash, want 1 (bits_out)", n)
	}
}
