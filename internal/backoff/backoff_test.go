package backoff

import (
	"context"
	"errors"
	"testing"
	"time"
)

const ms = time.Millisecond

// TestNoJitterSequence: the ceiling doubles from Min and stays at Max;
// Reset starts over.
func TestNoJitterSequence(t *testing.T) {
	b := Backoff{Min: 100 * ms, Max: time.Second, Jitter: None}
	want := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for i, w := range want {
		if got := b.Next(); got != w*ms {
			t.Fatalf("wait %d = %v, want %v", i+1, got, w*ms)
		}
	}
	if b.Attempts() != len(want) {
		t.Fatalf("Attempts = %d, want %d", b.Attempts(), len(want))
	}
	b.Reset()
	if d := b.Next(); d != 100*ms || b.Attempts() != 1 {
		t.Errorf("after Reset: %v (attempt %d), want 100ms (1)", d, b.Attempts())
	}
}

// TestJitterBounds: every wait lies within its jitter's interval under the
// ceiling, Min ≤ ceiling ≤ Max, for many draws.
func TestJitterBounds(t *testing.T) {
	for _, tc := range []struct {
		name   string
		jitter Jitter
		lo     func(d time.Duration) time.Duration
	}{
		{"equal", Equal, func(d time.Duration) time.Duration { return d / 2 }},
		{"full", Full, func(time.Duration) time.Duration { return 0 }},
	} {
		for range 200 {
			b := Backoff{Min: 10 * ms, Max: 300 * ms, Jitter: tc.jitter}
			ceil := 10 * ms
			for i := range 8 {
				got := b.Next()
				if got < tc.lo(ceil) || got > ceil {
					t.Fatalf("%s: wait %d = %v, want within [%v, %v]", tc.name, i+1, got, tc.lo(ceil), ceil)
				}
				ceil = min(2*ceil, 300*ms)
			}
		}
	}
}

// TestJitterSpreads: many clients failing at once draw waits spread over
// the interval (each quarter of it gets a share), not one value.
func TestJitterSpreads(t *testing.T) {
	for _, tc := range []struct {
		name   string
		jitter Jitter
		lo, hi time.Duration
	}{
		{"equal", Equal, 500 * ms, time.Second},
		{"full", Full, 0, time.Second},
	} {
		var quarters [4]int
		distinct := map[time.Duration]bool{}
		const clients = 2000
		for range clients {
			b := Backoff{Min: time.Second, Max: time.Second, Jitter: tc.jitter}
			d := b.Next()
			distinct[d] = true
			q := int(4 * (d - tc.lo) / (tc.hi - tc.lo + 1))
			quarters[q]++
		}
		for q, n := range quarters {
			if n < clients/8 { // expected clients/4 each
				t.Errorf("%s: quarter %d of [%v, %v] got %d of %d waits: %v", tc.name, q, tc.lo, tc.hi, n, clients, quarters)
			}
		}
		if len(distinct) < clients/2 {
			t.Errorf("%s: only %d distinct waits of %d", tc.name, len(distinct), clients)
		}
	}
}

// TestZeroValue: a zero Backoff waits DefaultMin first and never more than
// DefaultMax; Max below Min caps at Max.
func TestZeroValue(t *testing.T) {
	var b Backoff
	b.Jitter = None
	if d := b.Next(); d != DefaultMin {
		t.Fatalf("first wait %v, want %v", d, DefaultMin)
	}
	for range 40 {
		if d := b.Next(); d > DefaultMax {
			t.Fatalf("wait %v above DefaultMax", d)
		}
	}
	if d := b.Next(); d != DefaultMax {
		t.Fatalf("capped wait %v, want %v", d, DefaultMax)
	}
	c := Backoff{Min: time.Second, Max: 100 * ms, Jitter: None}
	if d := c.Next(); d != 100*ms {
		t.Fatalf("Max below Min: %v, want 100ms", d)
	}
}

// TestWait: Wait sleeps the drawn wait, and returns at once with ctx's
// error when ctx ends first.
func TestWait(t *testing.T) {
	b := Backoff{Min: 30 * ms, Max: 30 * ms, Jitter: None}
	start := time.Now()
	if err := b.Wait(context.Background()); err != nil || time.Since(start) < 30*ms {
		t.Fatalf("Wait = %v after %v, want nil after 30ms", err, time.Since(start))
	}
	ctx, cancel := context.WithCancel(context.Background())
	long := Backoff{Min: time.Hour, Max: time.Hour}
	go func() { time.Sleep(20 * ms); cancel() }()
	start = time.Now()
	if err := long.Wait(ctx); !errors.Is(err, context.Canceled) || time.Since(start) > 10*time.Second {
		t.Fatalf("Wait = %v after %v, want Canceled soon after the cancel", err, time.Since(start))
	}
	if err := Sleep(ctx, 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("Sleep(0) on a done ctx = %v", err)
	}
}
