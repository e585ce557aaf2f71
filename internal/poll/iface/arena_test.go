package iface

import (
	"context"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/poll"
	"github.com/panoptes-go/panoptes/internal/poll/polltest"
	"github.com/panoptes-go/panoptes/internal/sim"
	"github.com/panoptes-go/panoptes/internal/snmp"
)

// TestArenaNotRetained: with enrichment the column walks decode into
// arenas that the next polls reuse; the groups of a poll must keep none of
// that memory. Polls of a simulated switch whose counters move between
// them: each poll's groups encode as they did when it returned, after
// later polls overwrote the arenas, and the arenas were reused.
func TestArenaNotRetained(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	clock, dev, pool := simSwitch(ctx, t, 5)
	p := &Interface{opts: interfaceOptions{enrichment: true, includeDot3: true}, now: clock.Now, walker: pool}
	res := polltest.Resource.Clone()
	res.ID = dev.Name
	encode := func(groups []*metric.Group) string {
		var b []byte
		for _, g := range groups {
			b = metric.AppendJSON(b, g)
		}
		return string(b)
	}
	type polled struct {
		groups []*metric.Group
		json   string
	}
	var polls []polled
	for i := range 5 {
		clock.Step(time.Minute)
		req := &poll.Request{Resource: res, Interval: time.Minute, Now: clock.Now(), Rates: i%2 == 1, Target: snmp.Target{
			Host: dev.Host, Port: dev.Port, Credential: configCred("2c"), Timeout: 2 * time.Second, Retries: 1,
			MaxRepetitions: snmp.DefaultMaxRepetitions}}
		groups, err := p.Poll(ctx, req)
		if poll.StatusOf(ctx, len(groups), err) != metric.StatusEnrichFailure {
			t.Fatalf("poll %d: %v (want only the enrichment failure: this node has no cache)", i, err)
		}
		polls = append(polls, polled{groups, encode(groups)})
		if len(arenas.ch) == 0 {
			t.Fatalf("poll %d: no arena kept for the next poll", i)
		}
	}
	for i, pl := range polls {
		if i > 0 && pl.json == polls[i-1].json {
			t.Fatalf("poll %d: the same groups as the poll before (the counters did not move)", i)
		}
		if got := encode(pl.groups); got != pl.json {
			t.Fatalf("poll %d's groups changed after later polls: they keep memory of a walk's arena", i)
		}
	}
}

// simSwitch starts one simulated 48-port switch (counters from seed) on a
// step clock, and a pool to poll it; both close with the test.
func simSwitch(ctx context.Context, t *testing.T, seed int64) (*stepClock, *sim.Device, *snmp.Pool) {
	t.Helper()
	clock := &stepClock{now: time.Unix(1_700_000_000, 0)}
	farm, err := sim.Start(ctx, sim.Options{Devices: 1, Templates: []string{"switch48"}, Seed: seed, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = farm.Close() })
	pool := snmp.NewPool(snmp.PoolOptions{})
	t.Cleanup(func() { _ = pool.Close() })
	return clock, farm.Devices()[0], pool
}
