package wire

import (
	"errors"

	"github.com/panoptes-go/panoptes/internal/s2frame"
	"github.com/panoptes-go/panoptes/internal/zstdframe"
)

// A message may be compressed in S2's standard framed format
// (internal/s2frame, the default) or as one Zstandard frame
// (internal/zstdframe): the
// payload then starts with the codec's magic bytes, which no JSON document
// can start with, so a reader tells the three apart without a header and
// every path a message takes (the publish buffer, its spill file, sourcing
// between sites) carries it unchanged.
//
// Why compress: Panoptes' JSON is verbose (a 48-port switch's interface
// check is ~230 KB). Without compression, 10,000 switches write 44 MB/s
// into the stream; the JetStream file store keeps recently written blocks
// in memory for a while (in 8 MiB buffers), so most of the process's
// memory was JSON in flight. Compressed, the stream, its caches, the
// clients' read buffers and every route and leaf link carry a tenth of it
// with S2 (~11×) and a twentieth with zstd (~21×: its entropy coding
// suits the JSON's digits, which S2's matches alone do not shrink). Why
// S2 stays the default: at 10,000 devices zstd took ~3 KB (13 %) off the
// RSS a device (the store's buffers track the bytes written) but cost
// ~10 % more CPU (3.3× S2's time to compress, 2.1× to decompress, every
// sink decompressing); BENCHMARKS.md, "zstd on the bus".

// Codec is how a publisher compresses messages.
type Codec uint8

const (
	CodecNone Codec = iota
	CodecS2
	CodecZstd
)

// MinCompress is the smallest message worth compressing: smaller ones (a
// lone status group, ~700 bytes) gain too little, and stay readable as
// they are.
const MinCompress = 1024

// ErrDamaged is wrapped by the error for a compressed message that does
// not decode: it was cut short or altered on the way.
var ErrDamaged = errors.New("damaged compressed message")

// Compressed reports whether a message's payload is compressed (either
// codec).
func Compressed(data []byte) bool { return zstdframe.Is(data) || s2frame.Is(data) }

// Compress appends raw (a message's JSON Lines) compressed with c to dst
// and reports true, when raw is at least MinCompress bytes and the result
// is smaller; otherwise it returns dst[:len(dst)] (perhaps grown) and
// false, and the message goes as it is.
func Compress(dst, raw []byte, c Codec) ([]byte, bool) {
	if len(raw) < MinCompress {
		return dst, false
	}
	start := len(dst)
	var z []byte
	switch c {
	case CodecS2:
		z = s2frame.Append(dst, raw)
	case CodecZstd:
		z = zstdframe.Append(dst, raw)
	default:
		return dst, false
	}
	if len(z)-start >= len(raw) {
		return z[:start], false
	}
	return z, true
}

// Decompress returns a message's JSON Lines: data itself when it is not
// compressed, else its decompression appended to dst[:0] (dst may be nil).
// The error wraps ErrDamaged.
func Decompress(dst, data []byte) ([]byte, error) {
	var out []byte
	var err error
	if zstdframe.Is(data) {
		out, err = zstdframe.Decode(dst, data)
	} else {
		out, err = s2frame.Decode(dst, data)
	}
	if err != nil {
		return nil, damaged{err}
	}
	return out, nil
}

// damaged is a codec's error for a damaged message: it reads as the
// codec's (which says which) and is ErrDamaged.
type damaged struct{ err error }

func (d damaged) Error() string        { return d.err.Error() }
func (d damaged) Unwrap() error        { return d.err }
func (d damaged) Is(target error) bool { return target == ErrDamaged }
