package procs

import (
	"bytes"
	"context"
	"log/slog"
	"math"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

var testPolicy = Policy{Tick: time.Second, Low: 0.4, High: 0.7, MaxLatency: 5 * time.Millisecond, MinEvents: 100, MinBusy: 0.25, Hold: 3, MaxHold: 12}

func TestDecide(t *testing.T) {
	ms := time.Millisecond
	for _, c := range []struct {
		name string
		st   State
		x    Sample
		want State
	}{
		{"quiet at the ceiling counts", State{Procs: 2, Ceiling: 2, Hold: 3, SinceDown: 50},
			Sample{Cores: 0.1}, State{Procs: 2, Ceiling: 2, LowTicks: 1, Hold: 3, SinceDown: 51}},
		{"quiet for the hold goes down", State{Procs: 2, Ceiling: 2, LowTicks: 2, Hold: 3, SinceDown: 50},
			Sample{Cores: 0.1}, State{Procs: 1, Ceiling: 2, Hold: 3}},
		{"the hold defaults to the policy's", State{Procs: 2, Ceiling: 2, LowTicks: 2},
			Sample{Cores: 0.1}, State{Procs: 1, Ceiling: 2, Hold: 3}},
		{"a busy tick restarts the count", State{Procs: 2, Ceiling: 2, LowTicks: 2, Hold: 3},
			Sample{Cores: 0.5}, State{Procs: 2, Ceiling: 2, Hold: 3, SinceDown: 1}},
		{"latency at the ceiling is no reason to stay", State{Procs: 2, Ceiling: 2, LowTicks: 2, Hold: 3, SinceDown: 50},
			Sample{Cores: 0.1, LatencyP99: 50 * ms, Events: 1000}, State{Procs: 1, Ceiling: 2, Hold: 3}},
		{"one P saturated goes up", State{Procs: 1, Ceiling: 2, Hold: 3, SinceDown: 50},
			Sample{Cores: 0.75}, State{Procs: 2, Ceiling: 2, Hold: 3, SinceDown: 51}},
		{"up to the ceiling, not a step", State{Procs: 1, Ceiling: 8, Hold: 3, SinceDown: 50},
			Sample{Cores: 0.9}, State{Procs: 8, Ceiling: 8, Hold: 3, SinceDown: 51}},
		{"goroutines waiting go up", State{Procs: 1, Ceiling: 2, Hold: 3, SinceDown: 50},
			Sample{Cores: 0.3, LatencyP99: 8 * ms, Events: 500}, State{Procs: 2, Ceiling: 2, Hold: 3, SinceDown: 51}},
		{"a wait while nearly idle is the machine's", State{Procs: 1, Ceiling: 2, Hold: 3, SinceDown: 50},
			Sample{Cores: 0.1, LatencyP99: 50 * ms, Events: 500}, State{Procs: 1, Ceiling: 2, Hold: 3, SinceDown: 51}},
		{"a wait over too few wake-ups is not judged", State{Procs: 1, Ceiling: 2, Hold: 3, SinceDown: 50},
			Sample{Cores: 0.3, LatencyP99: 8 * ms, Events: 20}, State{Procs: 1, Ceiling: 2, Hold: 3, SinceDown: 51}},
		{"between low and high one P stays", State{Procs: 1, Ceiling: 2, Hold: 3, SinceDown: 50},
			Sample{Cores: 0.6, LatencyP99: ms, Events: 500}, State{Procs: 1, Ceiling: 2, Hold: 3, SinceDown: 51}},
		{"up soon after down doubles the hold", State{Procs: 1, Ceiling: 2, Hold: 3, SinceDown: 2},
			Sample{Cores: 0.8}, State{Procs: 2, Ceiling: 2, Hold: 6, SinceDown: 3}},
		{"the hold stops at the maximum", State{Procs: 1, Ceiling: 2, Hold: 10, SinceDown: 5},
			Sample{Cores: 0.8}, State{Procs: 2, Ceiling: 2, Hold: 12, SinceDown: 6}},
		{"up after a long stay resets the hold", State{Procs: 1, Ceiling: 2, Hold: 12, SinceDown: 100},
			Sample{Cores: 0.8}, State{Procs: 2, Ceiling: 2, Hold: 3, SinceDown: 101}},
		{"a one-P ceiling never moves", State{Procs: 1, Ceiling: 1, LowTicks: 9, Hold: 3},
			Sample{Cores: 0.95, LatencyP99: 50 * ms, Events: 1000}, State{Procs: 1, Ceiling: 1, Hold: 3, SinceDown: 1}},
	} {
		if got := Decide(testPolicy, c.st, c.x); got != c.want {
			t.Errorf("%s: %+v after %+v = %+v, want %+v", c.name, c.st, c.x, got, c.want)
		}
	}
}

// A load at the edge (quiet at the ceiling, saturating one P) changes
// GOMAXPROCS less and less often.
func TestDecideBacksOff(t *testing.T) {
	st := State{Procs: 2, Ceiling: 2}
	var downs []int
	for tick := range 200 {
		cores := 0.3 // what the node uses on two Ps
		if st.Procs == 1 {
			cores = 0.8 // saturated on one
		}
		next := Decide(testPolicy, st, Sample{Cores: cores})
		if next.Procs < st.Procs {
			downs = append(downs, tick)
		}
		st = next
	}
	// holds 3, 6, 12, 12...: downs at ticks 2, 9, 22, 35...
	if len(downs) < 4 || downs[1]-downs[0] >= downs[2]-downs[1] || downs[3]-downs[2] < 12 {
		t.Errorf("went down at ticks %v: want growing gaps up to the maximum hold", downs)
	}
}

func TestP99(t *testing.T) {
	ms := 1e-3
	buckets := []float64{math.Inf(-1), 0, 1 * ms, 2 * ms, 4 * ms, 8 * ms, math.Inf(1)}
	prev := []uint64{0, 10, 10, 10, 10, 10}
	cur := []uint64{0, 100, 15, 13, 11, 11} // 90, 5, 3, 1, 1 since prev
	if got, n := p99(prev, cur, buckets); got != 4*time.Millisecond || n != 100 {
		t.Errorf("p99 = %v over %d, want 4ms over 100", got, n)
	}
	if got, n := p99(cur, cur, buckets); got != 0 || n != 0 {
		t.Errorf("no events: %v over %d", got, n)
	}
	if got, n := p99(nil, cur, buckets); got != 0 || n != 0 {
		t.Errorf("no previous reading: %v over %d", got, n)
	}
}

// The controller itself: an idle process goes down to one P, a CPU-bound
// one comes back to the ceiling, and the end restores the default.
func TestRunFollowsTheLoad(t *testing.T) {
	runtime.SetDefaultGOMAXPROCS()
	ceiling := runtime.GOMAXPROCS(0)
	if ceiling < 2 {
		t.Skipf("the runtime's default here is %d P: nothing to go down from", ceiling)
	}
	p := Policy{Tick: 50 * time.Millisecond, Low: 0.4, High: 0.7, MaxLatency: 5 * time.Millisecond, MinEvents: 1, MinBusy: 0.25, Hold: 4, MaxHold: 8}
	before := Changes()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { Run(ctx, 0, false, p, slog.New(slog.DiscardHandler)); close(done) }()
	defer func() { cancel(); <-done }()

	waitProcs(t, 1, "idle")
	var stop atomic.Bool
	defer stop.Store(true)
	for range ceiling {
		go func() {
			for !stop.Load() {
			}
		}()
	}
	waitProcs(t, ceiling, "CPU-bound")
	if got := Changes() - before; got < 2 {
		t.Errorf("%d changes counted, want at least 2", got)
	}
	cancel()
	<-done
	if got := runtime.GOMAXPROCS(0); got != ceiling {
		t.Errorf("after the controller: GOMAXPROCS %d, want the default %d", got, ceiling)
	}
}

func TestRunFixedAndEnvironment(t *testing.T) {
	runtime.SetDefaultGOMAXPROCS()
	def := runtime.GOMAXPROCS(0)
	var logs bytes.Buffer
	run := func(fixed int, env bool) (during int) {
		logs.Reset()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { Run(ctx, fixed, env, DefaultPolicy, slog.New(slog.NewTextHandler(&logs, nil))); close(done) }()
		// A busy machine may start Run late: the fixed case waits up to 5 s
		// for the change; the environment's, which expects none, 200 ms.
		wait := 5 * time.Second
		if env {
			wait = 200 * time.Millisecond
		}
		deadline := time.Now().Add(wait)
		for runtime.GOMAXPROCS(0) != fixed && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		during = runtime.GOMAXPROCS(0)
		cancel()
		<-done
		return during
	}
	const above = "above the CPUs this process may use"
	if got := run(def+1, false); got != def+1 {
		t.Errorf("max_procs %d: GOMAXPROCS %d", def+1, got)
	}
	if !strings.Contains(logs.String(), above) {
		t.Errorf("max_procs %d above the %d CPUs: no warning in %q", def+1, def, logs.String())
	}
	if got := run(def, false); got != def || strings.Contains(logs.String(), above) {
		t.Errorf("max_procs %d, the CPUs this process may use: GOMAXPROCS %d, log %q", def, got, logs.String())
	}
	if got := run(def+1, true); got != def {
		t.Errorf("GOMAXPROCS in the environment: the config changed it to %d", got)
	}
	if got := runtime.GOMAXPROCS(0); got != def {
		t.Errorf("after: %d, want the default %d", got, def)
	}
}

func waitProcs(t *testing.T, want int, why string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.GOMAXPROCS(0) != want {
		if time.Now().After(deadline) {
			t.Fatalf("%s: GOMAXPROCS %d after 10 s, want %d", why, runtime.GOMAXPROCS(0), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
