package schedule

import (
	"testing"
	"time"
)

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
