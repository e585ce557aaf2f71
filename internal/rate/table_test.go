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
