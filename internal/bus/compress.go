package bus

import "github.com/panoptes-go/panoptes/internal/wire"

// Compression names, as bus.compression takes them. With S2 (the
// default) or zstd, PublishSet compresses each message worth it
// (wire.Compress, which says why, and what each costs); readers tell
// compressed and plain messages apart by their first bytes, so a bus may
// switch at any time, as long as every reader reads the codec (zstd:
// 2026-12-08 on).
const (
	CompressionZstd = "zstd"
	CompressionS2   = "s2"
	CompressionNone = "none"
)

// codecOf is the codec a bus.compression name selects ("" is the default).
func codecOf(name string) wire.Codec {
	switch name {
	case CompressionNone:
		return wire.CodecNone
	case CompressionZstd:
		return wire.CodecZstd
	}
	return wire.CodecS2
}
