package bus

// Compression names, as bus.compression takes them. With S2 (the default),
// PublishSet compresses each message worth it (wire.Compress, which says
// why); readers tell compressed and plain messages apart by their first
// bytes, so a bus may switch at any time.
const (
	CompressionS2   = "s2"
	CompressionNone = "none"
)
