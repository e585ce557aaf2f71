package snmp

import (
	"context"
	"testing"
	"time"

	promtest "github.com/prometheus/client_golang/prometheus/testutil"
)

// Idle sessions are bounded across devices: the least recently used close
// first, and a device whose session was evicted gets a new one.
func TestMaxIdleSessionsAcrossDevices(t *testing.T) {
	if testing.Short() {
		t.Skip("runs simulated devices")
	}
	ctx := context.Background()
	farm := startSim(t, 5)
	p := NewPool(PoolOptions{MaxRequestsPerDevice: 1, MaxIdleSessions: 2, IdleTimeout: time.Minute})
	defer p.Close()
	get := func(i int) {
		t.Helper()
		if _, err := p.Get(ctx, simTarget(farm.Devices()[i]), []string{".1.3.6.1.2.1.1.3.0"}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 5 {
		get(i)
	}
	if open := promtest.ToFloat64(p.m.sessionsOpen); open != 2 {
		t.Errorf("%v sessions open after 5 devices with MaxIdleSessions 2", open)
	}
	opened := promtest.ToFloat64(p.m.sessionsOpened)
	get(4) // most recent: still idle, reused
	if got := promtest.ToFloat64(p.m.sessionsOpened); got != opened {
		t.Errorf("the most recently used session was not reused (%v opened, was %v)", got, opened)
	}
	get(0) // evicted long ago: opens a new one, evicting device 3's
	if got := promtest.ToFloat64(p.m.sessionsOpened); got != opened+1 {
		t.Errorf("an evicted device must open a new session (%v opened, was %v)", got, opened)
	}
	if open := promtest.ToFloat64(p.m.sessionsOpen); open != 2 {
		t.Errorf("%v sessions open, want the cap of 2", open)
	}
	p.mu.Lock()
	devices := len(p.devices)
	p.mu.Unlock()
	if devices != 2 {
		t.Errorf("the pool still tracks %d devices, want the 2 with idle sessions", devices)
	}
}
