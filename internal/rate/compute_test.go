package rate

import (
	"testing"
)

func TestCompute(t *testing.T) {
	up := func(v uint64, at float64, uptime uint32) sample {
		return sample{value: v, at: at, uptime: uptime, flags: flagUptime}
	}
	disc := func(v uint64, at float64, d uint32) sample { return sample{value: v, at: at, disc: d, flags: flagDisc} }
	plain := func(v uint64, at float64) sample { return sample{value: v, at: at} }
	const gig = 1e9
	for _, c := range []struct {
		name        string
		prev, cur   sample
		bits        uint8
		maxGap, max float64
		want        float64
		out         outcome
	}{
		{"steady", plain(1000, 100), plain(7000, 160), 64, 0, 0, 100, outRate},
		{"real dt", plain(1000, 100), plain(13000, 220), 64, 0, 0, 100, outRate},
		{"32-bit wrap", plain(1<<32-600, 100), plain(5400, 160), 32, 0, 0, 100, outWrap},
		{"35-bit wrap (bits from octets)", plain(1<<35-600, 100), plain(5400, 160), 35, 0, gig, 100, outWrap},
		{"wrap too fast for the port", plain(1<<32-600, 100), plain(1<<31, 160), 32, 0, 1e6, 0, outBackwards},
		{"64-bit went down", plain(5000, 100), plain(10, 160), 64, 0, 0, 0, outBackwards},
		{"unknown width went down", plain(5000, 100), plain(10, 160), 0, 0, 0, 0, outBackwards},
		{"uptime went back", up(1000, 100, 50000), up(7000, 160, 3000), 32, 0, 0, 0, outRestart},
		{"uptime advanced too little", up(1000, 100, 5000), up(7000, 160, 5100), 32, 0, 0, 0, outRestart},
		{"uptime advanced with the clock", up(1000, 100, 5000), up(7000, 160, 11000), 32, 0, 0, 100, outRate},
		{"discontinuity time moved", disc(1000, 100, 0), disc(7000, 160, 12), 64, 0, 0, 0, outDiscontinue},
		{"discontinuity time still", disc(1000, 100, 12), disc(7000, 160, 12), 64, 0, 0, 100, outRate},
		{"missed polls beyond the limit", plain(1000, 100), plain(99000, 400), 64, 180.5, 0, 0, outGap},
		{"one missed poll within the limit", plain(1000, 100), plain(13000, 220), 64, 180.5, 0, 100, outRate},
		{"same timestamp", plain(1000, 100), plain(1000, 100), 64, 0, 0, 0, outStale},
		{"older timestamp", plain(1000, 100), plain(900, 90), 64, 0, 0, 0, outStale},
	} {
		got, out := compute(c.prev, c.cur, c.bits, c.maxGap, c.max)
		if out != c.out || got != c.want {
			t.Errorf("%s: got %v (%s), want %v (%s)", c.name, got, outcomeNames[out], c.want, outcomeNames[c.out])
		}
	}
}

func TestMaxRateFor(t *testing.T) {
	if r := maxRateFor("bits_in", 1e9); r != 1e9 {
		t.Errorf("bits at 1G: %v", r)
	}
	if r := maxRateFor("unicast_packets_in", 672e6); r != 1e6 {
		t.Errorf("packets at 672M: %v, want 1e6 (84-byte frames)", r)
	}
	if r := maxRateFor("bits_in", 0); r != 0 {
		t.Errorf("no speed: %v, want 0 (unknown)", r)
	}
}

func TestParseSelector(t *testing.T) {
	s, err := ParseSelector([]any{"bits_in", "bits_out"})
	if err != nil || !s.selects("bits_in") || s.selects("errors_in") || s.Empty() {
		t.Errorf("list: %+v %v", s, err)
	}
	if s, err := ParseSelector("all"); err != nil || !s.selects("anything") {
		t.Errorf("all: %+v %v", s, err)
	}
	if s, err := ParseSelector(nil); err != nil || !s.Empty() {
		t.Errorf("nil: %+v %v", s, err)
	}
	for _, bad := range []any{"some", []any{"bits_in", 3}, []string{""}, []string{"bits_in_rate"}, 7} {
		if _, err := ParseSelector(bad); err == nil {
			t.Errorf("%#v: no error", bad)
		}
	}
}
