package wire

import "github.com/panoptes-go/panoptes/internal/metric"

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
