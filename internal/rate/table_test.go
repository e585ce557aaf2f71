package rate

import (
	"math/rand/v2"
	"testing"
)

// The table must behave as the map it replaced, whatever the order and
// mix of finds, puts, merges and evictions.
func TestTableMatchesMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var tb table
	ref := map[uint64]sample{}
	for step := range 20000 {
		key := rng.Uint64N(2000) * 0x9E3779B97F4A7C15 // spread over the hash space
		switch op := rng.IntN(100); {
		case op < 60:
			s := sample{value: rng.Uint64(), at: float64(step), uptime: rng.Uint32(), disc: rng.Uint32(), flags: uint8(rng.IntN(4))}
			if s.flags&flagDisc == 0 {
				s.disc = 0 // not kept without its flag (compute reads it only with)
			}
			tb.put(key, s)
			ref[key] = s
		case op < 97:
			got, _, ok := tb.find(key)
			want, wok := ref[key]
			if ok != wok || got != want {
				t.Fatalf("step %d: find(%x) = %+v, %v; want %+v, %v", step, key, got, ok, want, wok)
			}
		case op < 99:
			tb.merge()
		default:
			cut := float64(step - 500)
			tb.keep(func(_ uint64, s sample) bool { return s.at >= cut })
			for k, s := range ref {
				if s.at < cut {
					delete(ref, k)
				}
			}
		}
		if tb.len() != len(ref) {
			t.Fatalf("step %d: %d series, want %d", step, tb.len(), len(ref))
		}
	}
	n := 0
	var last uint64
	tb.each(func(k uint64, s sample) {
		if n > 0 && k <= last {
			t.Fatalf("each: key %x after %x", k, last)
		}
		if ref[k] != s {
			t.Fatalf("each: %x = %+v, want %+v", k, s, ref[k])
		}
		last = k
		n++
	})
	if n != len(ref) {
		t.Fatalf("each saw %d series, want %d", n, len(ref))
	}
}

// A poll stamps its series anew; the previous polls' stamps must not pile
// up, and what the table returns must be each series' latest sample.
func TestTableStampsStayFew(t *testing.T) {
	var tb table
	const ports, columns = 48, 20
	for poll := range 200 {
		for port := range ports {
			for c := range columns {
				key := uint64(port*columns+c+1) * 0x9E3779B97F4A7C15
				s := sample{value: uint64(poll * (c + 1)), at: float64(poll*60) + float64(c)/100,
					uptime: uint32(poll * 6000), flags: flagUptime | flagDisc, disc: uint32(port % 3)}
				_, i, _ := tb.find(key)
				tb.update(i, key, s)
			}
		}
		tb.merge()
		for port := range ports {
			for c := range columns {
				key := uint64(port*columns+c+1) * 0x9E3779B97F4A7C15
				got, _, ok := tb.find(key)
				want := sample{value: uint64(poll * (c + 1)), at: float64(poll*60) + float64(c)/100,
					uptime: uint32(poll * 6000), flags: flagUptime | flagDisc, disc: uint32(port % 3)}
				if !ok || got != want {
					t.Fatalf("poll %d, port %d, column %d: %+v, %v; want %+v", poll, port, c, got, ok, want)
				}
			}
		}
		if len(tb.times) > 4*columns+16 || len(tb.discs) > 4*3+16 {
			t.Fatalf("poll %d: %d stamps and %d discontinuity times held for %d and 3 in use", poll, len(tb.times), len(tb.discs), columns)
		}
	}
}

// A resource with more distinct stamps than an index holds keeps what
// fits; a series that does not fit is unseen (no rate, never a wrong one)
// and is stored again once there is room.
func TestTableFullForgets(t *testing.T) {
	defer func(m int) { maxIndex = m }(maxIndex)
	maxIndex = 8
	var tb table
	for k := range uint64(20) {
		_, i, _ := tb.find(k + 1)
		tb.update(i, k+1, sample{value: k, at: float64(k), flags: flagUptime, uptime: uint32(k)})
	}
	tb.merge()
	seen := 0
	for k := range uint64(20) {
		s, _, ok := tb.find(k + 1)
		if ok {
			seen++
			if s.value != k || s.at != float64(k) || s.uptime != uint32(k) {
				t.Fatalf("series %d: %+v", k+1, s)
			}
		}
	}
	if seen != 8 {
		t.Fatalf("%d series stored, want the 8 that fit", seen)
	}
	// The next poll shares one stamp: every series is stored again.
	for k := range uint64(20) {
		_, i, _ := tb.find(k + 1)
		tb.update(i, k+1, sample{value: 100 + k, at: 100, flags: flagUptime, uptime: 1})
	}
	n := 0
	tb.each(func(key uint64, s sample) {
		if s.value != 100+key-1 || s.at != 100 {
			t.Fatalf("series %d: %+v", key, s)
		}
		n++
	})
	if n != 20 {
		t.Fatalf("%d series after the shared stamp, want 20", n)
	}
}
