package node

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/enrich"
	"github.com/panoptes-go/panoptes/internal/sim"
)

// TestEnrichmentRole runs a node with the enrichment role and no poller
// role against two simulated switches: it polls nothing, yet collects both
// devices' enrichment into memory and KV at once; when one device leaves
// the inventory its data leaves memory and KV, the other's stays.
func TestEnrichmentRole(t *testing.T) {
	if testing.Short() {
		t.Skip("runs an embedded bus, discovery and a simulator for a few seconds")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	farm, err := sim.Start(ctx, sim.Options{Devices: 2, Templates: []string{"switch48"}, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = farm.Close() })
	d1, d2 := farm.Devices()[0], farm.Devices()[1]
	dir := t.TempDir()
	csv := filepath.Join(dir, "devices.csv")
	write(t, csv, fmt.Sprintf("id,endpoint,site,class\nsw1,%s,lab,network\nsw2,%s,lab,network\n", d1.Addr, d2.Addr))
	cfgPath := filepath.Join(dir, "p.yaml")
	write(t, cfgPath, `site: lab
data_dir: data
roles: [discovery, resource_manager, enrichment]
http: {listen: ""}
discovery:
  interval: 1s
  sources: [{plugin: csv, path: devices.csv}]
snmp:
  credential: c
  credentials: {c: {version: 2c, community: public}}
  timeout: 1s
enrichment: {interval: 1m, ttl: 1h, max_concurrent: 2}
polling:
  plugins:
    - {name: interface, interval: 1m, options: {enrichment: true}}
`)
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	n, err := New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	keyOf := func(id string) string {
		for _, r := range n.index.Snapshot() {
			if r.ID == id {
				return r.Key()
			}
		}
		return ""
	}
	kvKeys := func() int {
		kv, err := n.bus.JetStream().KeyValue(ctx, enrich.Bucket)
		if err != nil {
			return -1
		}
		l, err := kv.ListKeys(ctx)
		if err != nil {
			return -1
		}
		c := 0
		for range l.Keys() {
			c++
		}
		return c
	}
	wait := func(why string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			if n.readiness() == nil && cond() {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("timed out: %s", why)
			}
		}
	}
	var k1, k2 string
	wait("both devices enriched", func() bool {
		k1, k2 = keyOf("sw1"), keyOf("sw2")
		return k1 != "" && k2 != "" && n.poller.Enrichment().Refreshing() == 2 && n.poller.Cache().Has(k1) && n.poller.Cache().Has(k2) && kvKeys() == 2
	})
	if got := n.poller.Scheduler().Len(); got != 0 {
		t.Errorf("%d checks scheduled on a node without the poller role", got)
	}

	write(t, csv, fmt.Sprintf("id,endpoint,site,class\nsw1,%s,lab,network\n", d1.Addr))
	wait("sw2's enrichment gone", func() bool {
		return n.poller.Enrichment().Refreshing() == 1 && !n.poller.Cache().Has(k2) && n.poller.Cache().Len() == 1 && kvKeys() == 1
	})
	if !n.poller.Cache().Has(k1) {
		t.Error("sw1's enrichment dropped with sw2's")
	}
}
