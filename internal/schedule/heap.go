package schedule

// dueHeap is a binary min-heap of checks keyed by their next due time. The
// key lives in the item, not behind the pointer, so sifting compares
// contiguous memory; each entry remembers its index for O(log n) fix/remove.
type dueHeap struct {
	items []dueItem
}

type dueItem struct {
	next int64 // Unix nanoseconds
	e    *entry
}

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
		h.swap(i, last)
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
	for i := len(h.items)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

func (h *dueHeap) swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	h.items[i].e.heapIdx = i
	h.items[j].e.heapIdx = j
}

// up moves item i towards the root; it reports whether it moved.
func (h *dueHeap) up(i int) bool {
	start := i
	for i > 0 {
		p := (i - 1) / 2
		if h.items[p].next <= h.items[i].next {
			break
		}
		h.swap(i, p)
		i = p
	}
	return i != start
}

func (h *dueHeap) down(i int) {
	n := len(h.items)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		c := l
		if r := l + 1; r < n && h.items[r].next < h.items[l].next {
			c = r
		}
		if h.items[i].next <= h.items[c].next {
			return
		}
		h.swap(i, c)
		i = c
	}
}
