package node

import (
	"context"
	"log/slog"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/procs"
)

// TestMaxProcsAuto: a node with runtime.max_procs: auto (the default) runs
// on one P while idle, on every core the runtime allows under a CPU-bound
// load, shows both in its self-metric, and leaves the default behind.
func TestMaxProcsAuto(t *testing.T) {
	if testing.Short() {
		t.Skip("runs an embedded bus for a few seconds")
	}
	runtime.SetDefaultGOMAXPROCS()
	ceiling := runtime.GOMAXPROCS(0)
	if ceiling < 2 {
		t.Skipf("the runtime's default here is %d P: nothing to go down from", ceiling)
	}
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "p.yaml")
	write(t, cfgPath, "site: lab\ndata_dir: data\nhttp: {listen: \"\"}\nruntime: {max_procs: auto}\n")
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	defer func(p procs.Policy) { procs.DefaultPolicy = p }(procs.DefaultPolicy)
	procs.DefaultPolicy = procs.Policy{Tick: 100 * time.Millisecond, Low: 0.4, High: 0.7, MaxLatency: 5 * time.Millisecond, MinEvents: 1, MinBusy: 0.25, Hold: 10, MaxHold: 20}
	n, err := New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		}
	}
	defer stop()

	gauge := func() float64 {
		mfs, err := n.Registry().Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() == "panoptes_runtime_max_procs" {
				return mf.GetMetric()[0].GetGauge().GetValue()
			}
		}
		t.Fatal("no panoptes_runtime_max_procs")
		return 0
	}
	wait := func(want int, why string) {
		t.Helper()
		// Both at once: on a busy machine the controller may move again
		// between the two reads, so they are read until they agree.
		deadline := time.Now().Add(20 * time.Second)
		for runtime.GOMAXPROCS(0) != want || gauge() != float64(want) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: GOMAXPROCS %d and panoptes_runtime_max_procs %v after 20 s, want %d", why, runtime.GOMAXPROCS(0), gauge(), want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	wait(1, "idle node")
	var spin atomic.Bool
	spin.Store(true)
	defer spin.Store(false)
	for range ceiling {
		go func() {
			for spin.Load() {
			}
		}()
	}
	wait(ceiling, "CPU-bound")
	spin.Store(false)
	stop()
	if got := runtime.GOMAXPROCS(0); got != ceiling {
		t.Errorf("after the node stopped: GOMAXPROCS %d, want the default %d", got, ceiling)
	}
}
