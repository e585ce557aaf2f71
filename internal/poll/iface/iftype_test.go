package iface

import "testing"

func TestIfTypeName(t *testing.T) {
	for v, want := range map[uint64]string{
		6: "ethernetCsmacd", 24: "softwareLoopback", 53: "propVirtual", 117: "gigabitEthernet",
		131: "tunnel", 135: "l2vlan", 161: "ieee8023adLag", 300: "300", 0: "0",
	} {
		if got := ifTypeName(v); got != want {
			t.Errorf("ifTypeName(%d) = %q, want %q", v, got, want)
		}
	}
}

func TestPortSpeed(t *testing.T) {
	for bps, want := range map[uint64]string{
		0: "0bps", 999: "999bps", 1000: "1Kbps", 64000: "64Kbps", 1_544_000: "1.544Mbps",
		1_234_567: "1.234Mbps", 10_000_000: "10Mbps", 100_000_000: "100Mbps", 1_000_000_000: "1Gbps",
		2_500_000_000: "2.5Gbps", 4_294_967_295: "4.294Gbps", 10_000_000_000: "10Gbps",
		400_000_000_000: "400Gbps", 1_600_000_000_000: "1.6Tbps", 1_000_000_000_000_000: "1000Tbps",
	} {
		if got := portSpeed(bps); got != want {
			t.Errorf("portSpeed(%d) = %q, want %q", bps, got, want)
		}
	}
}

func TestConfiguredSpeed(t *testing.T) {
	row := func(speed, high uint64, haveSpeed, haveHigh bool) *ifRow {
		r := &ifRow{}
		if haveSpeed {
			r.num[fSpeed], r.have = speed, r.have|1<<fSpeed
		}
		if haveHigh {
			r.num[fHighSpeed], r.have = high, r.have|1<<fHighSpeed
		}
		return r
	}
	for _, tc := range []struct {
		name string
		r    *ifRow
		want uint64
		ok   bool
	}{
		{"ifSpeed exact", row(100_000_000, 100, true, true), 100_000_000, true},
		{"T1 keeps ifSpeed over rounded ifHighSpeed", row(1_544_000, 2, true, true), 1_544_000, true},
		{"saturated ifSpeed", row(4294967295, 10000, true, true), 10_000_000_000, true},
		{"ifSpeed understated", row(1_000_000_000, 10000, true, true), 10_000_000_000, true},
		{"only ifHighSpeed", row(0, 40000, false, true), 40_000_000_000, true},
		{"only ifSpeed", row(10_000_000, 0, true, false), 10_000_000, true},
		{"saturated, no ifHighSpeed", row(4294967295, 0, true, false), 4294967295, true},
		{"neither", row(0, 0, false, false), 0, false},
	} {
		got, _, ok := configuredSpeed(tc.r)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: got %d %v, want %d %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

func TestParseInstance(t *testing.T) {
	root := ifTable.root
	for oid, want := range map[string]struct {
		col int
		idx uint32
		ok  bool
	}{
		root + ".2.11001":       {2, 11001, true},
		root + ".20.4294967295": {20, 4294967295, true},
		root + ".2.4294967296":  {0, 0, false},
		root + ".2":             {0, 0, false},
		root + ".2.":            {0, 0, false},
		root + "..1":            {0, 0, false},
		root + ".2.1.1":         {0, 0, false},
		root + "0.2.1":          {0, 0, false},
		".1.3.6.1.2.1.2.2.2.1":  {0, 0, false},
		root + ".x.1":           {0, 0, false},
	} {
		col, idx, ok := parseInstance(oid, root)
		if col != want.col || idx != want.idx || ok != want.ok {
			t.Errorf("parseInstance(%s) = %d %d %v, want %v", oid, col, idx, ok, want)
		}
	}
}
