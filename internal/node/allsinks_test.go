package node

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/testutil/freeport"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/sim"
	"github.com/panoptes-go/panoptes/internal/testutil/influx"
	"github.com/panoptes-go/panoptes/internal/testutil/promserver"
)

func freeTCP(t *testing.T) string { return freeport.Addr(freeport.TCP(t)) }

func fileLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines
}

// TestOnePollFeedsEverySink runs one node against simulated switches with
// five sinks at once — file, InfluxDB, Prometheus exposition, Prometheus
// remote write, Kafka — and checks that each store holds what the file
// sink holds.
func TestOnePollFeedsEverySink(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: runs InfluxDB, Prometheus and a Kafka broker")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	farm, err := sim.Start(ctx, sim.Options{Devices: 2, Templates: []string{"switch48"}, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	defer farm.Close()
	ifx := influx.Start(t)
	prom := promserver.StartPrometheus(t, nil)
	kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(4, "lab-processed"))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()

	dir := t.TempDir()
	var inv strings.Builder
	if err := farm.WriteInventory(&inv, "sim"); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "devices.csv"), inv.String())
	expo := freeTCP(t)
	write(t, filepath.Join(dir, "p.yaml"), fmt.Sprintf(`site: lab
data_dir: data
http: {listen: ""}
discovery: {sources: [{plugin: csv, path: devices.csv}]}
snmp:
  credential: sim
  credentials: {sim: {version: 2c, community: public}}
polling:
  plugins: [{name: interface, interval: 2s}]
sinks:
  - {type: file, path: out.jsonl}
  - {name: influx, type: influxdb, influxdb: {url: %q, database: panoptes}}
  - {name: expo, type: prometheus, prometheus: {listen: %q}}
  - {name: rw, type: prometheus_remote_write, prometheus: {url: %q}}
  - {name: kafka, type: kafka, kafka: {brokers: [%q]}}
`, ifx.URL, expo, prom.RemoteWriteURL(), kc.ListenAddrs()[0]))
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
	out := filepath.Join(dir, "out.jsonl")
	// Two rounds of two 48-port switches: 2 × 2 × (interfaces + status).
	for len(fileLines(t, out)) < 200 {
		if ctx.Err() != nil {
			t.Fatalf("only %d lines in the file sink", len(fileLines(t, out)))
		}
		time.Sleep(200 * time.Millisecond)
	}
	// The exposition endpoint serves while the node runs.
	resp, err := http.Get("http://" + expo + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "panoptes_interface_bits_in_total{") {
		t.Errorf("exposition endpoint has no bits_in series:\n%.500s", body)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}

	// The file is the reference: every other store must hold the same groups.
	lines := fileLines(t, out)
	var ifGroups int
	latest := map[string]*metric.Group{} // resource id + interface → latest group
	for _, l := range lines {
		g, err := metric.Decode([]byte(l))
		if err != nil {
			t.Fatal(err)
		}
		if g.Type == "interface" {
			ifGroups++
			k := g.Resource.ID + "|" + g.Dimension("interface_name")
			if prev := latest[k]; prev == nil || prev.CreationTimestamp < g.CreationTimestamp {
				latest[k] = g
			}
		}
	}
	t.Logf("file sink: %d groups, %d interface groups, %d interfaces", len(lines), ifGroups, len(latest))

	// InfluxDB: one point per interface group.
	res := ifx.Query("panoptes", "SELECT count(bits_in) FROM interface")
	if len(res) != 1 || len(res[0].Values) != 1 || fmt.Sprint(res[0].Values[0][1]) != strconv.Itoa(ifGroups) {
		t.Errorf("InfluxDB holds %v bits_in points, the file %d interface groups", res, ifGroups)
	}

	// Prometheus (remote write): the latest bits_in of every interface.
	samples := prom.WaitQuery(t, "panoptes_interface_bits_in_total", func(s []promserver.Sample) bool { return len(s) >= len(latest) }, 20*time.Second)
	for _, s := range samples {
		g := latest[s.Labels["resource_id"]+"|"+s.Labels["interface_name"]]
		if g == nil {
			t.Errorf("Prometheus has a series the file lacks: %v", s.Labels)
			continue
		}
		m, _ := g.Metric("bits_in")
		if v, err := strconv.ParseFloat(s.Value, 64); err != nil || v != m.Value.Float64() {
			t.Errorf("%s %s: Prometheus %s, file %v", g.Resource.ID, g.Dimension("interface_name"), s.Value, m.Value)
		}
	}

	// Kafka: every group, byte for byte.
	cl, err := kgo.NewClient(kgo.SeedBrokers(kc.ListenAddrs()...), kgo.ConsumeTopics("lab-processed"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	want := map[string]int{}
	for _, l := range lines {
		want[l]++
	}
	got := 0
	for got < len(lines) && ctx.Err() == nil {
		fctx, fcancel := context.WithTimeout(ctx, 5*time.Second)
		fetches := cl.PollFetches(fctx)
		fcancel()
		if fctx.Err() != nil && fetches.NumRecords() == 0 {
			break
		}
		fetches.EachRecord(func(r *kgo.Record) {
			got++
			if want[string(r.Value)] == 0 {
				t.Errorf("Kafka has a record the file lacks: %.200s", r.Value)
			}
			want[string(r.Value)]--
			if k := string(r.Key); !strings.HasPrefix(k, "network:switch:") {
				t.Errorf("Kafka key %q, want class:subclass:type", k)
			}
		})
	}
	if got != len(lines) {
		t.Errorf("Kafka has %d records, the file %d lines", got, len(lines))
	}
}
