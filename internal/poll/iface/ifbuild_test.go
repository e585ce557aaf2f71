package iface

import (
	"fmt"
	"testing"

	"github.com/panoptes-go/panoptes/internal/poll/polltest"

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
		groups = len(rs.build(polltest.Resource, 60, 1535497112.075, opts))
		rs.release()
	}
	if groups != 56 {
		b.Fatalf("built %d groups, want 56", groups)
	}
	b.ReportMetric(float64(varbinds), "varbinds/op")
}
