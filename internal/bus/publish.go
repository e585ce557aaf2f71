package bus

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

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

// subjectCache remembers subjects per (site, group type): there are few of
// them, and building one per message would allocate on the hot path.
type subjectCache struct {
	mu sync.RWMutex
	m  map[[2]string]string
}

const maxCachedSubjects = 4096

func (c *subjectCache) get(site, groupType string) string {
	k := [2]string{site, groupType}
	c.mu.RLock()
	s, ok := c.m[k]
	c.mu.RUnlock()
	if ok {
		return s
	}
	s = Subject(site, groupType)
	c.mu.Lock()
	if c.m == nil {
		c.m = make(map[[2]string]string)
	}
	if len(c.m) < maxCachedSubjects {
		c.m[k] = s
	}
	c.mu.Unlock()
	return s
}

// publishState is PublishSet's reusable scratch space. All messages of a set
// are encoded into one buffer; it returns to the pool only when every
// publish is resolved, because the client keeps the bytes for retries.
type publishState struct {
	buf  []byte
	ends []int // end of each group's message in buf; -1 for a group not encoded
	futs []jetstream.PubAckFuture
}

// publishRun tracks the acks of one PublishSet.
type publishRun struct {
	ctx      context.Context
	st       *publishState
	head     int // futs[head:] are awaiting their ack
	acked    int
	firstErr error
}

func (r *publishRun) fail(err error) {
	if r.firstErr == nil {
		r.firstErr = err
	}
}

func (r *publishRun) inFlight() int { return len(r.st.futs) - r.head }

// awaitOldest resolves the oldest pending publish; false when ctx is done.
func (r *publishRun) awaitOldest() bool {
	f := r.st.futs[r.head]
	select {
	case <-f.Ok():
		r.acked++
	case err := <-f.Err():
		r.fail(err)
	case <-r.ctx.Done():
		return false
	}
	r.st.futs[r.head] = nil
	r.head++
	return true
}

// PublishSet publishes every group of set as its own message to
// Subject(site, type), asynchronously with a bounded number in flight, and
// waits (bounded by ctx) for the acks. It returns how many were acked, and
// an error describing the rest.
func (b *Bus) PublishSet(ctx context.Context, set *metric.GroupSet) (int, error) {
	if set == nil || len(set.Groups) == 0 {
		return 0, nil
	}
	st := b.pool.Get().(*publishState)
	st.buf, st.ends, st.futs = st.buf[:0], st.ends[:0], st.futs[:0]
	r := publishRun{ctx: ctx, st: st}

	// Encode first: appending may move the buffer, so slices are cut after.
	for i, g := range set.Groups {
		if g == nil || g.Resource == nil {
			r.fail(fmt.Errorf("group %d has no resource", i))
			st.ends = append(st.ends, -1)
			continue
		}
		st.buf = metric.AppendJSON(st.buf, g)
		st.ends = append(st.ends, len(st.buf))
	}

	start := 0
	for i, g := range set.Groups {
		end := st.ends[i]
		if end < 0 {
			continue
		}
		data := st.buf[start:end:end]
		start = end
		if err := ctx.Err(); err != nil {
			r.fail(err)
			continue
		}
		if r.inFlight() >= setWindow && !r.awaitOldest() {
			r.fail(ctx.Err())
			continue
		}
		f, err := b.publishAsync(&r, b.subjects.get(g.Resource.Site, g.Type), data)
		if err != nil {
			r.fail(fmt.Errorf("publish %s group of %s: %w", g.Type, g.Resource.ID, err))
			continue
		}
		st.futs = append(st.futs, f)
	}
	for r.inFlight() > 0 && r.awaitOldest() {
	}

	n := len(set.Groups)
	b.metrics.published.Add(float64(r.acked))
	if r.acked < n {
		b.metrics.publishErrors.Add(float64(n - r.acked))
	}
	// Unresolved publishes may still read buf (client retries): drop it then.
	if r.inFlight() == 0 && cap(st.buf) <= maxPooledBuffer {
		clear(st.futs)
		b.pool.Put(st)
	}
	if r.acked == n {
		return n, nil
	}
	if r.firstErr == nil {
		r.firstErr = ctx.Err()
	}
	return r.acked, fmt.Errorf("bus: %d of %d metrics groups not acknowledged: %w", n-r.acked, n, r.firstErr)
}

// publishAsync sends one message. When the connection-wide cap on pending
// acks is reached, it waits for this set's oldest publish (or briefly, if
// this set has none pending) and tries again.
func (b *Bus) publishAsync(r *publishRun, subject string, data []byte) (jetstream.PubAckFuture, error) {
	for {
		f, err := b.js.PublishAsync(subject, data)
		if !errors.Is(err, jetstream.ErrTooManyStalledMsgs) {
			return f, err
		}
		if r.inFlight() > 0 {
			if !r.awaitOldest() {
				return nil, r.ctx.Err()
			}
			continue
		}
		select {
		case <-r.ctx.Done():
			return nil, r.ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}
