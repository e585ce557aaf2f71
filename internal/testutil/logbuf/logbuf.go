// Package logbuf captures log output in tests: a bytes.Buffer safe for the
// concurrent writes of a logger shared by goroutines.
package logbuf

import (
	"bytes"
	"log/slog"
	"sync"
)

// Buffer is a goroutine-safe bytes.Buffer; its zero value is ready to use.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String is everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Logger is a text logger writing into b from level up.
func (b *Buffer) Logger(level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: level}))
}
