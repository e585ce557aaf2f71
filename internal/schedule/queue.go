package schedule

// readyQueue is a FIFO ring of checks waiting for a worker. It grows by
// doubling and is reused, so steady-state dispatch allocates nothing.
type readyQueue struct {
	buf        []*entry
	head, size int
}

func (q *readyQueue) len() int { return q.size }

func (q *readyQueue) push(e *entry) {
	if q.size == len(q.buf) {
		q.grow()
	}
	q.buf[(q.head+q.size)&(len(q.buf)-1)] = e
	q.size++
}

// pop returns the oldest check, or nil when the queue is empty.
func (q *readyQueue) pop() *entry {
	if q.size == 0 {
		return nil
	}
	e := q.buf[q.head]
	q.buf[q.head] = nil
	q.head = (q.head + 1) & (len(q.buf) - 1)
	q.size--
	return e
}

func (q *readyQueue) grow() {
	n := 2 * len(q.buf)
	if n == 0 {
		n = 64
	}
	buf := make([]*entry, n)
	for i := 0; i < q.size; i++ {
		buf[i] = q.buf[(q.head+i)&(len(q.buf)-1)]
	}
	q.buf, q.head = buf, 0
}
