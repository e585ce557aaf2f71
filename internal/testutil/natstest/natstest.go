// Package natstest gives tests a real embedded NATS JetStream server,
// opened the way panoptes opens its own (bus.Open with a data dir), and
// stopped in t.Cleanup.
package natstest

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/panoptes-go/panoptes/internal/bus"
)

// JetStream starts an in-process embedded server storing its state in dir
// (a fresh t.TempDir() when dir is "") and returns a client to it. Two
// calls with the same dir, one after the other's cleanup, see the same state.
func JetStream(t testing.TB, dir string) jetstream.JetStream {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b, err := bus.Open(ctx, bus.Options{DataDir: dir})
	if err != nil {
		t.Fatalf("embedded NATS JetStream: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b.JetStream()
}
