package wire

import (
	"bytes"
	"iter"

	"github.com/panoptes-go/panoptes/internal/metric"
)

// Groups yields the metrics groups of a message: one JSON document per line
// (a message written by an older version holds exactly one). Empty lines
// are skipped. The slices alias data, or, for a compressed message, its
// decompression; a damaged compressed message is yielded whole, as one
// undecodable line (call Decompress first to see why).
func Groups(data []byte) iter.Seq[[]byte] {
	if Compressed(data) {
		if plain, err := Decompress(nil, data); err == nil {
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

// GroupCount is the number of groups in a message.
func GroupCount(data []byte) int {
	n := 0
	for range Groups(data) {
		n++
	}
	return n
}

// Decode decodes every metrics group of a message, compressed or not; the
// first line that does not decode is the error.
func Decode(data []byte) ([]*metric.Group, error) {
	plain, err := Decompress(nil, data)
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

// maxKeptPlain bounds the buffer a Reader keeps between batches: messages
// hold up to MaxMessageBytes of JSON, and a rare larger one (another
// publisher) should not pin its buffer for good.
const maxKeptPlain = 1 << 20

// Reader decompresses messages one after the other into one reused
// buffer, so that a consumer streaming a batch holds about one
// decompressed message at a time. Its zero value is ready to use; not safe
// for concurrent use.
type Reader struct {
	plain []byte
}

// Payload is Decompress(data) into the reader's buffer: a compressed
// message's JSON Lines stay valid until the next call (whoever keeps them
// longer copies them).
func (r *Reader) Payload(data []byte) ([]byte, error) {
	out, err := Decompress(r.plain, data)
	if err == nil && Compressed(data) {
		r.plain = out[:0]
	}
	return out, err
}

// Trim lets go of the buffer if a large message grew it: call it between
// batches, when nothing refers to the last payload any more.
func (r *Reader) Trim() {
	if cap(r.plain) > maxKeptPlain {
		r.plain = nil
	}
}
