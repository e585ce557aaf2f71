package bus

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/wire"
)

// setWindow bounds the publishes of one PublishSet awaiting their ack; past
// it, PublishSet waits for the oldest before sending more.
const setWindow = 512

// maxPooledBuffer keeps an unusually large set's buffer out of the pool.
const maxPooledBuffer = 4 << 20

// publishState is PublishSet's reusable scratch space. All messages of a set
// are encoded into one buffer; it returns to the pool only when every
// publish is resolved, because the client keeps the bytes for retries.
type publishState struct {
	enc   wire.Encoder // the set's messages (wire.Message.Plain: coalesced)
	sent  []sentMsg
	timer *time.Timer // ends the wait for acks; stopped between uses
}

// sentMsg is one message of a set handed to the client.
type sentMsg struct {
	msg   int // index in publishState.enc.Messages()
	id    string
	fut   jetstream.PubAckFuture // nil: not sent (goes to the buffer)
	batch *batch                 // set instead of id and fut: coalesced
	acked bool
}

// publishRun tracks the acks of one PublishSet.
type publishRun struct {
	ctx      context.Context
	ctxDone  <-chan struct{} // ctx.Done(): nil for a ctx that never ends
	until    time.Time       // waiting for acks ends then (monotonic clock)
	armed    bool            // st.timer is set for until
	over     bool            // the wait is over
	st       *publishState
	head     int // sent[head:] may still be awaiting their ack
	acked    int // groups acknowledged, counted here (not coalesced)
	settled  int // coalesced groups acknowledged or buffered (counted by the coalescer)
	lost     int // coalesced groups dropped (buffer full)
	refused  int // coalesced groups the client refused to send
	firstErr error
	refs     *[]Ref // where acknowledged messages were stored (nil: not wanted)
}

// Ref locates a message in a stream: the stream that stored it and its
// sequence there (the publish ack's).
type Ref = wire.Ref

func (r *publishRun) addRef(ack *jetstream.PubAck) {
	if r.refs != nil && ack != nil {
		*r.refs = append(*r.refs, Ref{Stream: ack.Stream, Seq: ack.Sequence})
	}
}

func (r *publishRun) fail(err error) {
	if r.firstErr == nil {
		r.firstErr = err
	}
}

func (r *publishRun) inFlight() int { return len(r.st.sent) - r.head }

// waitOver reports whether waiting for acks is over: ctx is done or until
// has passed.
func (r *publishRun) waitOver() bool {
	if !r.over && (r.ctx.Err() != nil || !time.Now().Before(r.until)) {
		r.over = true
	}
	return r.over
}

// waitErr is why waiting ended, for publishAsync's caller.
func (r *publishRun) waitErr() error {
	if err := r.ctx.Err(); err != nil {
		return err
	}
	return context.DeadlineExceeded
}

// expiry is a channel that fires at until: the set's one timer, armed the
// first time the run blocks (a set whose acks are all in by then needs
// none).
func (r *publishRun) expiry() <-chan time.Time {
	if !r.armed {
		r.armed = true
		if r.st.timer == nil {
			r.st.timer = time.NewTimer(time.Until(r.until))
		} else {
			r.st.timer.Reset(time.Until(r.until))
		}
	}
	return r.st.timer.C
}

// disarm stops the timer, so that the state can be reused.
func (r *publishRun) disarm() {
	if r.armed {
		r.st.timer.Stop()
		r.armed = false
	}
}

// awaitOldest resolves the oldest pending publish; false when the wait is
// over (what is unresolved then goes to the buffer).
func (r *publishRun) awaitOldest() bool {
	m := &r.st.sent[r.head]
	if m.batch != nil {
		// The batch is settled by r.until (see coalescer.add): no timer,
		// and ctx matters only if it is cancelled before.
		if r.ctxDone == nil {
			<-m.batch.done
		} else {
			select {
			case <-m.batch.done:
			case <-r.ctxDone:
				r.over = true
				if r.ctx.Err() != context.DeadlineExceeded {
					return false
				}
				<-m.batch.done // its deadline is the batch's too
			}
		}
		m.acked = true // settled: not for this set to buffer
		msg := &r.st.enc.Messages()[m.msg]
		switch m.batch.outcome {
		case outcomeDropped:
			r.lost += msg.Groups
		case outcomeRefused:
			r.refused += msg.Groups
			r.fail(fmt.Errorf("publish %d groups on %s: %w", msg.Groups, msg.Subject, m.batch.err))
		default:
			r.settled += msg.Groups
			if m.batch.outcome == outcomeAcked && r.refs != nil {
				*r.refs = append(*r.refs, m.batch.ref)
			}
		}
	} else if m.fut != nil {
		var ok bool
		okC, errC := m.fut.Ok(), m.fut.Err()
		select {
		case ack := <-okC:
			ok = true
			r.addRef(ack)
		case <-errC:
		default:
			if r.waitOver() {
				return false
			}
			select {
			case ack := <-okC:
				ok = true
				r.addRef(ack)
			case <-errC:
			case <-r.ctxDone:
				r.over = true
				return false
			case <-r.expiry():
				r.over = true
				return false
			}
		}
		if ok {
			m.acked = true
			r.acked += r.st.enc.Messages()[m.msg].Groups
		}
	}
	r.head++
	return true
}

// PublishSet publishes the groups of set, one message per subject (group
// type) holding that type's groups one per line, cut at
// wire.MaxMessageBytes (the framing is wire.Encoder's). One message per group made the stream's per-message
// work (storing, deduplicating ids, delivering and acking to each sink)
// the collector's bottleneck at 10,000 devices: a 48-port switch's
// interface check is now 2 messages instead of 56.
//
// It never blocks the caller for long: acks are awaited at most
// Options.PublishTimeout (or until ctx is done; see also PublishSetUntil),
// and what is not acknowledged by then, or everything while the bus is down
// or the buffer is not empty (to keep order), goes to the local buffer,
// which a background goroutine publishes when the bus takes it. It returns
// how many groups were accepted (acknowledged or buffered), and an error
// describing the rest (invalid groups, or groups dropped because the buffer
// is full).
func (b *Bus) PublishSet(ctx context.Context, set *metric.GroupSet) (int, error) {
	return b.PublishSetUntil(ctx, set, time.Time{})
}

// PublishSetUntil is PublishSet with acks awaited no later than until
// either (zero: no such bound). A caller whose only bound is a time passes
// it here rather than in a context with a deadline, which costs a runtime
// timer and, for PublishSet's own timeout, a child context per call.
func (b *Bus) PublishSetUntil(ctx context.Context, set *metric.GroupSet, until time.Time) (int, error) {
	return b.publishSet(ctx, set, until, nil)
}

// PublishSetRefs is PublishSetUntil that also appends to refs where the
// stream stored the set's acknowledged messages, and returns refs: the
// status page reads a check's latest groups back by these (a coalesced
// message holds other sets' groups too). Messages acknowledged after the
// call returns (buffered ones) have none.
func (b *Bus) PublishSetRefs(ctx context.Context, set *metric.GroupSet, until time.Time, refs []Ref) (int, []Ref, error) {
	n, err := b.publishSet(ctx, set, until, &refs)
	return n, refs, err
}

func (b *Bus) publishSet(ctx context.Context, set *metric.GroupSet, until time.Time, refs *[]Ref) (int, error) {
	if set == nil || len(set.Groups) == 0 {
		return 0, nil
	}
	st := b.pool.get()
	st.enc.Reset()
	st.sent = st.sent[:0]
	now := time.Now()
	r := publishRun{ctx: ctx, ctxDone: ctx.Done(), until: now.Add(b.publishTimeout), st: st, refs: refs}
	if !until.IsZero() && until.Before(r.until) {
		r.until = until
	}
	if d, ok := ctx.Deadline(); ok && d.Before(r.until) {
		r.until = d
	}
	defer r.disarm()

	invalid, err := st.enc.Encode(set, &b.subjects, b.Layout())
	if err != nil {
		r.fail(err)
	}
	msgs := st.enc.Messages()
	direct := b.buf.empty() && b.nc.Status() == nats.CONNECTED
	// Small messages are coalesced whether or not the bus takes them now:
	// the batch goes to the buffer as one message when it does not (the
	// coalescer keeps the order). Buffered one per set, a node that fell
	// behind once (an ack stalled under load) put ~50,000 messages a
	// second into the buffer at 50,000 light checks/s, which the drain,
	// awaiting each message's ack, never caught up with.
	if b.coalesce != nil {
		for i := range msgs {
			msgs[i].Plain = msgs[i].Size() < coalesceBelow // coalesced, compressed with its batch
		}
	}
	if b.codec != wire.CodecNone {
		st.enc.Compress(b.codec)
	}
	for i := range msgs {
		msg := &msgs[i]
		if msg.Plain {
			if bt := b.coalesce.add(msg.Subject, st.enc.Bytes(i), msg.Groups, msg.Valid, now, r.until); bt != nil {
				st.sent = append(st.sent, sentMsg{msg: i, batch: bt})
				continue
			}
		}
		m := sentMsg{msg: i, id: b.nextID()}
		if direct && !r.waitOver() && (r.inFlight() < setWindow || r.awaitOldest()) {
			f, err := b.publishAsync(&r, msg.Subject, st.enc.Bytes(i), m.id, msg.Valid)
			switch {
			case err == nil:
				m.fut = f
			case retryable(err):
				direct = false // the rest of the set goes to the buffer
			default:
				r.fail(fmt.Errorf("publish %d groups on %s: %w", msg.Groups, msg.Subject, err))
				invalid += msg.Groups
				continue
			}
		}
		st.sent = append(st.sent, m)
	}
	for r.inFlight() > 0 && r.awaitOldest() {
	}

	// Whatever is not acknowledged goes to the buffer, in order; the IDs
	// make a retry of a publish that did land harmless.
	var later []pending
	var laterGroups []int
	for i := range st.sent {
		m := &st.sent[i]
		if m.batch != nil && !m.acked {
			// Still being sent: the coalescer acks or buffers it.
			r.settled += msgs[m.msg].Groups
			continue
		}
		if m.acked {
			continue
		}
		msg := &msgs[m.msg]
		later = append(later, pending{subject: msg.Subject, id: m.id, groups: msg.Groups, valid: msg.Valid,
			data: append([]byte(nil), st.enc.Bytes(m.msg)...)})
		laterGroups = append(laterGroups, msg.Groups)
	}
	buffered, dropped := 0, 0
	if len(later) > 0 {
		took := b.buf.push(later)
		for i, n := range laterGroups {
			if i < took {
				buffered += n
			} else {
				dropped += n
			}
		}
	}

	b.metrics.published.Add(float64(r.acked))
	if invalid+dropped > 0 {
		b.metrics.publishErrors.Add(float64(invalid + dropped))
	}
	invalid += r.refused // counted by the coalescer
	// Unresolved publishes may still read buf (client retries): drop it then.
	if r.inFlight() == 0 && st.enc.Cap() <= maxPooledBuffer {
		r.disarm()
		clear(st.sent)
		st.enc.Reset()
		b.pool.put(st)
	}
	accepted := r.acked + r.settled + buffered
	dropped += r.lost
	if dropped > 0 {
		r.firstErr = fmt.Errorf("%d dropped: the local publish buffer is full (%w)", dropped, ErrBufferFull)
	}
	if invalid+dropped == 0 {
		return accepted, nil
	}
	return accepted, fmt.Errorf("bus: %d of %d metrics groups not published: %w", invalid+dropped, len(set.Groups), r.firstErr)
}

// ErrBufferFull is wrapped by PublishSet's error when the bus is
// unavailable and the local buffer cannot take more.
var ErrBufferFull = errors.New("bus: publish buffer full")

// nextID is a message ID unique to this bus instance: a random prefix and
// a counter.
func (b *Bus) nextID() string {
	return b.idPrefix + strconv.FormatUint(b.idSeq.Add(1), 36)
}

// retryable errors mean the bus is unavailable right now, not that the
// message is bad.
func retryable(err error) bool {
	return errors.Is(err, nats.ErrConnectionClosed) || errors.Is(err, nats.ErrConnectionReconnecting) ||
		errors.Is(err, nats.ErrConnectionDraining) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) ||
		errors.Is(err, jetstream.ErrTooManyStalledMsgs) || errors.Is(err, nats.ErrNoResponders)
}

// publishAsync sends one message. When the connection-wide cap on pending
// acks is reached, it waits for this set's oldest publish (or briefly, if
// this set has none pending) and tries again.
func (b *Bus) publishAsync(r *publishRun, subject string, data []byte, id string, valid bool) (jetstream.PubAckFuture, error) {
	for {
		f, err := b.js.PublishMsgAsync(newMsg(subject, id, data, valid))
		if !errors.Is(err, jetstream.ErrTooManyStalledMsgs) {
			return f, err
		}
		if r.inFlight() > 0 {
			if !r.awaitOldest() {
				return nil, r.waitErr()
			}
			continue
		}
		if r.waitOver() {
			return nil, r.waitErr()
		}
		pause := time.NewTimer(10 * time.Millisecond)
		select {
		case <-r.ctxDone:
			pause.Stop()
			return nil, r.waitErr()
		case <-r.expiry():
			pause.Stop()
			return nil, r.waitErr()
		case <-pause.C:
		}
	}
}
