package schedule

// dueHeap is a 4-ary min-heap of checks keyed by their next due time. The
// key lives in the item, not behind the pointer, so sifting compares
// contiguous memory (a node's four children share a cache line or two);
// each entry remembers its index for O(log n) fix/remove.
//
// Dispatch sifts the top down the whole depth (its next due time is an
// interval away), and each level writes the index of the entry it moves,
// a cache miss per level: four children per node halve the levels of a
// binary heap, and moving a hole instead of swapping halves the writes.
type dueHeap struct {
	items []dueItem
}

type dueItem struct {
	next int64 // Unix nanoseconds
	e    *entry
}

const heapArity = 4

func (h *dueHeap) len() int { return len(h.items) }

// top is the earliest item; the heap must not be empty.
func (h *dueHeap) top() *dueItem { return &h.items[0] }

func (h *dueHeap) nextOf(e *entry) int64 { return h.items[e.heapIdx].next }

func (h *dueHeap) push(e *entry, next int64) {
	e.heapIdx = len(h.items)
	h.items = append(h.items, dueItem{next: next, e: e})
	h.up(e.heapIdx)
}

// set changes e's due time and restores the heap order.
func (h *dueHeap) set(e *entry, next int64) {
	i := e.heapIdx
	old := h.items[i].next
	h.items[i].next = next
	if next < old {
		h.up(i)
	} else {
		h.down(i)
	}
}

func (h *dueHeap) remove(e *entry) {
	i := e.heapIdx
	last := len(h.items) - 1
	if i != last {
		h.items[i] = h.items[last]
		h.items[i].e.heapIdx = i
	}
	h.items[last] = dueItem{}
	h.items = h.items[:last]
	e.heapIdx = -1
	if i != last {
		if !h.up(i) {
			h.down(i)
		}
	}
}

// rebuild restores the heap order after many keys changed in place.
func (h *dueHeap) rebuild() {
	if len(h.items) < 2 {
		return
	}
	for i := (len(h.items) - 2) / heapArity; i >= 0; i-- {
		h.down(i)
	}
}

// up moves item i towards the root; it reports whether it moved.
func (h *dueHeap) up(i int) bool {
	start := i
	it := h.items[i]
	for i > 0 {
		p := (i - 1) / heapArity
		if h.items[p].next <= it.next {
			break
		}
		h.items[i] = h.items[p]
		h.items[i].e.heapIdx = i
		i = p
	}
	if i != start {
		h.items[i] = it
		it.e.heapIdx = i
	}
	return i != start
}

// down moves item i towards the leaves.
func (h *dueHeap) down(i int) {
	n := len(h.items)
	it := h.items[i]
	start := i
	for {
		first := heapArity*i + 1
		if first >= n {
			break
		}
		c := first
		for k := first + 1; k < min(first+heapArity, n); k++ {
			if h.items[k].next < h.items[c].next {
				c = k
			}
		}
		if it.next <= h.items[c].next {
			break
		}
		h.items[i] = h.items[c]
		h.items[i].e.heapIdx = i
		i = c
	}
	if i != start {
		h.items[i] = it
		it.e.heapIdx = i
	}
}
