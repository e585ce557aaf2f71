package phase

import (
	"fmt"
	"hash/fnv"
	"testing"
	"time"
)

func TestHashIsFNV1a64(t *testing.T) {
	for _, key := range []string{"", "a", "interface|sw1.example.net|Gi0/1", "héllo"} {
		h := fnv.New64a()
		h.Write([]byte(key))
		if got, want := Hash(key), h.Sum64(); got != want {
			t.Errorf("Hash(%q) = %#x, want FNV-1a %#x", key, got, want)
		}
	}
	if got := Hash("a"); got != 0xaf63dc4c8601ec8c {
		t.Fatalf("Hash(a) = %#x, want 0xaf63dc4c8601ec8c", got)
	}
}

// TestOfGolden pins phases computed by schedule.Phase before the move to this
// package: changing the hash would move every check in a fleet, and nodes
// of two versions would disagree on due times.
func TestOfGolden(t *testing.T) {
	for _, c := range []struct {
		key      string
		interval time.Duration
		want     time.Duration
	}{
		{"interface|sw1.example.net", 60 * time.Second, 40175464468},
		{"uptime|10.0.0.1", 10 * time.Second, 7389332723},
		{"enrichment|sw1.example.net|", 15 * time.Minute, 129428882764},
		{"", time.Minute, 19346656037},
		{"héllo", 300 * time.Second, 66002542816},
		{"bgp|rtr-7", time.Second, 329027550},
	} {
		for i := 0; i < 3; i++ {
			if got := Of(c.key, c.interval); got != c.want {
				t.Fatalf("Of(%q, %v) = %d, want %d", c.key, c.interval, got, c.want)
			}
		}
		if got := FromHash(Hash(c.key), c.interval); got != c.want {
			t.Errorf("FromHash(Hash(%q), %v) = %d, want %d", c.key, c.interval, got, c.want)
		}
	}
	if Of("interface|sw1.example.net", 0) != 0 || Of("x", -time.Second) != 0 {
		t.Fatal("a phase in an interval of 0 or less must be 0")
	}
}

func TestOfSpread(t *testing.T) {
	const n, buckets = 10000, 60
	var count [buckets]int
	for i := 0; i < n; i++ {
		key := fmt.Sprintf("interface|sw%d.example.net|%d", i/48, i%48)
		p := Of(key, 60*time.Second)
		if p < 0 || p >= 60*time.Second {
			t.Fatalf("Of(%q) = %v, outside [0, 60s)", key, p)
		}
		count[p/time.Second]++
	}
	mean := float64(n) / buckets
	lo, hi := count[0], count[0]
	for _, c := range count {
		lo, hi = min(lo, c), max(hi, c)
	}
	// Uniform: 166.7 per second, sd ~13; allow about 3 sd either side.
	if float64(hi) > 1.25*mean || float64(lo) < 0.75*mean {
		t.Fatalf("phases not uniform over 60 1s buckets: min %d, max %d, mean %.1f", lo, hi, mean)
	}
	t.Logf("1s buckets: min %d, max %d, mean %.1f", lo, hi, mean)
}
