package node

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/sim"
	"github.com/panoptes-go/panoptes/internal/snmp"
)

// TestRatesAndEnrichmentWired runs a node whose interface plugin asks for
// rates and enrichment: the published groups carry names from the cache,
// status 0, and bits_in_rate equal to the simulator's seeded rate.
func TestRatesAndEnrichmentWired(t *testing.T) {
	if testing.Short() {
		t.Skip("runs simulated devices and a node for a few seconds")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	farm, err := sim.Start(ctx, sim.Options{Devices: 1, Templates: []string{"switch48"}, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer farm.Close()
	dir := t.TempDir()
	var inv strings.Builder
	if err := farm.WriteInventory(&inv, "sim"); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "devices.csv"), inv.String())
	write(t, filepath.Join(dir, "p.yaml"), `site: lab
data_dir: data
http: {listen: ""}
discovery: {sources: [{plugin: csv, path: devices.csv}]}
snmp: {credential: sim, credentials: {sim: {version: 2c, community: public}}}
polling:
  plugins:
    - {name: interface, interval: 1s, rates: [bits_in], options: {enrichment: true}}
sinks: [{type: file, path: out.jsonl, batch_timeout: 100ms}]
`)
	cfg, err := config.Load(filepath.Join(dir, "p.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	n, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- n.Run(runCtx) }()
	defer func() { stop(); <-done }()

	dev := farm.Devices()[0]
	indexes := ifIndexes(t, dev)
	out := filepath.Join(dir, "out.jsonl")
	var checked int
	for checked == 0 {
		if ctx.Err() != nil {
			t.Fatal("no interface group with bits_in_rate within a minute")
		}
		time.Sleep(300 * time.Millisecond)
		for _, l := range fileLines(t, out) {
			g, err := metric.Decode([]byte(l))
			if err != nil {
				t.Fatal(err)
			}
			if g.Type == "status" {
				if m, _ := g.Metric("polling_status"); m.Value.Int64() != metric.StatusSuccess && m.Value.Int64() != metric.StatusEnrichFailure {
					t.Fatalf("polling_status %v", m.Value)
				}
			}
			m, ok := g.Metric("bits_in_rate")
			if g.Type != "interface" || !ok {
				continue
			}
			name := g.Dimension("interface_name")
			if name == "" || name == "<not set>" {
				t.Errorf("an enriched group has no interface name: %v", g.Dimensions)
			}
			idx, ok := indexes[name]
			if !ok {
				t.Fatalf("interface %q is not in the device's ifName column", name)
			}
			perSec, ok := dev.Rate(fmt.Sprintf("1.3.6.1.2.1.31.1.1.1.6.%d", idx))
			if !ok {
				t.Fatalf("the simulator has no rate for %s (ifIndex %d)", name, idx)
			}
			want := float64(perSec * 8)
			if got := m.Value.Float64(); got < want*0.9 || got > want*1.1 {
				t.Errorf("%s: bits_in_rate %.0f, simulator's seeded rate %.0f bits/s", name, got, want)
			}
			checked++
		}
	}
	t.Logf("%d rates checked against the seeded rates", checked)
}

// ifIndexes maps interface names to ifIndex by walking the device's ifName
// column, as the collector would.
func ifIndexes(t *testing.T, dev *sim.Device) map[string]int {
	t.Helper()
	pool := snmp.NewPool(snmp.PoolOptions{})
	defer pool.Close()
	tg := snmp.Target{Host: dev.Host, Port: dev.Port, Credential: &snmp.Credential{Version: "2c", Community: "public"},
		Timeout: 2 * time.Second, MaxRepetitions: 25}
	vbs, err := pool.Walk(context.Background(), tg, ".1.3.6.1.2.1.31.1.1.1.1")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, vb := range vbs {
		parts := strings.Split(vb.Name, ".")
		idx, _ := strconv.Atoi(parts[len(parts)-1])
		out[string(vb.Value.([]byte))] = idx
	}
	return out
}
