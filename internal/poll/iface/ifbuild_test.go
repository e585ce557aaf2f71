package iface

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/poll/polltest"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/rate"
	"github.com/panoptes-go/panoptes/internal/snmp"
)

// fortyEightPorts is a 48-port access switch: 48 FastEthernet, 4 uplinks,
// 3 VLAN interfaces and Null0, as walked with every table present.
func fortyEightPorts() map[string][]snmp.Varbind {
	var ports []port
	for i := 1; i <= 48; i++ {
		ports = append(ports, port{idx: 11000 + i, descr: fmt.Sprintf("FastEthernet3/0/%d", i),
			name: fmt.Sprintf("Fa3/0/%d", i), alias: fmt.Sprintf("desk %d", i), ifType: 6, mtu: 1500,
			speed: 100_000_000, highSpeed: 100, admin: 1, oper: 1 + uint64ToInt(uint64(i)%2), base: uint64(i) << 20})
	}
	for i := 1; i <= 4; i++ {
		ports = append(ports, port{idx: 11100 + i, descr: fmt.Sprintf("GigabitEthernet3/0/%d", i),
			name: fmt.Sprintf("Gi3/0/%d", i), ifType: 6, mtu: 1500, speed: 1_000_000_000, highSpeed: 1000,
			admin: 1, oper: 1, base: uint64(i) << 30})
	}
	for _, v := range []int{1, 60, 70} {
		ports = append(ports, port{idx: v, descr: fmt.Sprintf("Vlan%d", v), name: fmt.Sprintf("Vl%d", v),
			ifType: 53, mtu: 1500, speed: 1_000_000_000, highSpeed: 1000, admin: 1, oper: 1, base: 99, noDot3: true})
	}
	ports = append(ports, port{idx: 14501, descr: "Null0", name: "Nu0", ifType: 1, mtu: 1500,
		speed: 4294967295, highSpeed: 0, admin: 1, oper: 1, noDot3: true})
	return device(ports...)
}

func uint64ToInt(u uint64) int { return int(u) }

// BenchmarkInterfaceBuild turns the walks of a 48-port device into groups:
// the per-poll CPU and allocation cost of the interface plugin.
func BenchmarkInterfaceBuild(b *testing.B) {
	walks := fortyEightPorts()
	tables := []*table{ifTable, ifXTable, dot3StatsTable}
	varbinds := 0
	for _, t := range tables {
		varbinds += len(walks[t.root])
	}
	opts := &interfaceOptions{includeDot3: true}
	b.ReportAllocs()
	var groups int
	for b.Loop() {
		rs := newRows(len(walks[ifTable.root])/16 + 1)
		for _, t := range tables {
			rs.add(t, walks[t.root], 1535497113.5, t != dot3StatsTable)
		}
		groups = len(rs.build(polltest.Resource, 60, 1535497112.075, opts, false))
		rs.release()
	}
	if groups != 56 {
		b.Fatalf("built %d groups, want 56", groups)
	}
	b.ReportMetric(float64(varbinds), "varbinds/op")
}

// TestBuildLeavesRateRoom: with rates on, each group has room beyond its
// metrics for a gauge per counter, and the same metrics.
func TestBuildLeavesRateRoom(t *testing.T) {
	walks := fortyEightPorts()
	opts := &interfaceOptions{includeDot3: true}
	built := map[bool][]*metric.Group{}
	for _, room := range []bool{false, true} {
		rs := newRows(4)
		for _, tb := range []*table{ifTable, ifXTable, dot3StatsTable} {
			rs.add(tb, walks[tb.root], 1535497113.5, tb != dot3StatsTable)
		}
		built[room] = rs.build(polltest.Resource, 60, 1535497112.075, opts, room)
		rs.release()
	}
	if len(built[true]) != len(built[false]) || len(built[true]) == 0 {
		t.Fatalf("%d groups with room, %d without", len(built[true]), len(built[false]))
	}
	for i, g := range built[true] {
		counters := 0
		for _, m := range g.Metrics {
			if m.Type == metric.Counter {
				counters++
			}
		}
		if room := cap(g.Metrics) - len(g.Metrics); room != counters || counters == 0 {
			t.Errorf("group %d: room for %d rates, has %d counters", i, room, counters)
		}
		if a, b := string(metric.AppendJSON(nil, g)), string(metric.AppendJSON(nil, built[false][i])); a != b {
			t.Errorf("group %d differs with room:\n%s\n%s", i, a, b)
		}
		if g0 := built[false][i]; cap(g0.Metrics) != len(g0.Metrics) {
			t.Errorf("group %d without rates: capacity %d for %d metrics", i, cap(g0.Metrics), len(g0.Metrics))
		}
	}
}

// BenchmarkInterfaceRates is a 48-port poll's groups built, then rated as
// the collector does with rates on: with room left for the rate gauges
// (poll.Request.Rates) and without (the rates copy every group's metrics).
func BenchmarkInterfaceRates(b *testing.B) {
	walks := fortyEightPorts()
	opts := &interfaceOptions{includeDot3: true}
	ctx := context.Background()
	for _, room := range []bool{false, true} {
		b.Run(map[bool]string{false: "copy", true: "room"}[room], func(b *testing.B) {
			proc := rate.New(rate.Options{})
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				rs := newRows(4)
				for _, tb := range []*table{ifTable, ifXTable, dot3StatsTable} {
					vbs := walks[tb.root]
					rs.add(tb, vbs, 1535497113.5+float64(60*i), tb != dot3StatsTable)
				}
				groups := rs.build(polltest.Resource, 60, 1535497112.075+float64(60*i), opts, room)
				rs.release()
				proc.Apply(ctx, &metric.GroupSet{Groups: groups}, rate.All(), time.Now())
			}
		})
	}
}
