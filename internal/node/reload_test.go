package node

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/sim"
)

// statusTimes reads the status groups' creation times in a file sink's
// output, by resource id.
func statusTimes(t *testing.T, path string) map[string][]float64 {
	t.Helper()
	out := map[string][]float64{}
	for id, ps := range statuses(t, path) {
		for _, p := range ps {
			out[id] = append(out[id], p.created)
		}
	}
	return out
}

// TestReloadSinksAndPlugins reloads a running node: a sink added writes
// the checks; removed, it stops writing; added again under its name, it
// resumes where it stopped (its durable consumer stayed on the bus), so
// the checks published meanwhile reach it; a new plugin is scheduled and a
// removed one unscheduled, the other checks kept.
func TestReloadSinksAndPlugins(t *testing.T) {
	if testing.Short() {
		t.Skip("runs an embedded bus and simulated devices for several seconds")
	}
	const devices = 20
	farm, err := sim.Start(context.Background(), sim.Options{Devices: devices, Templates: []string{"switch48"}, Seed: 4})
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
	cfgPath := filepath.Join(dir, "p.yaml")
	text := func(plugins string, sinks ...string) string {
		var b strings.Builder
		fmt.Fprintf(&b, `site: lab
data_dir: data
http: {listen: ""}
discovery:
  sources: [{name: lab, plugin: csv, path: devices.csv}]
snmp:
  credential: c
  credentials: {c: {version: 2c, community: public}}
polling:
  plugins: [%s]
sinks:
`, plugins)
		for _, s := range sinks {
			fmt.Fprintf(&b, "  - {name: %s, type: file, path: %[1]s.jsonl, batch_timeout: 100ms}\n", s)
		}
		return b.String()
	}
	load := func(s string) *config.Config {
		t.Helper()
		write(t, cfgPath, s)
		cfg, err := config.Load(cfgPath, Check)
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	uptime := "{name: uptime, plugin: uptime, interval: 1s}"
	cur := load(text(uptime, "a"))
	n, err := New(cur, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	reload := func(next *config.Config) {
		t.Helper()
		d := config.Compare(cur, next)
		if err := d.Err(); err != nil {
			t.Fatal(err)
		}
		if err := n.Reload(ctx, next, d); err != nil {
			t.Fatalf("reload %s: %v", d, err)
		}
		cur = next
	}
	waitUntil := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	a, b := filepath.Join(dir, "a.jsonl"), filepath.Join(dir, "b.jsonl")
	waitUntil("every device in sink a", func() bool { return len(statusTimes(t, a)) == devices })

	// Added: b writes the checks.
	reload(load(text(uptime, "a", "b")))
	waitUntil("every device in sink b", func() bool { return len(statusTimes(t, b)) == devices })

	// Removed: b stops writing.
	reload(load(text(uptime, "a")))
	removed := time.Now()
	size := func() int64 { fi, _ := os.Stat(b); return fi.Size() }
	stopped := size()
	time.Sleep(2500 * time.Millisecond)
	if got := size(); got != stopped {
		t.Errorf("sink b wrote %d bytes after it was removed", got-stopped)
	}
	readded := time.Now()

	// Added again: it resumes where it stopped, so the checks of the time
	// it was away reach it.
	reload(load(text(uptime+", {name: up2, plugin: uptime, interval: 1s}", "a", "b")))
	waitUntil("sink b to write the checks published while it was removed", func() bool {
		for _, times := range statusTimes(t, b) {
			var away int
			for _, ts := range times {
				if ts > float64(removed.Add(500*time.Millisecond).UnixMilli())/1000 && ts < float64(readded.Add(-500*time.Millisecond).UnixMilli())/1000 {
					away++
				}
			}
			if away == 0 {
				return false
			}
		}
		return true
	})
	if got := n.poller.Scheduler().Len(); got != 2*devices {
		t.Errorf("%d checks scheduled with a plugin added, want %d", got, 2*devices)
	}
	reload(load(text("{name: up2, plugin: uptime, interval: 1s}", "a", "b")))
	if got := n.poller.Scheduler().Len(); got != devices {
		t.Errorf("%d checks scheduled with uptime removed, want %d", got, devices)
	}

	// The checks running at once and discovery's interval need no restart.
	live := strings.Replace(text("{name: up2, plugin: uptime, interval: 1s}", "a", "b"), "polling:\n", "polling:\n  max_concurrent_checks: 7\n", 1)
	reload(load(strings.Replace(live, "discovery:\n", "discovery:\n  interval: 90s\n", 1)))
	if got := n.poller.Scheduler().MaxConcurrent(); got != 7 {
		t.Errorf("max concurrent checks %d after the reload, want 7", got)
	}
	if plans := n.discovery.All(); len(plans) != 1 || plans[0].Interval != 90*time.Second {
		t.Errorf("discovery plans %+v after the reload, want one of interval 90s", plans)
	}

	// A credential changed (its version: the simulated devices know one
	// community): the old one's sessions close at the reload, not at their
	// idle timeout (10 s), so once every device has a session with the new
	// one, those are all the pool holds.
	snmpMetric := func(name string) float64 {
		mfs, err := n.Registry().Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() == name {
				m := mf.GetMetric()[0]
				if g := m.GetGauge(); g != nil {
					return g.GetValue()
				}
				return m.GetCounter().GetValue()
			}
		}
		t.Fatalf("no %s", name)
		return 0
	}
	opened := snmpMetric("panoptes_snmp_sessions_opened_total")
	reload(load(strings.Replace(strings.Replace(live, "discovery:\n", "discovery:\n  interval: 90s\n", 1), "version: 2c", `version: "1"`, 1)))
	waitUntil("a session with the new credential for every device", func() bool {
		return snmpMetric("panoptes_snmp_sessions_opened_total") >= opened+devices
	})
	if open := snmpMetric("panoptes_snmp_sessions_open"); open > devices {
		t.Errorf("%v SNMP sessions open after the credential changed, want at most the %d of the new one", open, devices)
	}
}
