package bus

import (
	"errors"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/panoptes-go/panoptes/internal/wire"
)

// coalesceBelow: a set's message smaller than this (JSON bytes) joins other
// sets' messages of the same subject; larger ones (a switch's interface
// groups) are already big enough to be sent alone.
const coalesceBelow = 16 << 10

// coalescer joins the small messages of concurrent PublishSets on the same
// subject into one bus message, sent when it reaches wire.MaxMessageBytes or
// Options.Linger after its first part, whichever comes first (Kafka's
// linger.ms), or sooner if a caller's wait would end before. Light checks
// (one GET, a status group and a tiny result) published one message each
// made the stream's per-message work — storing,
// deduplicating the id, delivering and acking to each sink — most of the
// collector's CPU; coalesced, thousands of checks a second are a few dozen
// messages. Each caller still learns its own parts' fate: acknowledged,
// buffered (the batch goes to the publish buffer as a whole, under one id)
// or dropped. A batch waits for its ack only until the earliest time one
// of its callers waits (as a PublishSet does for its own messages), so
// they wait on its done channel alone, without a timer each.
type coalescer struct {
	b      *Bus
	linger time.Duration

	mu     sync.Mutex
	open   map[string]*batch // by subject
	closed bool
	wg     sync.WaitGroup // batches being sent

	// bufs recycles batch buffers (JSON Lines and their compression). Grown
	// by appends to ~256 KB, a batch allocated ~0.5 MB: most of the
	// collector's garbage per light check, and so of its GC.
	bufs sync.Pool // *[]byte
}

// maxPooledBatch keeps an unusually grown buffer out of the pool.
const maxPooledBatch = 2 * wire.MaxMessageBytes

func (c *coalescer) getBuf() []byte {
	if p, ok := c.bufs.Get().(*[]byte); ok {
		return (*p)[:0]
	}
	return make([]byte, 0, 8<<10)
}

// putBuf recycles b, which nothing may read any more: the client copies a
// message when it sends it, and keeps it for retries only until its ack.
func (c *coalescer) putBuf(b []byte) {
	if cap(b) <= maxPooledBatch {
		c.bufs.Put(&b)
	}
}

// batch is one coalesced message being filled or sent.
type batch struct {
	subject string
	data    []byte // JSON Lines
	groups  int
	valid   bool // every part's groups passed Group.Validate (wire.ValidHeader)
	taken   bool // no longer open: being sent (under coalescer.mu)
	timer   *time.Timer
	sendAt  time.Time // when timer sends it (under coalescer.mu)
	ackBy   time.Time // the earliest of its callers' until (under coalescer.mu)

	done    chan struct{} // closed once result is set
	outcome outcome
	err     error // why, for outcomeRefused
	ref     Ref   // where the stream stored it, for outcomeAcked
}

type outcome uint8

const (
	outcomeAcked outcome = iota + 1
	outcomeBuffered
	outcomeDropped // the buffer is full
	outcomeRefused // the client will not send it (err)
)

func newCoalescer(b *Bus, linger time.Duration) *coalescer {
	return &coalescer{b: b, linger: linger, open: map[string]*batch{}}
}

// add appends lines (groups JSON documents) to subject's open batch and
// returns it; nil once the coalescer is closed (publish directly then).
// now is the caller's clock reading. The batch is settled (done closed)
// soon after until at the latest: it is sent by then, and what is not
// acknowledged by then goes to the buffer.
func (c *coalescer) add(subject string, lines []byte, groups int, valid bool, now, until time.Time) *batch {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	bt := c.open[subject]
	if bt == nil {
		bt = &batch{subject: subject, done: make(chan struct{}), data: c.getBuf(),
			sendAt: now.Add(c.linger), ackBy: until, valid: true}
		c.open[subject] = bt
		c.wg.Add(1)
		bt.timer = time.AfterFunc(min(c.linger, until.Sub(now)), func() { c.sendIfOpen(bt) })
	} else {
		bt.data = append(bt.data, '\n')
		if until.Before(bt.ackBy) {
			bt.ackBy = until
		}
	}
	if until.Before(bt.sendAt) { // this caller would stop waiting before the linger ends
		bt.sendAt = until
		bt.timer.Reset(until.Sub(now))
	}
	bt.data = append(bt.data, lines...)
	bt.groups += groups
	bt.valid = bt.valid && valid
	full := len(bt.data) >= wire.MaxMessageBytes-coalesceBelow
	if full {
		c.takeLocked(bt)
	}
	c.mu.Unlock()
	if full {
		bt.timer.Stop()
		go c.send(bt)
	}
	return bt
}

func (c *coalescer) takeLocked(bt *batch) bool {
	if bt.taken {
		return false
	}
	bt.taken = true
	if c.open[bt.subject] == bt {
		delete(c.open, bt.subject)
	}
	return true
}

func (c *coalescer) sendIfOpen(bt *batch) {
	c.mu.Lock()
	ok := c.takeLocked(bt)
	c.mu.Unlock()
	if ok {
		c.send(bt)
	}
}

// close sends what is open now and waits for every batch to be settled;
// later adds return nil.
func (c *coalescer) close() {
	c.mu.Lock()
	c.closed = true
	var open []*batch
	for _, bt := range c.open {
		if c.takeLocked(bt) {
			open = append(open, bt)
		}
	}
	c.mu.Unlock()
	for _, bt := range open {
		bt.timer.Stop()
		go c.send(bt)
	}
	c.wg.Wait()
}

// send publishes bt and waits for its ack up to the publish timeout or its
// ackBy, whichever is first; what is not acknowledged by then, or
// everything while the bus is down or the buffer is not empty (order), goes
// to the buffer, with the id it was published under (a late ack then makes
// the retry a duplicate the stream drops).
func (c *coalescer) send(bt *batch) {
	defer c.wg.Done()
	b := c.b
	c.mu.Lock() // ackBy is final once taken; the lock orders the read after it
	data, ackBy, valid := bt.data, bt.ackBy, bt.valid
	bt.data = nil
	c.mu.Unlock()
	if b.codec != wire.CodecNone && len(data) >= wire.MinCompress {
		if z, ok := wire.Compress(c.getBuf(), data, b.codec); ok {
			c.putBuf(data)
			data = z
		} else {
			c.putBuf(z)
		}
	}
	id := b.nextID()
	var ack *jetstream.PubAck
	var refused error
	if wait := min(b.publishTimeout, time.Until(ackBy)); wait > 0 && b.buf.empty() && b.nc.Status() == nats.CONNECTED {
		ack, refused = c.publish(bt.subject, id, data, valid, wait)
	}
	switch {
	case ack != nil:
		bt.outcome, bt.ref = outcomeAcked, Ref{Stream: ack.Stream, Seq: ack.Sequence}
		b.metrics.published.Add(float64(bt.groups))
		c.putBuf(data)
	case refused != nil:
		// As PublishSet does for a publish the client refuses outright:
		// retrying it from the buffer would hold everything behind it.
		bt.outcome, bt.err = outcomeRefused, refused
		b.metrics.publishErrors.Add(float64(bt.groups))
		c.putBuf(data)
	case b.buf.push([]pending{{subject: bt.subject, id: id, data: data, groups: bt.groups, valid: valid}}) == 1:
		bt.outcome = outcomeBuffered
	default:
		bt.outcome = outcomeDropped
		b.metrics.publishErrors.Add(float64(bt.groups))
	}
	close(bt.done)
}

// publish sends one message and returns its ack if it was acknowledged
// within wait, waiting while the connection's cap on pending acks is
// reached; refused is the client's error when it will not send the message
// at all (not a transient one: those leave the message to the buffer).
func (c *coalescer) publish(subject, id string, data []byte, valid bool, wait time.Duration) (ack *jetstream.PubAck, refused error) {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		f, err := c.b.js.PublishMsgAsync(newMsg(subject, id, data, valid))
		if errors.Is(err, jetstream.ErrTooManyStalledMsgs) {
			pause := time.NewTimer(5 * time.Millisecond)
			select {
			case <-timer.C:
				pause.Stop()
				return nil, nil
			case <-pause.C:
				continue
			}
		}
		if err != nil {
			if retryable(err) {
				return nil, nil
			}
			return nil, err
		}
		select {
		case ack := <-f.Ok():
			return ack, nil
		case <-f.Err():
			return nil, nil
		case <-timer.C:
			return nil, nil
		}
	}
}
