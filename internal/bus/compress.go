package bus

import "github.com/panoptes-go/panoptes/internal/s2frame"

// Bus messages may be compressed with S2 in its standard framed format
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

const (
	// Compression names, as bus.compression takes them.
	CompressionS2   = "s2"
	CompressionNone = "none"

	// minCompress: smaller messages (a lone status group, ~700 bytes) gain
	// too little, and stay readable as they are.
	minCompress = 1024
)

// ErrDamaged is wrapped by Payload's error for a compressed message that
// does not decode: it was cut short or altered on the way.
var ErrDamaged = s2frame.ErrDamaged

// Compressed reports whether a bus message's payload is S2-compressed.
func Compressed(data []byte) bool { return s2frame.Is(data) }

// Payload returns a bus message's JSON Lines: data itself when it is not
// compressed, else its decompression appended to dst[:0] (which may be
// nil). The error wraps ErrDamaged.
func Payload(dst, data []byte) ([]byte, error) { return s2frame.Decode(dst, data) }

func appendS2(dst, raw []byte) []byte { return s2frame.Append(dst, raw) }
