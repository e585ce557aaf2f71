package iface

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/poll/polltest"

	"github.com/panoptes-go/panoptes/internal/poll"

	"github.com/panoptes-go/panoptes/internal/testutil/natstest"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/rate"
	"github.com/panoptes-go/panoptes/internal/sim"
	"github.com/panoptes-go/panoptes/internal/snmp"
)

// stepClock is the simulator's and the plugin's clock, stepped by tests so
// that Δt between polls is exact.
type stepClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *stepClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *stepClock) Step(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// simPoller polls one simulated device with the interface plugin and
// applies rates, as node.checkFunc does.
type simPoller struct {
	t     *testing.T
	clock *stepClock
	pool  *snmp.Pool
	dev   *sim.Device
	proc  *rate.Processor
	ver   string
}

func (s *simPoller) target() snmp.Target {
	return snmp.Target{Host: s.dev.Host, Port: s.dev.Port, Credential: configCred(s.ver),
		Timeout: 2 * time.Second, Retries: 1, MaxRepetitions: snmp.DefaultMaxRepetitions}
}

func (s *simPoller) poll(ctx context.Context) map[string]*metric.Group {
	s.t.Helper()
	p := &Interface{opts: interfaceOptions{}, now: s.clock.Now}
	res := polltest.Resource.Clone()
	res.ID = s.dev.Name
	req := &poll.Request{Resource: res, Interval: time.Minute, Target: s.target(), SNMP: s.pool, Now: s.clock.Now(), Rates: true}
	groups, err := p.Poll(ctx, req)
	if err != nil {
		s.t.Fatal(err)
	}
	arrays := make([]*metric.Metric, len(groups))
	for i, g := range groups {
		arrays[i] = &g.Metrics[:cap(g.Metrics)][cap(g.Metrics)-1]
	}
	s.proc.Apply(ctx, &metric.GroupSet{Groups: groups}, rate.All(), s.clock.Now())
	for i, g := range groups { // the rates went into the room the plugin left
		if &g.Metrics[:cap(g.Metrics)][cap(g.Metrics)-1] != arrays[i] {
			s.t.Fatalf("group %d: the rates copied its metrics (capacity %d, %d metrics)", i, cap(g.Metrics), len(g.Metrics))
		}
	}
	return byName(s.t, groups)
}

// ifIndexes maps interface_name (ifName) to ifIndex.
func (s *simPoller) ifIndexes(ctx context.Context) map[string]uint32 {
	s.t.Helper()
	vbs, err := s.pool.Walk(ctx, s.target(), ".1.3.6.1.2.1.31.1.1.1.1")
	if err != nil {
		s.t.Fatal(err)
	}
	out := map[string]uint32{}
	for _, vb := range vbs {
		_, idx, _ := parseInstance(vb.Name, ifXTable.root)
		name, _ := snmp.Text(&vb)
		out[name] = idx
	}
	return out
}

// checkRates compares every interface's rates with the simulator's seeds:
// exact, as Δt is exact and the seeds are whole units per second.
func (s *simPoller) checkRates(groups map[string]*metric.Group, idx map[string]uint32) {
	s.t.Helper()
	for name, g := range groups {
		i := strconv.Itoa(int(idx[name]))
		for _, c := range []struct {
			metric string
			oid    string
			mul    uint64
		}{
			{"bits_in", ".1.3.6.1.2.1.2.2.1.10." + i, 8}, // same rate key as ifHCInOctets
			{"bits_out", ".1.3.6.1.2.1.2.2.1.16." + i, 8},
			{"unicast_packets_in", ".1.3.6.1.2.1.2.2.1.11." + i, 1},
		} {
			want, ok := s.dev.Rate(c.oid)
			if !ok {
				s.t.Fatalf("%s: simulator has no %s", name, c.oid)
			}
			got, ok := g.Metric(c.metric + rate.Suffix)
			if !ok {
				s.t.Errorf("%s: %s%s missing", name, c.metric, rate.Suffix)
				continue
			}
			if got.Value.Float64() != float64(want*c.mul) {
				s.t.Errorf("%s: %s%s = %v, want %d", name, c.metric, rate.Suffix, got.Value.Float64(), want*c.mul)
			}
		}
	}
}

func noRates(t *testing.T, groups map[string]*metric.Group, why string) {
	t.Helper()
	for name, g := range groups {
		for _, m := range g.Metrics {
			if m.Type == metric.Gauge && len(m.Name) > len(rate.Suffix) && m.Name[len(m.Name)-len(rate.Suffix):] == rate.Suffix {
				t.Errorf("%s (%s): %s = %v, want no rate", name, why, m.Name, m.Value)
			}
		}
	}
}

// TestInterfaceRatesAgainstSimulator polls the simulator through real SNMP
// with a stepped clock and checks the rates against its seeds: steady,
// across missed polls, across an agent restart (no spike), across a
// restart of the rate processor (state from JetStream KV), and across a
// Counter32 wrap (SNMPv1 reads ifInOctets).
func TestInterfaceRatesAgainstSimulator(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: simulator and embedded NATS")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	clock := &stepClock{now: time.Unix(1_700_000_000, 0)}
	farm, err := sim.Start(ctx, sim.Options{Devices: 2, Templates: []string{"switch48"}, Seed: 6, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = farm.Close() })
	pool := snmp.NewPool(snmp.PoolOptions{})
	t.Cleanup(func() { _ = pool.Close() })
	kv, err := rate.OpenBucket(ctx, natstest.JetStream(t, ""), time.Hour, 1)
	if err != nil {
		t.Fatal(err)
	}
	s := &simPoller{t: t, clock: clock, pool: pool, dev: farm.Devices()[0], proc: rate.New(rate.Options{KV: kv}), ver: "2c"}
	idx := s.ifIndexes(ctx)

	noRates(t, s.poll(ctx), "first poll")
	clock.Step(time.Minute)
	groups := s.poll(ctx)
	if len(groups) < 48 {
		t.Fatalf("%d interfaces, want ≥ 48", len(groups))
	}
	s.checkRates(groups, idx)

	t.Run("missed polls", func(t *testing.T) {
		s.t = t
		clock.Step(5 * time.Minute) // > 3 intervals: no rate
		noRates(t, s.poll(ctx), "Δt of 5 intervals")
		clock.Step(2 * time.Minute) // one missed poll: rate over 120 s
		s.checkRates(s.poll(ctx), idx)
	})

	t.Run("processor restart", func(t *testing.T) {
		s.t = t
		if err := s.proc.Flush(ctx, clock.Now()); err != nil {
			t.Fatal(err)
		}
		s.proc = rate.New(rate.Options{KV: kv}) // a restarted node
		clock.Step(time.Minute)
		s.checkRates(s.poll(ctx), idx)
	})

	t.Run("agent restart", func(t *testing.T) {
		s.t = t
		clock.Step(50 * time.Second)
		s.dev.Restart()
		clock.Step(10 * time.Second)
		noRates(t, s.poll(ctx), "agent restarted")
		clock.Step(time.Minute)
		s.checkRates(s.poll(ctx), idx)
	})

	t.Run("Counter32 wrap", func(t *testing.T) {
		w := &simPoller{t: t, clock: clock, pool: pool, dev: farm.Devices()[1], proc: rate.New(rate.Options{}), ver: "1"}
		idx := w.ifIndexes(ctx)
		// Step to 30 s before the fastest up interface's ifInOctets wraps.
		var oid, port string
		var fastest uint64
		for name, i := range idx {
			o := ".1.3.6.1.2.1.2.2.1.10." + strconv.Itoa(int(i))
			if r, _ := w.dev.Rate(o); r > fastest {
				fastest, oid, port = r, o, name
			}
		}
		cur, _ := w.dev.CounterAt(oid, clock.Now())
		if secs := int64((1<<32-cur)/fastest) - 30; secs > 0 {
			clock.Step(time.Duration(secs) * time.Second)
		}
		before := w.poll(ctx)
		clock.Step(time.Minute)
		after := w.poll(ctx)
		b0, _ := before[port].Metric("bits_in")
		b1, _ := after[port].Metric("bits_in")
		if b1.Value.Uint64() >= b0.Value.Uint64() {
			t.Fatalf("%s: bits_in %v → %v: the counter did not wrap", port, b0.Value, b1.Value)
		}
		w.checkRates(after, idx)

		// A Counter32 that goes down after a restart looks like a wrap;
		// only sysUpTime tells them apart (2^35 bits in 60 s is 573 Mbit/s,
		// plausible on these 1G ports).
		clock.Step(30 * time.Second)
		w.dev.Restart()
		clock.Step(30 * time.Second)
		noRates(t, w.poll(ctx), "SNMPv1 agent restarted")
		clock.Step(time.Minute)
		w.checkRates(w.poll(ctx), idx)
	})
}
