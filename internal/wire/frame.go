package wire

import (
	"fmt"
	"slices"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/resource"
)

// MaxMessageBytes bounds a message: a set's groups of one subject are cut
// into messages of about this size (a message is closed once it reaches
// it, so it may pass it by one group), well under NATS's default 1 MB
// max_payload.
const MaxMessageBytes = 256 << 10

// Message is one message framed by an Encoder: its subject, its group
// count and where its bytes lie in the encoder's buffer (Encoder.Bytes).
type Message struct {
	Subject string
	Groups  int
	// Plain keeps the message JSON through Encoder.Compress: set by a
	// publisher that joins it to others and compresses them as a whole.
	Plain bool
	// Valid: every group of the message passed metric.Group.Validate
	// (see ValidHeader).
	Valid      bool
	start, end int
}

// Size is the message's length in bytes.
func (m *Message) Size() int { return m.end - m.start }

// Encoder frames the groups of a set into messages: one per subject, in
// the order subjects first appear, holding that subject's groups in order,
// one JSON document per line (no trailing newline), cut at
// MaxMessageBytes. All messages share one buffer, reused by the next set
// after Reset. Not safe for concurrent use.
type Encoder struct {
	buf  []byte
	raw  []byte // the JSON while buf holds the compressed messages
	msgs []Message
	subj []string // the set's subjects, in order of first appearance
	gsub []int    // each group's index in subj; -1 for an invalid group
	gok  []bool   // each group passed metric.Group.Validate
	enc  metric.Encoder
}

// Reset forgets the last set, keeping the buffers.
func (e *Encoder) Reset() {
	clear(e.msgs)
	clear(e.subj)
	e.buf, e.raw, e.msgs, e.subj, e.gsub, e.gok = e.buf[:0], e.raw[:0], e.msgs[:0], e.subj[:0], e.gsub[:0], e.gok[:0]
}

// Encode frames set's groups (after Reset) for layout l, naming subjects
// through subjects: a group's subject is its site's, its type's and, in a
// partitioned layout, its resource's partition's. It returns how many groups
// it left out for having no resource, with the error of the first. A
// message is Valid when each of its groups passes metric.Group.Validate
// (checked on the structs, a fraction of what a consumer's metric.Validate
// of the JSON costs).
func (e *Encoder) Encode(set *metric.GroupSet, subjects *SubjectCache, l Layout) (invalid int, err error) {
	e.enc.Start(set) // a resource may have changed since the last set
	if need := sizeHint(set); cap(e.buf)-len(e.buf) < need {
		e.buf = slices.Grow(e.buf, need)
	}
	var last *resource.Resource // a set's groups share few resources (usually one)
	part := 0
	for i, g := range set.Groups {
		if g == nil || g.Resource == nil {
			if err == nil {
				err = fmt.Errorf("group %d has no resource", i)
			}
			e.gsub = append(e.gsub, -1)
			e.gok = append(e.gok, false)
			invalid++
			continue
		}
		if g.Resource != last {
			last, part = g.Resource, l.Partition(g.Resource.ID)
		}
		e.gok = append(e.gok, encodesValid(g))
		subject := subjects.Metrics(l, g.Resource.Site, g.Type, part)
		k := slices.Index(e.subj, subject)
		if k < 0 {
			k = len(e.subj)
			e.subj = append(e.subj, subject)
		}
		e.gsub = append(e.gsub, k)
	}
	for k, subject := range e.subj {
		cur := -1 // index in e.msgs of the message being filled
		for i, g := range set.Groups {
			if e.gsub[i] != k {
				continue
			}
			if cur >= 0 && e.msgs[cur].Size() >= MaxMessageBytes {
				cur = -1
			}
			if cur < 0 {
				e.msgs = append(e.msgs, Message{Subject: subject, Valid: true, start: len(e.buf), end: len(e.buf)})
				cur = len(e.msgs) - 1
			} else {
				e.buf = append(e.buf, '\n')
			}
			e.buf = e.enc.AppendJSON(e.buf, g)
			e.msgs[cur].end = len(e.buf)
			e.msgs[cur].Groups++
			e.msgs[cur].Valid = e.msgs[cur].Valid && e.gok[i]
		}
	}
	return invalid, err
}

// sizeHint is about the JSON size of set's groups (a group with its
// resource ~1 KB, a metric ~90 bytes): a new encoder (its pool came back
// empty) then allocates its buffer once instead of doubling it a dozen
// times, copying each time (BenchmarkEncode48Fresh).
func sizeHint(set *metric.GroupSet) int {
	n := 0
	for _, g := range set.Groups {
		if g != nil {
			n += 1024 + 96*len(g.Metrics)
		}
	}
	return n
}

// encodesValid reports whether metric.Validate accepts g's JSON: whether g
// passes Group.Validate once the encoder has written the schema version it
// writes for an empty one.
func encodesValid(g *metric.Group) bool {
	if g.SchemaVersion == "" {
		h := *g
		h.SchemaVersion = metric.SchemaVersion
		return h.Validate() == nil
	}
	return g.Validate() == nil
}

// Messages are the framed messages; a caller may set their Plain.
func (e *Encoder) Messages() []Message { return e.msgs }

// Bytes is message i's payload, valid until Reset (capped: appending to it
// copies).
func (e *Encoder) Bytes(i int) []byte {
	m := &e.msgs[i]
	return e.buf[m.start:m.end:m.end]
}

// Cap is the capacity of the encoder's largest buffer, for a pool to drop
// an unusually grown encoder.
func (e *Encoder) Cap() int { return max(cap(e.buf), cap(e.raw)) }

// Compress replaces each message that is not Plain by its compression
// with c when that is worth it (see Compress).
func (e *Encoder) Compress(c Codec) {
	if !slices.ContainsFunc(e.msgs, func(m Message) bool { return !m.Plain && m.Size() >= MinCompress }) {
		return // nothing to compress (light checks): no copy
	}
	e.raw, e.buf = e.buf, e.raw[:0]
	for i := range e.msgs {
		m := &e.msgs[i]
		raw := e.raw[m.start:m.end]
		start := len(e.buf)
		ok := false
		if !m.Plain {
			e.buf, ok = Compress(e.buf, raw, c)
		}
		if !ok {
			e.buf = append(e.buf, raw...)
		}
		m.start, m.end = start, len(e.buf)
	}
}
