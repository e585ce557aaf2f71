package input_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/panoptes-go/panoptes/gnmimaps"
	"github.com/panoptes-go/panoptes/internal/gnmi"
	"github.com/panoptes-go/panoptes/internal/gnmi/input"
	"github.com/panoptes-go/panoptes/internal/gnmi/mapping"
	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/sim"
	"github.com/panoptes-go/panoptes/internal/sim/gnmisim"
)

type sink struct {
	mu   sync.Mutex
	sets []*metric.GroupSet
}

func (s *sink) emit(set *metric.GroupSet) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sets = append(s.sets, set)
}

// statuses lists the polling statuses published, in order, without repeats.
func (s *sink) statuses() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []int64
	for _, set := range s.sets {
		for _, g := range set.Groups {
			if g.Type == "status" {
				m, _ := g.Metric("polling_status")
				if len(out) == 0 || out[len(out)-1] != m.Value.Int64() {
					out = append(out, m.Value.Int64())
				}
			}
		}
	}
	return out
}

func (s *sink) count(typ string, since int) (sets, groups int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, set := range s.sets[since:] {
		n := 0
		for _, g := range set.Groups {
			if g.Type == typ {
				n++
			}
		}
		if n > 0 {
			sets++
			groups += n
		}
	}
	return sets, groups
}

func (s *sink) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sets)
}

func wait(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestTarget streams a simulated switch through the shipped interface
// mapping: each SAMPLE burst becomes one batch of 55 interface groups, the
// status group says 0, a dropped stream says 2 until it is back, a path
// the target lacks is status 6.
func TestTarget(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test (a simulated gNMI target): not with -short")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	farm, err := sim.Start(ctx, sim.Options{Devices: 1, Templates: []string{"switch48"}, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer farm.Close()
	srv, err := gnmisim.Start(ctx, farm.Devices(), gnmisim.Options{UpdateInterval: 250 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	tg := srv.Targets()[0]
	maps, err := mapping.LoadFS(gnmimaps.FS, ".")
	if err != nil {
		t.Fatal(err)
	}
	set := mapping.NewSet(maps...).Select(func(g *mapping.Group) bool { return g.Type == "interface" })
	res := &resource.Resource{Site: "s", Class: "network", Subclass: "switch", Type: "sim", ID: "sw1", Endpoint: tg.Addr}
	out := &sink{}
	states, metrics := input.NewStates(prometheus.NewRegistry()), gnmi.NewMetrics(nil)
	in := &input.Target{Resource: res, Name: "gnmi", Config: gnmi.Config{Address: tg.Addr}, Set: set,
		Interval: 2 * time.Second, Flush: 300 * time.Millisecond, MinBackoff: 200 * time.Millisecond, States: states, Metrics: metrics}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = in.Run(runCtx, out.emit) }()
	defer func() { stop(); <-done }()

	wait(t, "status 0", func() bool { s := out.statuses(); return len(s) > 0 && s[0] == 0 })
	if n := states.Count("success"); n != 1 || states.Count(input.StateConnecting) != 0 {
		t.Errorf("subscriptions streaming: %d, connecting: %d; want 1, 0", n, states.Count(input.StateConnecting))
	}
	if metrics.Notifications() == 0 {
		t.Error("no notification counted")
	}
	mark := out.len()
	time.Sleep(4 * time.Second)
	sets, groups := out.count("interface", mark)
	// Samples every 2 s (the interval): about two batches of 55 groups.
	if sets < 1 || groups < 55 || groups%55 != 0 && groups > 55*sets {
		t.Errorf("4 s of 2 s samples: %d batches holding %d interface groups", sets, groups)
	}
	before := len(out.statuses())
	tg.Drop()
	// Down (2), then up (0) again; a reconnect that failed in between
	// (another status on a loaded machine) does not matter.
	wait(t, "down then up", func() bool {
		s := out.statuses()[before:]
		return len(s) >= 2 && slices.Contains(s, metric.StatusNetworkFailure) && s[len(s)-1] == 0
	})
	if _, _, rc := metrics.Totals(); rc == 0 {
		t.Error("the reconnect after the drop was not counted")
	}
	stop()
	<-done
	if n := states.Count("success") + states.Count("network_failure") + states.Count(input.StateConnecting); n != 0 {
		t.Errorf("a stopped target is still counted in %d states", n)
	}

	// A mapping of a path the target does not serve: status 6.
	bad, err := mapping.Parse("x.yaml", []byte("name: x\ngroups:\n  - type: qos\n    path: /qos/queues/queue[name=*]\n    leaves: {d: state/dropped}\n    metrics: {dropped: d}\n"))
	if err != nil {
		t.Fatal(err)
	}
	out2 := &sink{}
	in2 := &input.Target{Resource: res, Name: "gnmi", Config: gnmi.Config{Address: tg.Addr}, Set: mapping.NewSet(bad),
		Interval: 2 * time.Second, Flush: 300 * time.Millisecond}
	ctx2, stop2 := context.WithCancel(ctx)
	done2 := make(chan struct{})
	go func() { defer close(done2); _ = in2.Run(ctx2, out2.emit) }()
	wait(t, "status 6", func() bool { s := out2.statuses(); return len(s) > 0 && s[0] == metric.StatusMissingMetrics })
	stop2()
	<-done2
}
