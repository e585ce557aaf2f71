package node

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/sim"
)

// A graceful stop lets the checks in flight finish and publish what they
// polled (issue 14 item 11): devices answering slowly are polled every
// second, each check in flight most of the time; the node is stopped
// mid-round, and every status it published is 0, including those of the
// checks that were running when it was told to stop.
func TestGracefulStopFinishesChecks(t *testing.T) {
	if testing.Short() {
		t.Skip("runs an embedded bus and a simulator for a few seconds")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const devices = 6
	farm, err := sim.Start(context.Background(), sim.Options{Devices: devices, Templates: []string{"switch48"}, Seed: 3, Latency: 600 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = farm.Close() })
	dir := t.TempDir()
	var inv strings.Builder
	inv.WriteString("id,endpoint,site,class\n")
	for i, d := range farm.Devices() {
		fmt.Fprintf(&inv, "sw%d,%s,lab,network\n", i, d.Addr)
	}
	write(t, filepath.Join(dir, "devices.csv"), inv.String())
	out := filepath.Join(dir, "out.jsonl")
	cfgPath := filepath.Join(dir, "p.yaml")
	write(t, cfgPath, fmt.Sprintf(`site: lab
data_dir: data
http: {listen: ""}
discovery:
  interval: 1s
  sources: [{plugin: csv, path: devices.csv}]
snmp:
  credential: c
  credentials: {c: {version: 2c, community: public}}
  timeout: 3s
  retries: 0
polling:
  plugins:
    - {name: uptime, interval: 1s}
sinks:
  - {type: file, path: %s, batch_timeout: 100ms}
`, out))
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
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if n.readiness() == nil && n.Stats().ChecksOK >= 2*devices {
			break
		}
		if time.Now().After(deadline) {
			cancel()
			<-done
			t.Fatalf("no two rounds of checks within 20 s: %+v", n.Stats())
		}
	}
	inFlight := func() int { s := n.Stats(); return int(s.Started - s.Completed) }
	for deadline := time.Now().Add(5 * time.Second); inFlight() < 2 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	running := inFlight()
	stopAt := float64(time.Now().UnixNano()) / 1e9
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if running < 2 {
		t.Fatalf("only %d checks in flight when stopping; the test needs some", running)
	}

	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	var ok, late int
	bad := map[int64]int{}
	for sc.Scan() {
		g, err := metric.Decode(sc.Bytes())
		if err != nil {
			t.Fatalf("out.jsonl: %v", err)
		}
		if g.Type != "status" {
			continue
		}
		m, _ := g.Metric("polling_status")
		if s := m.Value.Int64(); s != 0 {
			bad[s]++
			continue
		}
		ok++
		if g.CreationTimestamp > stopAt-0.1 { // finished after the stop
			late++
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d checks in flight at the stop; %d statuses 0 published, %d of them finished after it; other statuses: %v", running, ok, late, bad)
	if len(bad) > 0 {
		t.Errorf("statuses other than 0 published: %v (status 5 is a check cancelled by the stop)", bad)
	}
	if late == 0 {
		t.Errorf("no check finished after the stop: the in-flight ones were not waited for")
	}
}
