package bus

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// coalesceBelow: a set's message smaller than this (JSON bytes) joins other
// sets' messages of the same subject; larger ones (a switch's interface
// groups) are already big enough to be sent alone.
const coalesceBelow = 16 << 10

// coalescer joins the small messages of concurrent PublishSets on the same
// subject into one bus message, sent when it reaches MaxMessageBytes or
// Options.Linger after its first part, whichever comes first (Kafka's
// linger.ms). Light checks (one GET, a status group and a tiny result)
// published one message each made the stream's per-message work — storing,
// deduplicating the id, delivering and acking to each sink — most of the
// collector's CPU; coalesced, thousands of checks a second are a few dozen
// messages. Each caller still learns its own parts' fate: acknowledged,
// buffered (the batch goes to the publish buffer as a whole, under one id)
// or dropped.
type coalescer struct {
	b      *Bus
	linger time.Duration

	mu     sync.Mutex
	open   map[string]*batch // by subject
	closed bool
	wg     sync.WaitGroup // batches being sent
}

// batch is one coalesced message being filled or sent.
type batch struct {
	subject string
	data    []byte // JSON Lines
	groups  int
	taken   bool // no longer open: being sent (under coalescer.mu)
	timer   *time.Timer

	done    chan struct{} // closed once result is set
	outcome outcome
	err     error // why, for outcomeRefused
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
func (c *coalescer) add(subject string, lines []byte, groups int) *batch {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	bt := c.open[subject]
	if bt == nil {
		bt = &batch{subject: subject, done: make(chan struct{}), data: make([]byte, 0, 8<<10)}
		c.open[subject] = bt
		c.wg.Add(1)
		bt.timer = time.AfterFunc(c.linger, func() { c.sendIfOpen(bt) })
	} else {
		bt.data = append(bt.data, '\n')
	}
	bt.data = append(bt.data, lines...)
	bt.groups += groups
	full := len(bt.data) >= MaxMessageBytes-coalesceBelow
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

// send publishes bt and waits for its ack up to the publish timeout; what
// is not acknowledged by then, or everything while the bus is down or the
// buffer is not empty (order), goes to the buffer, with the id it was
// published under (a late ack then makes the retry a duplicate the stream
// drops).
func (c *coalescer) send(bt *batch) {
	defer c.wg.Done()
	b := c.b
	data := bt.data
	if b.compress && len(data) >= minCompress {
		if z := appendS2(make([]byte, 0, len(data)/4), data); len(z) < len(data) {
			data = z
		}
	}
	id := b.nextID()
	acked := false
	var refused error
	if b.buf.empty() && b.nc.Status() == nats.CONNECTED {
		ctx, cancel := context.WithTimeout(context.Background(), b.publishTimeout)
		acked, refused = c.publish(ctx, bt.subject, id, data)
		cancel()
	}
	switch {
	case acked:
		bt.outcome = outcomeAcked
		b.metrics.published.Add(float64(bt.groups))
	case refused != nil:
		// As PublishSet does for a publish the client refuses outright:
		// retrying it from the buffer would hold everything behind it.
		bt.outcome, bt.err = outcomeRefused, refused
		b.metrics.publishErrors.Add(float64(bt.groups))
	case b.buf.push([]pending{{subject: bt.subject, id: id, data: data, groups: bt.groups}}) == 1:
		bt.outcome = outcomeBuffered
	default:
		bt.outcome = outcomeDropped
		b.metrics.publishErrors.Add(float64(bt.groups))
	}
	close(bt.done)
}

// publish sends one message and reports whether it was acknowledged before
// ctx ended, waiting while the connection's cap on pending acks is reached;
// refused is the client's error when it will not send the message at all
// (not a transient one: those leave the message to the buffer).
func (c *coalescer) publish(ctx context.Context, subject, id string, data []byte) (acked bool, refused error) {
	for {
		f, err := c.b.js.PublishMsgAsync(newMsg(subject, id, data))
		if errors.Is(err, jetstream.ErrTooManyStalledMsgs) {
			select {
			case <-ctx.Done():
				return false, nil
			case <-time.After(5 * time.Millisecond):
				continue
			}
		}
		if err != nil {
			if retryable(err) {
				return false, nil
			}
			return false, err
		}
		select {
		case <-f.Ok():
			return true, nil
		case <-f.Err():
			return false, nil
		case <-ctx.Done():
			return false, nil
		}
	}
}
