// Package backoff spaces retries: waits that double from Min up to Max,
// with jitter, so that clients that failed together (every sink of a
// cluster when its store restarts, every node of a cluster started at
// once) do not all retry together.
package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Defaults for a zero Min or Max.
const (
	DefaultMin = 100 * time.Millisecond
	DefaultMax = 30 * time.Second
)

// Jitter is how a wait is drawn below its exponential ceiling d.
type Jitter uint8

const (
	// Equal draws from [d/2, d]: at least half the wait, the rest spread.
	// The zero value, and what a retry of a failing store or cluster
	// should use.
	Equal Jitter = iota
	// Full draws from [0, d]: the widest spread, but a retry may come at
	// once.
	Full
	// None waits exactly d: for tests that measure the waits.
	None
)

// Backoff yields the waits between attempts. The ceiling starts at Min and
// doubles with every Next up to Max; Reset (after a success) starts over.
// Its zero value is usable (DefaultMin, DefaultMax, Equal jitter); it is
// not safe for concurrent use.
type Backoff struct {
	Min, Max time.Duration
	Jitter   Jitter

	ceil     time.Duration // of the last wait; 0 before the first
	attempts int
}

// Next is the wait before the next attempt.
func (b *Backoff) Next() time.Duration {
	lo, hi := b.Min, b.Max
	if lo <= 0 {
		lo = DefaultMin
	}
	if hi <= 0 {
		hi = max(DefaultMax, lo)
	}
	if b.ceil == 0 {
		b.ceil = min(lo, hi)
	} else if b.ceil < hi {
		b.ceil = min(2*b.ceil, hi)
	}
	b.attempts++
	d := b.ceil
	switch b.Jitter {
	case Full:
		return time.Duration(rand.Int64N(int64(d) + 1))
	case None:
		return d
	default:
		return d/2 + time.Duration(rand.Int64N(int64(d-d/2)+1))
	}
}

// Reset starts the waits over from Min.
func (b *Backoff) Reset() { b.ceil, b.attempts = 0, 0 }

// Attempts is how many waits Next has given since the last Reset.
func (b *Backoff) Attempts() int { return b.attempts }

// Wait sleeps Next() or until ctx is done, and returns ctx's error then.
func (b *Backoff) Wait(ctx context.Context) error { return Sleep(ctx, b.Next()) }

// Sleep waits d or until ctx is done, and returns ctx's error then.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
