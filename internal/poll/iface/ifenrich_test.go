package iface

import (
	"slices"
	"testing"

	"github.com/panoptes-go/panoptes/internal/metric"
)

func TestCounterHints(t *testing.T) {
	narrow := fastEth
	narrow.noHC = true
	for _, c := range []struct {
		p                port
		bits, pkts, errs uint8
	}{{fastEth, 64, 64, 32}, {narrow, 35, 32, 32}} {
		groups, err := pollWith(t, &fakeWalker{walks: device(c.p)}, "2c", nil)
		if err != nil {
			t.Fatal(err)
		}
		g := groups[0]
		for _, w := range []struct {
			name string
			bits uint8
		}{{"bits_in", c.bits}, {"unicast_packets_out", c.pkts}, {"errors_in", c.errs}, {"errors_crc", 32}} {
			m, ok := g.Metric(w.name)
			if !ok || m.Hint.Bits != w.bits {
				t.Errorf("noHC=%v %s: hint %+v, want %d bits", c.p.noHC, w.name, m.Hint, w.bits)
			}
			if !m.Hint.HaveDiscontinuity || m.Hint.Discontinuity != 2 {
				t.Errorf("%s: discontinuity hint %+v, want ifCounterDiscontinuityTime 2", w.name, m.Hint)
			}
			if m.Hint.HaveUptime {
				t.Errorf("%s: uptime hint without a GET: %+v", w.name, m.Hint)
			}
		}
		if m, _ := g.Metric("mtu"); m.Hint != (metric.Hint{}) {
			t.Errorf("gauge with a hint: %+v", m.Hint)
		}
	}
}

func TestCounterRoots(t *testing.T) {
	got := ifTable.counterRoots(false)
	for _, slow := range []string{".2", ".3", ".5"} {
		if slices.Contains(got, ifTable.root+slow) {
			t.Errorf("ifTable walks slow column %s with enrichment: %v", slow, got)
		}
	}
	if !slices.Contains(got, ifTable.root+".10") || !slices.Contains(got, ifTable.root+".8") {
		t.Errorf("ifTable counter roots %v lack ifInOctets or ifOperStatus", got)
	}
	x := ifXTable.counterRoots(false)
	if slices.Contains(x, ifXTable.root+".1") || slices.Contains(x, ifXTable.root+".18") || !slices.Contains(x, ifXTable.root+".6") {
		t.Errorf("ifXTable counter roots %v", x)
	}
	if x1 := ifXTable.counterRoots(true); slices.Contains(x1, ifXTable.root+".6") {
		t.Errorf("SNMPv1 walks Counter64 ifHCInOctets: %v", x1)
	}
	if d := dot3StatsTable.counterRoots(false); !slices.Equal(d, []string{dot3StatsTable.root}) {
		t.Errorf("dot3StatsTable roots %v, want the table", d)
	}
}

func TestFitRepetitions(t *testing.T) {
	if n := fitRepetitions(25, nil); n != 25 {
		t.Errorf("no resource: %d, want the configured 25", n)
	}
	seen := new(memo)
	if n := fitRepetitions(25, seen); n != 25 {
		t.Errorf("unknown device: %d, want the configured 25", n)
	}
	for rows, want := range map[int32]int{10: 25, 52: 53, 63: 64, 200: 25} {
		seen.rows.Store(rows)
		if n := fitRepetitions(25, seen); n != want {
			t.Errorf("%d rows: %d, want %d", rows, n, want)
		}
	}
}
