package rate

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/resource"
)

// realisticSet is a switch48's interface poll with every counter rated: 55
// interfaces (Vlan1, 52 ports, management, Null0) of ~25 counters (10
// Counter64, the others Counter32 and mostly zero), each column read at
// its own time, sysUpTime and a discontinuity time on each, the interface
// plugin's five dimensions: ~1,400 series, as in the harness.
func realisticSet(res *resource.Resource, poll int) *metric.GroupSet {
	names := []string{"bits_in", "bits_out", "unicast_packets_in", "unicast_packets_out", "multicast_packets_in",
		"multicast_packets_out", "broadcast_packets_in", "broadcast_packets_out", "total_packets_in", "total_packets_out",
		"errors_in", "errors_out", "discards_in", "discards_out", "unknown_protos_in",
		"alignment_errors", "fcs_errors", "single_collision_frames", "multiple_collision_frames", "sqe_test_errors",
		"deferred_transmissions", "late_collisions", "excessive_collisions", "internal_mac_transmit_errors",
		"carrier_sense_errors", "frame_too_longs"}
	ports := []string{"Vl1"}
	for p := 1; p <= 52; p++ {
		ports = append(ports, fmt.Sprintf("Gi1/0/%d", p))
	}
	ports = append(ports, "Fa0", "Nu0")
	at := 1.7e9 + float64(60*poll)
	set := &metric.GroupSet{}
	for i, port := range ports {
		g := &metric.Group{Resource: res, Type: "interface", Interval: 60, Metrics: make([]metric.Metric, 0, 2*len(names)+1),
			Dimensions: []metric.Dimension{{Name: "interface_name", Value: port}, {Name: "alias", Value: "access: desk 2F-" + port},
				{Name: "description", Value: "GigabitEthernet" + port}, {Name: "media_type", Value: "ethernetCsmacd"},
				{Name: "port_speed", Value: "1G"}}}
		n := len(names)
		if i == 0 || i >= 53 {
			n = 15 // no dot3 counters
		}
		for c, name := range names[:n] {
			bits, v := uint8(64), uint64(poll*(1000+c*i))+uint64(c)<<40 // ifXTable's HC columns, and their totals
			if c >= 10 {                                                // ifTable's errors, discards, unknown protocols; dot3: Counter32, mostly zero
				bits, v = 32, 0
				if (c+i)%8 == 0 { // one in eight at 1-4/s, as the simulator's
					v = uint64(60 * poll * (1 + c%4))
				}
			}
			g.Metrics = append(g.Metrics, metric.Metric{Name: name, Value: metric.Uint(v),
				Type: metric.Counter, Timestamp: at + float64(c%10)*0.013,
				Hint: metric.Hint{Bits: bits, HaveUptime: true, Uptime: uint32(45*86400*100 + 6000*poll), HaveDiscontinuity: true}})
		}
		g.Metrics = append(g.Metrics, metric.Metric{Name: "configured_speed", Value: metric.Uint(1e9), Type: metric.Gauge, Timestamp: at})
		set.Groups = append(set.Groups, g)
	}
	return set
}

// BenchmarkStateBytesPerSeriesSwitch48 is the memory held per rated series
// with realisticSet's polls: 100 switches, polled three times, heap
// measured after a GC.
func BenchmarkStateBytesPerSeriesSwitch48(b *testing.B) {
	ctx := context.Background()
	const switches = 100
	var perSeries float64
	for range b.N {
		sets := make([][3]*metric.GroupSet, switches)
		series := 0
		for i := range sets {
			res := *testRes
			res.ID = fmt.Sprintf("sw%d", i)
			for poll := range 3 {
				sets[i][poll] = realisticSet(&res, poll+1)
			}
			for _, g := range sets[i][0].Groups {
				series += len(g.Metrics) - 1
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
		perSeries = float64(after.HeapAlloc-before.HeapAlloc) / float64(series)
		runtime.KeepAlive(p)
		runtime.KeepAlive(sets)
	}
	b.ReportMetric(perSeries, "B/series")
}

// BenchmarkApplyRealSwitch48 is one realisticSet poll rated (~1,400
// series).
func BenchmarkApplyRealSwitch48(b *testing.B) { benchApply(b, realisticSet) }

// BenchmarkEncodeRealSwitch48 is a flush's KV entry of a realisticSet
// resource: its bytes a series and the time to encode it.
func BenchmarkEncodeRealSwitch48(b *testing.B) {
	ctx := context.Background()
	res := *testRes
	p := New(Options{})
	p.Apply(ctx, realisticSet(&res, 1), All(), time.Now())
	p.Apply(ctx, realisticSet(&res, 2), All(), time.Now())
	st := p.res[res.Key()]
	series := 0
	for _, g := range realisticSet(&res, 1).Groups {
		series += len(g.Metrics) - 1
	}
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = encodeState(buf[:0], st, time.Hour)
	}
	b.ReportMetric(float64(len(buf)), "state-bytes")
	b.ReportMetric(float64(len(buf))/float64(series), "state-B/series")
}
