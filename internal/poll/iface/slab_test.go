package iface

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/poll/polltest"
)

// TestCountMetricsMatchesAppend: build sizes its slab from countMetrics,
// which must say exactly what appendMetrics (and configured_speed) emit,
// for every field present or absent: each field alone, all but each one,
// and random combinations, with and without dot3.
func TestCountMetricsMatchesAppend(t *testing.T) {
	var masks []uint64
	all := uint64(1)<<numFields - 1
	masks = append(masks, 0, all)
	for f := range numFields {
		masks = append(masks, 1<<f, all&^(1<<f))
	}
	rng := rand.New(rand.NewPCG(15, 2026))
	for range 20000 {
		m := rng.Uint64() & all
		if rng.IntN(2) == 0 {
			m &= rng.Uint64() // sparser rows
		}
		masks = append(masks, m)
	}
	rs := &rows{haveUptime: true, uptime: 7}
	for _, mask := range masks {
		r := ifRow{index: 1, have: mask}
		for f := range numFields {
			r.num[f] = rng.Uint64N(5) // admin and oper equal or not
		}
		for _, dot3 := range []bool{false, true} {
			ms := rs.appendMetrics(nil, &r, dot3)
			if _, _, ok := configuredSpeed(&r); ok {
				ms = append(ms, metric.Metric{Type: metric.Gauge})
			}
			counters := 0
			for _, m := range ms {
				if m.Type == metric.Counter {
					counters++
				}
			}
			gotM, gotC := countMetrics(&r, dot3)
			if gotM != len(ms) || gotC != counters {
				t.Fatalf("fields %#x, dot3 %v: counted %d metrics (%d counters), appendMetrics emits %d (%d)",
					mask, dot3, gotM, gotC, len(ms), counters)
			}
		}
	}
}

// sparseDevice is a device whose rows differ in what they hold: Ethernet
// ports with dot3 rows, ports without the HC counters, VLANs without dot3
// or ifXTable rows, a row with only a name, and one excluded by name.
func sparseDevice() []port {
	var ps []port
	for i := 1; i <= 12; i++ {
		ps = append(ps, port{idx: i, descr: fmt.Sprintf("Gi0/%d", i), name: fmt.Sprintf("Gi0/%d", i),
			alias: "uplink", ifType: 6, mtu: 1500, speed: 1_000_000_000, highSpeed: 1000, admin: 1, oper: 1 + i%2,
			base: uint64(i) << 24, noHC: i%3 == 0, noNUcast: i%4 == 0, noMcast32: i%5 == 0})
	}
	for _, v := range []int{100, 200} {
		ps = append(ps, port{idx: 1000 + v, descr: fmt.Sprintf("Vlan%d", v), name: fmt.Sprintf("Vl%d", v),
			ifType: 53, mtu: 1500, speed: 1_000_000_000, highSpeed: 1000, admin: 1, oper: 2, base: 7, noDot3: true, noX: v == 200})
	}
	ps = append(ps, port{idx: 5000, descr: "Null0", name: "Nu0", ifType: 1, mtu: 1500, speed: 4294967295,
		admin: 1, oper: 1, noDot3: true})
	return ps
}

// TestBuildSlabExact: the groups of one build lie end to end in one metric
// slab, each with exactly the room it needs (its rate gauges' with rates
// on): a count short would move a group to a second array, a count over
// would leave a gap. Rows differ in what they hold (dot3 or not, HC or not,
// excluded, a name only), with rates on and off, dot3 on and off.
func TestBuildSlabExact(t *testing.T) {
	walks := device(sparseDevice()...)
	// A row with only a name (ifXTable's ifName, nothing else): no group.
	walks[ifXTable.root] = append(walks[ifXTable.root], vbStr(col(ifXTable, 1, 9999), "ghost"))
	for _, dot3 := range []bool{false, true} {
		for _, rateRoom := range []bool{false, true} {
			for _, exclude := range [][]string{nil, {"Gi0/1?", "Nu*"}} {
				name := fmt.Sprintf("dot3=%v/rates=%v/exclude=%v", dot3, rateRoom, exclude)
				opts := &interfaceOptions{includeDot3: dot3, exclude: exclude}
				rs := newRows(4)
				for _, tb := range []*table{ifTable, ifXTable, dot3StatsTable} {
					rs.add(tb, walks[tb.root], 1535497113.5, tb != dot3StatsTable)
				}
				groups := rs.build(polltest.Resource, 60, 1535497112.075, opts, rateRoom)
				rs.release()
				if len(groups) == 0 {
					t.Fatalf("%s: no groups", name)
				}
				checkContiguous(t, name, groups, rateRoom)
			}
		}
	}
}

// checkContiguous fails unless groups' metrics (and room) follow each
// other in one array without gaps, and the room is one slot a counter.
func checkContiguous(t *testing.T, name string, groups []*metric.Group, rateRoom bool) {
	t.Helper()
	size := unsafe.Sizeof(metric.Metric{})
	for i, g := range groups {
		counters := 0
		for _, m := range g.Metrics {
			if m.Type == metric.Counter {
				counters++
			}
		}
		want := 0
		if rateRoom {
			want = counters
		}
		if room := cap(g.Metrics) - len(g.Metrics); room != want {
			t.Errorf("%s: group %d: room for %d, want %d", name, i, room, want)
		}
		if i == 0 {
			continue
		}
		prev := groups[i-1].Metrics
		end := uintptr(unsafe.Pointer(unsafe.SliceData(prev))) + uintptr(cap(prev))*size
		if start := uintptr(unsafe.Pointer(unsafe.SliceData(g.Metrics))); start != end {
			t.Errorf("%s: group %d does not follow group %d in the slab (%#x, want %#x): a count was wrong", name, i, i-1, start, end)
		}
	}
}

// TestBuildAllocatesOnce: a build allocates its metric slab once, sized to
// what it holds: the bytes of a build are within a few hundred of the
// groups', dimensions' and metrics' (with rate room) own.
func TestBuildAllocatesOnce(t *testing.T) {
	walks := fortyEightPorts()
	opts := &interfaceOptions{includeDot3: true}
	for _, rateRoom := range []bool{false, true} {
		var groups []*metric.Group
		allocs := testing.AllocsPerRun(20, func() {
			rs := newRows(4)
			for _, tb := range []*table{ifTable, ifXTable, dot3StatsTable} {
				rs.add(tb, walks[tb.root], 1535497113.5, tb != dot3StatsTable)
			}
			groups = rs.build(polltest.Resource, 60, 1535497112.075, opts, rateRoom)
			rs.release()
		})
		checkContiguous(t, fmt.Sprintf("rates=%v", rateRoom), groups, rateRoom)
		// rows.add allocates the name strings (3 a row) and the rows when the
		// pool is empty; build the four slabs and the port speed names.
		if limit := float64(3*len(groups) + 16); allocs > limit {
			t.Errorf("rates=%v: %.0f allocations a build of %d groups, want at most %.0f", rateRoom, allocs, len(groups), limit)
		}
	}
}
