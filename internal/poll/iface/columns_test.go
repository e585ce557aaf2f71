package iface

import (
	"context"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/poll"
	"github.com/panoptes-go/panoptes/internal/poll/polltest"
	"github.com/panoptes-go/panoptes/internal/snmp"
)

// oneByOne is a pool that walks one column at a time: it hides
// WalkColumns, so the plugin walks as it did before column walks.
type oneByOne struct {
	p *snmp.Pool
}

func (o oneByOne) Walk(ctx context.Context, t snmp.Target, root string) ([]snmp.Varbind, error) {
	return o.p.Walk(ctx, t, root)
}

func (o oneByOne) WalkSizedInto(ctx context.Context, t snmp.Target, root string, size int, buf []snmp.Varbind) ([]snmp.Varbind, error) {
	return o.p.WalkSizedInto(ctx, t, root, size, buf)
}

func (o oneByOne) Get(ctx context.Context, t snmp.Target, oids []string) ([]snmp.Varbind, error) {
	return o.p.Get(ctx, t, oids)
}

// TestColumnWalksAsOneByOne: with enrichment, a poll through the pool
// walks each table's needed columns together (dot3StatsTable's too); its
// groups are those of the walks one column at a time (and dot3StatsTable
// whole) at the same instant of the simulated device, in a few requests
// instead of one per column.
func TestColumnWalksAsOneByOne(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	clock, dev, pool := simSwitch(ctx, t, 3)

	poll2 := func(w walker) (string, uint64) {
		p := &Interface{opts: interfaceOptions{enrichment: true, includeDot3: true}, now: clock.Now, walker: w}
		res := polltest.Resource.Clone()
		res.ID = dev.Name
		req := &poll.Request{Resource: res, Interval: time.Minute, Now: clock.Now(), Target: snmp.Target{
			Host: dev.Host, Port: dev.Port, Credential: configCred("2c"), Timeout: 2 * time.Second, Retries: 1,
			MaxRepetitions: snmp.DefaultMaxRepetitions}}
		var out []byte
		var asked uint64
		for range 2 { // the first poll learns the interface count that fits max-repetitions
			before := dev.Stats().Requests
			groups, err := p.Poll(ctx, req)
			if poll.StatusOf(ctx, len(groups), err) != metric.StatusEnrichFailure {
				t.Fatalf("poll: %v (want only the enrichment failure: this node has no cache)", err)
			}
			asked = dev.Stats().Requests - before
			out = out[:0]
			for _, g := range groups {
				out = metric.AppendJSON(out, g)
			}
		}
		return string(out), asked
	}
	columns, askedColumns := poll2(pool)
	each, askedEach := poll2(oneByOne{pool})
	if columns != each {
		t.Fatalf("groups from column walks differ from walks one by one:\n%s\n%s", columns, each)
	}
	if len(columns) < 10_000 || askedColumns > 8 || askedEach < 30 {
		t.Fatalf("%d bytes of groups; %d requests by columns, %d one by one", len(columns), askedColumns, askedEach)
	}
	t.Logf("%d requests a poll by columns, %d one by one", askedColumns, askedEach)
}
