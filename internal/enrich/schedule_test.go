package enrich_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/poll/iface"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/panoptes-go/panoptes/internal/enrich"
	"github.com/panoptes-go/panoptes/internal/poll"
	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/sim"
	"github.com/panoptes-go/panoptes/internal/snmp"
	"github.com/panoptes-go/panoptes/internal/testutil/natstest"
	"github.com/panoptes-go/panoptes/internal/testutil/simdevice"
)

// countingSource passes lookups to a Cache, counting the requests the
// cache sends through the poll's SNMP client: its inline collections.
type countingSource struct {
	cache *enrich.Cache
	walks atomic.Int64
}

func (s *countingSource) Lookup(ctx context.Context, res *resource.Resource, t snmp.Target, sn enrich.SNMP, seen enrich.Signals, want enrich.Need) (*enrich.Device, error) {
	return s.cache.Lookup(ctx, res, t, &countingSNMP{SNMP: sn, walks: &s.walks}, seen, want)
}

type countingSNMP struct {
	enrich.SNMP
	walks *atomic.Int64
}

func (c *countingSNMP) Walk(ctx context.Context, t snmp.Target, root string) ([]snmp.Varbind, error) {
	c.walks.Add(1)
	return c.SNMP.Walk(ctx, t, root)
}

// TestScheduleRefreshesAheadOfPolls runs the enrichment role (a Refresher)
// beside polls of two simulated switches for more than two enrichment
// intervals: the polls never walk the slow columns themselves, on the
// node that refreshes (memory) or on a poller-only node (KV), and every
// interface has its name.
func TestScheduleRefreshesAheadOfPolls(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: simulator and embedded NATS")
	}
	const interval = 2 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	farm, err := sim.Start(ctx, sim.Options{Devices: 2, Templates: []string{"switch48"}, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = farm.Close() })
	pool := snmp.NewPool(snmp.PoolOptions{})
	t.Cleanup(func() { _ = pool.Close() })
	kv, err := enrich.OpenBucket(ctx, natstest.JetStream(t, ""), time.Hour, 1)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	enricher := enrich.New(enrich.Options{KV: kv, Refresh: interval, Registerer: reg})
	poller := enrich.New(enrich.Options{KV: kv, Refresh: interval}) // another node, without the role
	var targets []enrich.Target
	var resources []*resource.Resource
	for _, d := range farm.Devices() {
		res := baseRes.Clone()
		res.ID = d.Name
		res.Endpoint = d.Addr
		resources = append(resources, res)
		targets = append(targets, enrich.Target{Resource: res, SNMP: v2c(d.Host, d.Port, "public")})
	}
	r := enrich.NewRefresher(enrich.RefresherOptions{Cache: enricher, SNMP: pool, MaxConcurrent: 2})
	r.Update(targets)
	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- r.Run(rctx) }()
	defer func() {
		stop()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v", err)
		}
	}()
	scheduled := func() float64 {
		return labelled(t, reg, "panoptes_enrichment_collections_total", "trigger", "scheduled")
	}
	for deadline := time.Now().Add(10 * time.Second); scheduled() < 2; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%v scheduled collections, want one per device", scheduled())
		}
	}

	local, remote := &countingSource{cache: enricher}, &countingSource{cache: poller}
	p := interfacePlugin(t, true)
	polls := 0
	for end := time.Now().Add(2*interval + interval/2); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		for i, res := range resources {
			for _, src := range []*countingSource{local, remote} {
				groups, err := p.Poll(ctx, &poll.Request{Resource: res, Interval: time.Minute, Target: targets[i].SNMP,
					SNMP: pool, Now: time.Now(), Enrich: src})
				if err != nil {
					t.Fatalf("poll %s: %v", res.ID, err)
				}
				if len(groups) < 48 || groups[0].Dimension("interface_name") == iface.NotSet {
					t.Fatalf("poll %s: %d groups, first %v", res.ID, len(groups), groups[0].Dimensions)
				}
				polls++
			}
		}
	}
	if n := local.walks.Load() + remote.walks.Load(); n != 0 {
		t.Errorf("polls walked %d slow columns themselves (memory node %d, KV node %d), want 0",
			n, local.walks.Load(), remote.walks.Load())
	}
	// Initial collections plus at least one refresh of each device.
	if n := scheduled(); n < 4 {
		t.Errorf("%v scheduled collections over %v, want at least 4", n, 2*interval+interval/2)
	}
	if n := labelled(t, reg, "panoptes_enrichment_lookups_total", "source", "collected"); n != 0 {
		t.Errorf("%v inline collections on the enrichment node", n)
	}
	// The Refresher runs the bucket's watch: its visits skip the KV reads
	// of values this node wrote itself.
	if n := labelled(t, reg, "panoptes_enrichment_kv_reads_total", "result", "skipped"); n < 2 {
		t.Errorf("%v KV reads skipped by the enrichment node's visits, want at least one a device", n)
	}
	t.Logf("%d polls, %v scheduled collections, no inline walk", polls, scheduled())
}

// labelled sums the series of a counter whose label has value.
func labelled(t *testing.T, reg *prometheus.Registry, name, label, value string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					total += m.GetCounter().GetValue()
				}
			}
		}
	}
	return total
}

// TestChangedAliasAfterAgentRestart: within the enrichment interval (1h)
// a changed ifAlias is not seen; once the device restarts (here: the
// simulator serves a new recording on the same port, sysUpTime back near
// 0) the next poll sees sysUpTime go back and collects the new alias at
// once, with a KV TTL of an hour (the TTL is not what expires the data).
func TestChangedAliasAfterAgentRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: simulator and embedded NATS")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dev := simdevice.Serve(t, ifRecording(123456789, "before"))
	pool := snmp.NewPool(snmp.PoolOptions{})
	t.Cleanup(func() { _ = pool.Close() })
	kv, err := enrich.OpenBucket(ctx, natstest.JetStream(t, ""), time.Hour, 1)
	if err != nil {
		t.Fatal(err)
	}
	cache := enrich.New(enrich.Options{KV: kv, Refresh: time.Hour, MinInterval: time.Millisecond})
	p := interfacePlugin(t, true)
	alias := func() string {
		t.Helper()
		groups, err := p.Poll(ctx, &poll.Request{Resource: baseRes, Interval: time.Minute, Target: v2c("127.0.0.1", dev.Port, "public"),
			SNMP: pool, Now: time.Now(), Enrich: cache})
		if err != nil {
			t.Fatal(err)
		}
		g, ok := byName(groups)["Gi0/1"]
		if !ok {
			t.Fatalf("no interface Gi0/1 in %d groups", len(groups))
		}
		return g.Dimension("alias")
	}
	if a := alias(); a != "before" {
		t.Fatalf("alias %q, want before", a)
	}
	dev.Replace(t, ifRecording(123456789+500, "changed without a restart"))
	if a := alias(); a != "before" {
		t.Errorf("alias %q without a restart, within the interval: want the cached before", a)
	}
	dev.Replace(t, ifRecording(100, "after restart"))
	if a := alias(); a != "after restart" {
		t.Errorf("alias %q after the restart, want the new one", a)
	}
}

// ifRecording is an .snmprec of a two-port device whose sysUpTime is
// uptime (hundredths) and whose first port's ifAlias is alias.
func ifRecording(uptime int, alias string) string {
	var b strings.Builder
	row := func(oid string, typ int, v any) { fmt.Fprintf(&b, "%s|%d|%v\n", oid, typ, v) }
	row("1.3.6.1.2.1.1.2.0", 6, "1.3.6.1.4.1.9.1.516")
	row("1.3.6.1.2.1.1.3.0", 67, uptime)
	row("1.3.6.1.2.1.1.5.0", 4, "sw-rec")
	const ifEntry, ifX = "1.3.6.1.2.1.2.2.1", "1.3.6.1.2.1.31.1.1.1"
	for _, c := range []struct {
		col, typ int
		v        func(i int) any
	}{
		{2, 4, func(i int) any { return fmt.Sprintf("GigabitEthernet0/%d", i) }},
		{3, 2, func(int) any { return 6 }},
		{5, 66, func(int) any { return 1000000000 }},
		{7, 2, func(int) any { return 1 }},
		{8, 2, func(int) any { return 1 }},
		{10, 65, func(i int) any { return 1000 * i }},
		{16, 65, func(i int) any { return 2000 * i }},
	} {
		for i := 1; i <= 2; i++ {
			row(fmt.Sprintf("%s.%d.%d", ifEntry, c.col, i), c.typ, c.v(i))
		}
	}
	row("1.3.6.1.2.1.31.1.5.0", 67, 50)
	for _, c := range []struct {
		col, typ int
		v        func(i int) any
	}{
		{1, 4, func(i int) any { return fmt.Sprintf("Gi0/%d", i) }},
		{6, 70, func(i int) any { return 1000 * i }},
		{10, 70, func(i int) any { return 2000 * i }},
		{15, 66, func(int) any { return 1000 }},
		{18, 4, func(i int) any {
			if i == 1 {
				return alias
			}
			return "uplink"
		}},
	} {
		for i := 1; i <= 2; i++ {
			row(fmt.Sprintf("%s.%d.%d", ifX, c.col, i), c.typ, c.v(i))
		}
	}
	return b.String()
}
