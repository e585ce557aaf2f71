package snmp

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// compareArcs is compareOID by splitting: the reference for its fast path.
func compareArcs(a, b string) int {
	arcs := func(s string) []uint64 {
		var out []uint64
		for _, f := range strings.Split(s, ".") {
			if f != "" {
				v, _ := strconv.ParseUint(f, 10, 64)
				out = append(out, v)
			}
		}
		return out
	}
	x, y := arcs(a), arcs(b)
	for i := 0; i < len(x) && i < len(y); i++ {
		switch {
		case x[i] < y[i]:
			return -1
		case x[i] > y[i]:
			return 1
		}
	}
	switch {
	case len(x) < len(y):
		return -1
	case len(x) > len(y):
		return 1
	}
	return 0
}

// TestCompareOIDNeighbours: compareOID agrees with an arc-by-arc reference
// on pairs that share prefixes of every length, as a walk's neighbours do
// (1.3.6.1.2.1.2.2.1.10.9 and ...10.10 share "…10.1").
func TestCompareOIDNeighbours(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	oid := func() string {
		var b strings.Builder
		if r.IntN(4) == 0 {
			b.WriteByte('.')
		}
		for i := range 1 + r.IntN(7) {
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteString(strconv.Itoa([]int{0, 1, 2, 10, 11, 12, 100, 101, 110}[r.IntN(9)]))
		}
		return b.String()
	}
	for range 200000 {
		a, b := oid(), oid()
		if r.IntN(2) == 0 {
			b = a[:r.IntN(len(a)+1)] + b // a shared prefix, cut anywhere
		}
		if got, want := compareOID(a, b), compareArcs(a, b); got != want {
			t.Fatalf("compareOID(%q, %q) = %d, want %d", a, b, got, want)
		}
	}
}

func BenchmarkCompareOIDNeighbours(b *testing.B) {
	x, y := ".1.3.6.1.2.1.31.1.1.1.6.1009", ".1.3.6.1.2.1.31.1.1.1.6.1010"
	for b.Loop() {
		if compareOID(x, y) >= 0 {
			b.Fatal("order")
		}
	}
}
