package bus

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"iter"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/panoptes-go/panoptes/internal/metric"
)

// setWindow bounds the publishes of one PublishSet awaiting their ack; past
// it, PublishSet waits for the oldest before sending more.
const setWindow = 512

// maxPooledBuffer keeps an unusually large set's buffer out of the pool.
const maxPooledBuffer = 4 << 20

// Subject is the bus subject of a group: panoptes.metrics.<site>.<group_type>.
func Subject(site, groupType string) string {
	return SubjectPrefix + SubjectToken(site) + "." + SubjectToken(groupType)
}

// SubjectToken makes s usable as one subject token: '.', '*', '>' and
// whitespace become '_', and an empty token becomes "_".
func SubjectToken(s string) string {
	if s == "" {
		return "_"
	}
	clean := true
	for _, r := range s {
		if badTokenRune(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if badTokenRune(r) {
			b.WriteByte('_')
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func badTokenRune(r rune) bool {
	return r == '.' || r == '*' || r == '>' || r == utf8.RuneError || unicode.IsSpace(r) || unicode.IsControl(r)
}

// subjectCache remembers subjects per site and group type: there are few
// of them, and building one per message would allocate on the hot path.
// The maps are copied on write, so that a lookup writes no shared memory
// (an RWMutex's reader count, contended by every check, cost more than the
// lookup), and keyed by one string each (a [2]string key is hashed by the
// runtime's generic path, ~4× slower).
type subjectCache struct {
	m  atomic.Pointer[map[string]map[string]string] // site → group type → subject; never modified once stored
	mu sync.Mutex                                   // serializes writers
	n  int                                          // subjects cached (under mu)
}

const maxCachedSubjects = 4096

func (c *subjectCache) get(site, groupType string) string {
	if m := c.m.Load(); m != nil {
		if s, ok := (*m)[site][groupType]; ok {
			return s
		}
	}
	s := Subject(site, groupType)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n >= maxCachedSubjects {
		return s
	}
	var old map[string]map[string]string
	if m := c.m.Load(); m != nil {
		old = *m
	}
	if _, ok := old[site][groupType]; ok {
		return s // another writer was first
	}
	m := maps.Clone(old)
	if m == nil {
		m = map[string]map[string]string{}
	}
	types := maps.Clone(old[site])
	if types == nil {
		types = map[string]string{}
	}
	types[groupType] = s
	m[site] = types
	c.m.Store(&m)
	c.n++
	return s
}

// publishState is PublishSet's reusable scratch space. All messages of a set
// are encoded into one buffer; it returns to the pool only when every
// publish is resolved, because the client keeps the bytes for retries.
type publishState struct {
	buf   []byte
	raw   []byte // the JSON while buf is compressed
	msgs  []setMsg
	sent  []sentMsg
	subj  []string    // the set's subjects, in order of first appearance
	gsub  []int       // each group's index in subj; -1 for an invalid group
	timer *time.Timer // ends the wait for acks; stopped between uses
	enc   metric.Encoder
}

// setMsg is one bus message of a set: the set's groups of one subject
// (up to MaxMessageBytes), one JSON document per line.
type setMsg struct {
	subject    string
	start, end int // in publishState.buf
	groups     int
	coalesce   bool // joins other sets' messages (coalescer)
}

// sentMsg is one message of a set handed to the client.
type sentMsg struct {
	msg   int // index in publishState.msgs
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
		msg := &r.st.msgs[m.msg]
		switch m.batch.outcome {
		case outcomeDropped:
			r.lost += msg.groups
		case outcomeRefused:
			r.refused += msg.groups
			r.fail(fmt.Errorf("publish %d groups on %s: %w", msg.groups, msg.subject, m.batch.err))
		default:
			r.settled += msg.groups
		}
	} else if m.fut != nil {
		var ok bool
		okC, errC := m.fut.Ok(), m.fut.Err()
		select {
		case <-okC:
			ok = true
		case <-errC:
		default:
			if r.waitOver() {
				return false
			}
			select {
			case <-okC:
				ok = true
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
			r.acked += r.st.msgs[m.msg].groups
		}
	}
	r.head++
	return true
}

// MaxMessageBytes bounds one bus message: a set's groups of one subject
// are cut into messages of about this size, well under NATS's default
// 1 MB max_payload.
const MaxMessageBytes = 256 << 10

// PublishSet publishes the groups of set, one message per subject (group
// type) holding that type's groups one per line (see Groups), cut at
// MaxMessageBytes. One message per group made the stream's per-message
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
	if set == nil || len(set.Groups) == 0 {
		return 0, nil
	}
	st := b.pool.Get().(*publishState)
	st.buf, st.raw, st.msgs, st.sent, st.subj, st.gsub = st.buf[:0], st.raw[:0], st.msgs[:0], st.sent[:0], st.subj[:0], st.gsub[:0]
	now := time.Now()
	r := publishRun{ctx: ctx, ctxDone: ctx.Done(), until: now.Add(b.publishTimeout), st: st}
	if !until.IsZero() && until.Before(r.until) {
		r.until = until
	}
	if d, ok := ctx.Deadline(); ok && d.Before(r.until) {
		r.until = d
	}
	defer r.disarm()

	invalid := st.encode(b, set, &r)
	direct := b.buf.empty() && b.nc.Status() == nats.CONNECTED
	if b.coalesce != nil && direct {
		for i := range st.msgs {
			st.msgs[i].coalesce = st.msgs[i].end-st.msgs[i].start < coalesceBelow
		}
	}
	if b.compress {
		st.compress()
	}
	for i := range st.msgs {
		msg := &st.msgs[i]
		if msg.coalesce {
			if bt := b.coalesce.add(msg.subject, st.buf[msg.start:msg.end], msg.groups, now, r.until); bt != nil {
				st.sent = append(st.sent, sentMsg{msg: i, batch: bt})
				continue
			}
		}
		m := sentMsg{msg: i, id: b.nextID()}
		if direct && !r.waitOver() && (r.inFlight() < setWindow || r.awaitOldest()) {
			f, err := b.publishAsync(&r, msg.subject, st.buf[msg.start:msg.end:msg.end], m.id)
			switch {
			case err == nil:
				m.fut = f
			case retryable(err):
				direct = false // the rest of the set goes to the buffer
			default:
				r.fail(fmt.Errorf("publish %d groups on %s: %w", msg.groups, msg.subject, err))
				invalid += msg.groups
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
			r.settled += st.msgs[m.msg].groups
			continue
		}
		if m.acked {
			continue
		}
		msg := &st.msgs[m.msg]
		later = append(later, pending{subject: msg.subject, id: m.id, groups: msg.groups,
			data: append([]byte(nil), st.buf[msg.start:msg.end]...)})
		laterGroups = append(laterGroups, msg.groups)
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
	if r.inFlight() == 0 && cap(st.buf) <= maxPooledBuffer && cap(st.raw) <= maxPooledBuffer {
		r.disarm()
		clear(st.sent)
		clear(st.msgs)
		clear(st.subj)
		b.pool.Put(st)
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

// encode writes set's groups into st.buf as messages, one per subject in
// order of first appearance (cut at MaxMessageBytes), and returns how many
// groups are invalid.
func (st *publishState) encode(b *Bus, set *metric.GroupSet, r *publishRun) (invalid int) {
	st.enc.Start(set) // a resource may have changed since the last set
	for i, g := range set.Groups {
		if g == nil || g.Resource == nil {
			r.fail(fmt.Errorf("group %d has no resource", i))
			st.gsub = append(st.gsub, -1)
			invalid++
			continue
		}
		subject := b.subjects.get(g.Resource.Site, g.Type)
		k := slices.Index(st.subj, subject)
		if k < 0 {
			k = len(st.subj)
			st.subj = append(st.subj, subject)
		}
		st.gsub = append(st.gsub, k)
	}
	for k, subject := range st.subj {
		cur := -1 // index in st.msgs of the message being filled
		for i, g := range set.Groups {
			if st.gsub[i] != k {
				continue
			}
			if cur >= 0 && st.msgs[cur].end-st.msgs[cur].start >= MaxMessageBytes {
				cur = -1
			}
			if cur < 0 {
				st.msgs = append(st.msgs, setMsg{subject: subject, start: len(st.buf), end: len(st.buf)})
				cur = len(st.msgs) - 1
			} else {
				st.buf = append(st.buf, '\n')
			}
			st.buf = st.enc.AppendJSON(st.buf, g)
			st.msgs[cur].end = len(st.buf)
			st.msgs[cur].groups++
		}
	}
	return invalid
}

// compress replaces each message of at least minCompress bytes by its S2
// framing, when that is smaller; st.raw keeps the JSON meanwhile. Messages
// to coalesce stay JSON: their batch is compressed as a whole.
func (st *publishState) compress() {
	if !slices.ContainsFunc(st.msgs, func(m setMsg) bool { return !m.coalesce && m.end-m.start >= minCompress }) {
		return // nothing to compress (light checks): no copy
	}
	st.raw, st.buf = st.buf, st.raw[:0]
	for i := range st.msgs {
		m := &st.msgs[i]
		raw := st.raw[m.start:m.end]
		start := len(st.buf)
		if len(raw) >= minCompress && !m.coalesce {
			st.buf = appendS2(st.buf, raw)
		}
		if len(st.buf) == start || len(st.buf)-start >= len(raw) {
			st.buf = append(st.buf[:start], raw...)
		}
		m.start, m.end = start, len(st.buf)
	}
}

// Groups yields the metrics groups of a bus message: one JSON document per
// line (a message written by an older version holds exactly one). Empty
// lines are skipped. The slices alias data, or, for a compressed message,
// its decompression; a damaged compressed message is yielded whole, as one
// undecodable line (call Payload first to see why).
func Groups(data []byte) iter.Seq[[]byte] {
	if Compressed(data) {
		if plain, err := Payload(nil, data); err == nil {
			data = plain
		} else {
			return func(yield func([]byte) bool) { yield(data) }
		}
	}
	return func(yield func([]byte) bool) {
		for len(data) > 0 {
			line := data
			if i := bytes.IndexByte(data, '\n'); i >= 0 {
				line, data = data[:i], data[i+1:]
			} else {
				data = nil
			}
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			if !yield(line) {
				return
			}
		}
	}
}

// DecodeMessage decodes every metrics group of a bus message, compressed
// or not; the first line that does not decode is the error.
func DecodeMessage(data []byte) ([]*metric.Group, error) {
	plain, err := Payload(nil, data)
	if err != nil {
		return nil, err
	}
	var out []*metric.Group
	for line := range Groups(plain) {
		g, err := metric.Decode(line)
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, nil
}

// GroupCount is the number of groups in a bus message.
func GroupCount(data []byte) int {
	n := 0
	for range Groups(data) {
		n++
	}
	return n
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
func (b *Bus) publishAsync(r *publishRun, subject string, data []byte, id string) (jetstream.PubAckFuture, error) {
	for {
		f, err := b.js.PublishMsgAsync(newMsg(subject, id, data))
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
