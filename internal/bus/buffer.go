package bus

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/panoptes-go/panoptes/internal/wire"
)

const (
	// drainBatch is how many buffered messages one drain round publishes
	// before waiting for their acks.
	drainBatch = 256
	// drainTick is how often the drainer looks at a non-empty buffer when
	// nothing kicked it (the bus came back, a leader was elected).
	drainTick = 250 * time.Millisecond
	// closeFlushTimeout bounds the last attempt to empty the buffer at Close.
	closeFlushTimeout = 5 * time.Second
	// spillFile holds what was still buffered at Close, under DataDir.
	spillFile = "bus-buffer.spill"
	// entryOverhead approximates a buffered entry's memory besides its data.
	entryOverhead = 64
)

// pending is one buffered message. Its ID (Nats-Msg-Id) lets the stream
// drop a retry of a publish that did land while its ack was lost.
type pending struct {
	subject string
	id      string
	data    []byte // owned by the buffer, never modified
	groups  int    // metrics groups in data
	valid   bool   // every group passed Group.Validate (wire.ValidHeader); not spilled
}

func (p pending) size() int64 { return int64(len(p.subject)+len(p.id)+len(p.data)) + entryOverhead }

// buffer is the bounded FIFO of messages waiting for the bus. It drops only
// when full, and counts what it drops.
type buffer struct {
	mu       sync.Mutex
	q        []pending
	head     int
	bytes    int64
	maxMsgs  int
	maxBytes int64
	dropped  uint64
	m        *metrics
	kick     chan struct{} // wakes the drainer; capacity 1
}

func newBuffer(maxMsgs int, maxBytes int64, m *metrics) *buffer {
	return &buffer{maxMsgs: maxMsgs, maxBytes: maxBytes, m: m, kick: make(chan struct{}, 1)}
}

// push appends items in order until the buffer is full and returns how many
// it took; the rest are dropped and counted.
func (q *buffer) push(items []pending) int {
	q.mu.Lock()
	took, size := 0, int64(0)
	for _, it := range items {
		s := it.size()
		if len(q.q)-q.head >= q.maxMsgs || q.bytes+s > q.maxBytes {
			break
		}
		q.q = append(q.q, it)
		q.bytes += s
		size += s
		took++
	}
	dropped := 0 // groups, as the metric and Health count them
	for _, it := range items[took:] {
		dropped += it.groups
	}
	q.dropped += uint64(dropped)
	q.mu.Unlock()
	q.m.buffered.Add(float64(took))
	q.m.bufferedBytes.Add(float64(size))
	q.m.dropped.Add(float64(dropped))
	q.wake()
	return took
}

// rewrite replaces each of the first n messages for which with returns
// messages (nil: keep it) by those, in place, in order.
func (q *buffer) rewrite(n int, with func(pending) []pending) {
	q.mu.Lock()
	defer q.mu.Unlock()
	n = min(n, len(q.q)-q.head)
	out := make([]pending, 0, n)
	var delta int64
	for _, p := range q.q[q.head : q.head+n] {
		repl := with(p)
		if repl == nil {
			out = append(out, p)
			continue
		}
		delta -= p.size()
		for _, r := range repl {
			delta += r.size()
		}
		out = append(out, repl...)
	}
	q.q, q.head = append(out, q.q[q.head+n:]...), 0
	q.bytes += delta
	q.m.bufferedBytes.Add(float64(delta))
	q.m.buffered.Add(float64(len(out) - n))
}

// peek returns up to n messages from the head without removing them.
func (q *buffer) peek(n int) []pending {
	q.mu.Lock()
	defer q.mu.Unlock()
	n = min(n, len(q.q)-q.head)
	return append([]pending(nil), q.q[q.head:q.head+n]...)
}

// pop removes n messages from the head.
func (q *buffer) pop(n int) {
	q.mu.Lock()
	size := int64(0)
	for i := q.head; i < q.head+n; i++ {
		size += q.q[i].size()
		q.q[i] = pending{}
	}
	q.head += n
	q.bytes -= size
	if q.head == len(q.q) {
		q.q, q.head = q.q[:0], 0
	} else if q.head > 1024 && q.head > len(q.q)/2 {
		q.q = append(q.q[:0], q.q[q.head:]...)
		q.head = 0
	}
	q.mu.Unlock()
	q.m.buffered.Sub(float64(n))
	q.m.bufferedBytes.Sub(float64(size))
}

// stats returns the messages and bytes held and the drops so far.
func (q *buffer) stats() (int, int64, uint64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.q) - q.head, q.bytes, q.dropped
}

func (q *buffer) empty() bool {
	n, _, _ := q.stats()
	return n == 0
}

// runDrainer publishes buffered messages, oldest first, whenever the
// connection is up, until ctx is done.
func (b *Bus) runDrainer(ctx context.Context) {
	t := time.NewTicker(drainTick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-b.buf.kick:
		case <-t.C:
		}
		b.drainOnce(ctx)
	}
}

// drainOnce publishes batches while they are fully acknowledged; it stops
// at the first failure (the next tick retries). A message buffered for
// another generation of streams than the current one is re-targeted first
// (see retarget).
func (b *Bus) drainOnce(ctx context.Context) {
	for !b.buf.empty() && b.nc.Status() == nats.CONNECTED && ctx.Err() == nil {
		batch := b.buf.peek(drainBatch)
		if l := b.Layout(); slices.ContainsFunc(batch, func(p pending) bool { return !l.Holds(p.subject) }) {
			b.buf.rewrite(len(batch), func(p pending) []pending {
				if l.Holds(p.subject) {
					return nil
				}
				return b.retarget(p, l)
			})
			batch = b.buf.peek(drainBatch)
		}
		acked := b.publishPending(ctx, batch)
		b.buf.pop(acked)
		groups := 0
		for _, p := range batch[:acked] {
			groups += p.groups
		}
		b.metrics.published.Add(float64(groups))
		if acked < len(batch) {
			return
		}
	}
}

// publishPending publishes batch in order and returns how many of its
// leading messages were acknowledged within the publish timeout. Those after
// a failure are retried later; their IDs make the retry harmless.
func (b *Bus) publishPending(ctx context.Context, batch []pending) int {
	wctx, cancel := context.WithTimeout(ctx, b.publishTimeout)
	defer cancel()
	futs := make([]jetstream.PubAckFuture, 0, len(batch))
	for _, p := range batch {
		f, err := b.js.PublishMsgAsync(newMsg(p.subject, p.id, p.data, p.valid))
		if err != nil {
			break
		}
		futs = append(futs, f)
	}
	for i, f := range futs {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			b.logger.Debug("buffered publish failed; will retry", "subject", batch[i].subject, "err", err)
			return i
		case <-wctx.Done():
			return i
		}
	}
	return len(futs)
}

// newMsg is a message with its ID and, when valid, wire.ValidHeader: every
// group it holds passed Group.Validate, so a sink storing the bytes as they
// are need not validate them again.
func newMsg(subject, id string, data []byte, valid bool) *nats.Msg {
	m := &nats.Msg{Subject: subject, Data: data, Header: make(nats.Header, 2)}
	m.Header[jetstream.MsgIDHeader] = []string{id}
	if valid {
		m.Header[wire.ValidHeader] = validValue
	}
	return m
}

// validValue is wire.ValidHeader's value, shared by every message (the
// client only reads it).
var validValue = []string{wire.ValidValue}

// spill writes what is still buffered to dir, for the next Open to publish.
func (q *buffer) spill(dir string) (int, error) {
	items := q.peek(q.maxMsgs)
	if len(items) == 0 {
		return 0, nil
	}
	path := filepath.Join(dir, spillFile)
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o640)
	if err != nil {
		return 0, fmt.Errorf("bus: spill buffer: %w", err)
	}
	w := bufio.NewWriter(f)
	var hdr [3 * binary.MaxVarintLen64]byte
	for _, it := range items {
		n := binary.PutUvarint(hdr[:], uint64(len(it.subject)))
		n += binary.PutUvarint(hdr[n:], uint64(len(it.id)))
		n += binary.PutUvarint(hdr[n:], uint64(len(it.data)))
		_, _ = w.Write(hdr[:n])
		_, _ = w.WriteString(it.subject)
		_, _ = w.WriteString(it.id)
		_, _ = w.Write(it.data)
	}
	err = errors.Join(w.Flush(), f.Sync(), f.Close())
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return 0, fmt.Errorf("bus: spill buffer to %s: %w", path, err)
	}
	q.pop(len(items))
	return len(items), nil
}

// unspill loads a spill file left by the last Close into the buffer and
// removes it. A truncated tail (crash while writing) is reported, not fatal.
func (q *buffer) unspill(dir string) (int, error) {
	path := filepath.Join(dir, spillFile)
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	} else if err != nil {
		return 0, fmt.Errorf("bus: read spilled buffer: %w", err)
	}
	defer f.Close()
	r := bufio.NewReader(f)
	var items []pending
	var readErr error
	for {
		var lens [3]uint64
		for i := range lens {
			if lens[i], readErr = binary.ReadUvarint(r); readErr != nil {
				break
			}
		}
		if readErr != nil || lens[0]+lens[1]+lens[2] > 64<<20 {
			break
		}
		buf := make([]byte, lens[0]+lens[1]+lens[2])
		if _, readErr = io.ReadFull(r, buf); readErr != nil {
			break
		}
		data := buf[lens[0]+lens[1]:]
		items = append(items, pending{
			subject: string(buf[:lens[0]]), id: string(buf[lens[0] : lens[0]+lens[1]]), data: data, groups: wire.GroupCount(data),
		})
	}
	n := q.push(items)
	if err := os.Remove(path); err != nil {
		return n, fmt.Errorf("bus: remove spilled buffer: %w", err)
	}
	if readErr != nil && !errors.Is(readErr, io.EOF) {
		return n, fmt.Errorf("bus: spilled buffer %s is damaged after %d messages: %w", path, len(items), readErr)
	}
	return n, nil
}

// wake makes the drainer look at the buffer now.
func (q *buffer) wake() {
	select {
	case q.kick <- struct{}{}:
	default:
	}
}

// drop empties the buffer, counting every group as dropped.
func (q *buffer) drop() {
	n, _, _ := q.stats()
	groups := 0
	for _, it := range q.peek(n) {
		groups += it.groups
	}
	q.pop(n)
	q.mu.Lock()
	q.dropped += uint64(groups)
	q.mu.Unlock()
	q.m.dropped.Add(float64(groups))
}
