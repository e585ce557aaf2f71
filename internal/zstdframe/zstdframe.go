// Package zstdframe compresses small in-memory payloads (bus messages) as
// one Zstandard frame (RFC 8878, with its content checksum) and reads them
// back. A frame starts with Zstandard's magic number, bytes 28 b5 2f fd,
// which no JSON document starts with ('(' is not JSON), so a reader tells
// compressed and plain payloads apart without a header; any zstd tool or
// library reads what this writes.
//
// The encoder and the decoder are shared by the process (built on first
// use; klauspost/compress's EncodeAll and DecodeAll are safe for
// concurrent use, each call borrowing one of a few internal coders).
package zstdframe

import (
	"errors"
	"fmt"
	"runtime"
	"sync"

	"github.com/klauspost/compress/zstd"
)

const (
	// Magic starts every frame.
	Magic = "\x28\xb5\x2f\xfd"
	// MaxDecoded bounds what Decode expands a payload to: 64 times the
	// largest message a publisher writes (wire.MaxMessageBytes of JSON). A
	// frame declares its size and the decoder allocates it up front, so
	// the bound is also what a small crafted frame can make a reader
	// allocate before its checksum fails.
	MaxDecoded = 16 << 20
	// window is the encoder's match window: a bus message is at most
	// 256 KiB of JSON, so a larger window finds nothing more and costs
	// the decoder memory.
	window = 256 << 10
	// maxWindow is the largest window a frame may ask the decoder for:
	// zstd's own tools use up to 8 MiB at their default level.
	maxWindow = 8 << 20
)

// ErrDamaged is wrapped by Decode's error for a frame that does not decode:
// it was cut short or altered.
var ErrDamaged = errors.New("damaged zstd-compressed data")

// coders is how many payloads may be compressed (or decompressed) at once
// (more callers wait their turn): the Ps at first use, at least 2, at most
// 8. Each coder's memory is allocated on first use and kept.
func coders() int { return min(max(runtime.GOMAXPROCS(0), 2), 8) }

var encoder = sync.OnceValue(func() *zstd.Encoder {
	e, err := zstd.NewWriter(nil,
		zstd.WithEncoderLevel(zstd.SpeedFastest),
		zstd.WithEncoderConcurrency(coders()),
		zstd.WithWindowSize(window),
		zstd.WithLowerEncoderMem(true))
	if err != nil {
		panic(fmt.Sprintf("zstdframe: encoder options: %v", err)) // constant options: a programming error
	}
	return e
})

var decoder = sync.OnceValue(func() *zstd.Decoder {
	d, err := zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(coders()),
		zstd.WithDecoderMaxMemory(MaxDecoded),
		zstd.WithDecoderMaxWindow(maxWindow))
	if err != nil {
		panic(fmt.Sprintf("zstdframe: decoder options: %v", err))
	}
	return d
})

// Is reports whether data is a zstd frame.
func Is(data []byte) bool { return len(data) >= len(Magic) && string(data[:len(Magic)]) == Magic }

// Append appends raw, compressed as one frame, to dst.
func Append(dst, raw []byte) []byte { return encoder().EncodeAll(raw, dst) }

// Decode returns data itself when it is not a zstd frame, else its
// decompression appended to dst[:0] (dst may be nil). The error wraps
// ErrDamaged. Frames written back to back decode as one payload (zstd's
// rule; a skippable frame among them is skipped, and the library notes it
// on stderr).
func Decode(dst, data []byte) ([]byte, error) {
	if !Is(data) {
		return data, nil
	}
	out, err := decoder().DecodeAll(data, dst[:0])
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDamaged, err)
	}
	return out, nil
}
