package schedule

import (
	"fmt"
	"hash/fnv"
	"testing"
	"time"
)

func TestKeyHashIsFNV1a64(t *testing.T) {
	for _, key := range []string{"", "a", "interface|sw1.example.net|Gi0/1", "héllo"} {
		h := fnv.New64a()
		h.Write([]byte(key))
		if got, want := keyHash(key), h.Sum64(); got != want {
			t.Errorf("keyHash(%q) = %#x, want FNV-1a %#x", key, got, want)
		}
	}
}

func TestPhaseStable(t *testing.T) {
	// A golden value: changing the hash would move every check in a fleet.
	const key = "interface|sw1.example.net"
	const want = 40175464468 * time.Nanosecond
	for i := 0; i < 3; i++ {
		if got := Phase(key, 60*time.Second); got != want {
			t.Fatalf("Phase(%q) = %v, want %v", key, got, want)
		}
	}
	if got := keyHash("a"); got != 0xaf63dc4c8601ec8c {
		t.Fatalf("keyHash(a) = %#x, want 0xaf63dc4c8601ec8c", got)
	}
	if Phase(key, 0) != 0 {
		t.Fatal("Phase with a zero interval must be 0")
	}
}

func TestPhaseSpread(t *testing.T) {
	const n, buckets = 10000, 60
	var count [buckets]int
	for i := 0; i < n; i++ {
		key := fmt.Sprintf("interface|sw%d.example.net|%d", i/48, i%48)
		p := Phase(key, 60*time.Second)
		if p < 0 || p >= 60*time.Second {
			t.Fatalf("Phase(%q) = %v, outside [0, 60s)", key, p)
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

func TestNextDue(t *testing.T) {
	const iv = int64(10 * time.Second)
	for _, tc := range []struct{ now, phase, want int64 }{
		{now: 0, phase: 0, want: 0},
		{now: 1, phase: 0, want: iv},
		{now: 3, phase: 5, want: 5},
		{now: 5, phase: 5, want: 5},
		{now: 6, phase: 5, want: iv + 5},
		{now: -1, phase: 0, want: 0},
		{now: -iv - 1, phase: 2, want: -iv + 2},
		{now: 1_700_000_000_123_456_789, phase: 7, want: 1_700_000_010_000_000_007},
	} {
		if got := nextDue(tc.now, tc.phase, iv); got != tc.want {
			t.Errorf("nextDue(%d, %d, %d) = %d, want %d", tc.now, tc.phase, iv, got, tc.want)
		}
	}
}

func TestHeapOrderAndRemove(t *testing.T) {
	var h dueHeap
	h.rebuild() // empty, then one item: nothing to order
	one := &entry{heapIdx: -1}
	h.push(one, 5)
	h.rebuild()
	h.remove(one)
	es := make([]*entry, 200)
	for i := range es {
		es[i] = &entry{heapIdx: -1}
		h.push(es[i], int64((i*7919)%200))
	}
	checkIndexes := func() {
		t.Helper()
		for i, it := range h.items {
			if it.e.heapIdx != i {
				t.Fatalf("item %d's entry has heapIdx %d", i, it.e.heapIdx)
			}
			if p := (i - 1) / heapArity; i > 0 && h.items[p].next > it.next {
				t.Fatalf("item %d (%d) before its parent %d (%d)", i, it.next, p, h.items[p].next)
			}
		}
	}
	checkIndexes()
	for i := 0; i < 200; i += 3 {
		h.remove(es[i])
	}
	checkIndexes()
	h.set(es[1], -5)
	h.set(es[2], 1000) // to the leaves
	h.top().next += 500
	h.down(0) // as dispatch moves the top an interval on
	checkIndexes()
	for i := range h.items {
		h.items[i].next = int64((i * 31) % 97)
	}
	h.rebuild()
	checkIndexes()
	prev := int64(-1 << 62)
	n := 0
	for h.len() > 0 {
		top := h.top()
		if top.next < prev {
			t.Fatalf("heap out of order: %d after %d", top.next, prev)
		}
		prev = top.next
		h.remove(top.e)
		n++
	}
	if n != 200-67 {
		t.Fatalf("popped %d items, want %d", n, 200-67)
	}
}

func TestReadyQueueFIFO(t *testing.T) {
	var q readyQueue
	es := make([]*entry, 300)
	for i := range es {
		es[i] = &entry{}
	}
	// Interleave pushes and pops across a grow with a wrapped head.
	for i := 0; i < 50; i++ {
		q.push(es[i])
	}
	for i := 0; i < 40; i++ {
		if q.pop() != es[i] {
			t.Fatalf("pop %d out of order", i)
		}
	}
	for i := 50; i < 300; i++ {
		q.push(es[i])
	}
	for i := 40; i < 300; i++ {
		if q.pop() != es[i] {
			t.Fatalf("pop %d out of order", i)
		}
	}
	if q.pop() != nil || q.len() != 0 {
		t.Fatal("queue not empty after popping everything")
	}
}
