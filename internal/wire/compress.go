package wire

import "github.com/panoptes-go/panoptes/internal/s2frame"

// A message may be compressed with S2 in its standard framed format
// (internal/s2frame): the payload then starts with S2's stream identifier,
// which no JSON document can start with, so a reader tells the two apart
// without a header and every path a message takes (the publish buffer, its
// spill file, sourcing between sites) carries it unchanged.
//
// Why: Panoptes' JSON is verbose (a 48-port switch's interface check is
// ~230 KB) and compresses about 11×. Without compression, 10,000 switches
// write 44 MB/s into the stream; the JetStream file store keeps recent
// blocks in memory (block caches of 8 MiB, expiring after 10 s), so most
// of the process's memory was JSON in flight. Compressed, the stream, its
// caches, the clients' read buffers and every route and leaf link carry
// a tenth of it.

// MinCompress is the smallest message worth compressing: smaller ones (a
// lone status group, ~700 bytes) gain too little, and stay readable as
// they are.
const MinCompress = 1024

// ErrDamaged is wrapped by the error for a compressed message that does
// not decode: it was cut short or altered on the way.
var ErrDamaged = s2frame.ErrDamaged

// Compressed reports whether a message's payload is S2-compressed.
func Compressed(data []byte) bool { return s2frame.Is(data) }

// Compress appends the S2 framing of raw (a message's JSON Lines) to dst
// and reports true, when raw is at least MinCompress bytes and the framing
// is smaller; otherwise it returns dst[:len(dst)] (perhaps grown) and false,
// and the message goes as it is.
func Compress(dst, raw []byte) ([]byte, bool) {
	if len(raw) < MinCompress {
		return dst, false
	}
	start := len(dst)
	z := s2frame.Append(dst, raw)
	if len(z)-start >= len(raw) {
		return z[:start], false
	}
	return z, true
}

// Decompress returns a message's JSON Lines: data itself when it is not
// compressed, else its decompression appended to dst[:0] (dst may be nil).
// The error wraps ErrDamaged.
func Decompress(dst, data []byte) ([]byte, error) { return s2frame.Decode(dst, data) }
