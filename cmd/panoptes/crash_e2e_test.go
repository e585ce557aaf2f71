package main

import (
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/metric"
)

// The crash tests check the guarantees docs/DESIGN.md ("What a crash can
// lose") states for the defaults, by killing processes with SIGKILL mid-run
// and counting what reached the file sink.
const (
	crashDevices  = 6
	crashInterval = time.Second
)

// crashFarm starts simulated switches and writes their inventory to dir.
func crashFarm(t *testing.T, dir string) string {
	t.Helper()
	return simFarm(t, dir, crashDevices, "switch48")
}

// polls is, per device (its resource key), the creation times of its
// status groups in a file sink's output (each poll once, however often it
// was written), sorted; and how many lines were written more than once.
func polls(t *testing.T, sink *sinkReader) (byDevice map[string][]float64, repeats int) {
	t.Helper()
	groups, lines := sink.read(t)
	byDevice = map[string][]float64{}
	seen := map[string]bool{}
	for i, g := range groups {
		if seen[lines[i]] {
			repeats++
			continue
		}
		seen[lines[i]] = true
		if g.Type == "status" {
			byDevice[g.Resource.Key()] = append(byDevice[g.Resource.Key()], g.CreationTimestamp)
		}
	}
	for _, ts := range byDevice {
		slices.Sort(ts)
	}
	return byDevice, repeats
}

// pollGaps are the consecutive polls of check (plugin|resource key) sorted ts
// between which a due time has no poll. A poll counts for the due time at
// or before its start (checkSlot): one started late, by up to an interval,
// is still its own due time's, so two polls up to two intervals apart can
// be consecutive due times. (A bound of 1.5 intervals between starts
// counted a poll started over half an interval late as a gap.)
func pollGaps(check string, ts []float64, interval time.Duration) (out [][2]float64) {
	for i := 1; i < len(ts); i++ {
		if checkSlot(check, epochTime(ts[i]), interval)-checkSlot(check, epochTime(ts[i-1]), interval) > 1 {
			out = append(out, [2]float64{ts[i-1], ts[i]})
		}
	}
	return out
}

// TestKillNineLosesNothingAcked: kill -9 of a node (embedded bus, file sink,
// rates on; defaults otherwise but the rate state's flush interval) while it
// polls and writes, then a restart:
//
//   - every group the stream acknowledged reaches the file (at least once:
//     what was written but not acked is written again, and counted);
//   - the only polls missing are those due while no process ran: one gap
//     per device, spanning the kill;
//   - rates resume at the first poll after the restart, from the state the
//     node flushed to KV before it died (at most rates.flush_interval old).
func TestKillNineLosesNothingAcked(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs panoptes twice against simulated switches")
	}
	binary(t)
	dir := t.TempDir()
	csvPath := crashFarm(t, dir)
	out := filepath.Join(dir, "out", "metrics.jsonl")
	cfg := filepath.Join(dir, "node.yaml")
	writeFile(t, cfg, fmt.Sprintf(`site: lab
data_dir: %s
http: {listen: %s}
discovery:
  interval: 1m
  sources: [{plugin: csv, path: %s}]
snmp:
  credential: sim
  credentials: {sim: {version: 2c, community: public}}
polling:
  plugins: [{name: interface, plugin: interface, interval: %s, rates: all}]
rates: {flush_interval: 1s, max_gap: 10}
sinks:
  - {type: file, path: %s}
`, filepath.Join(dir, "data"), freeTCP(t), csvPath, crashInterval, out))

	p := startRun(t, cfg)
	hasRates := func(g *metric.Group) bool {
		return slices.ContainsFunc(g.Metrics, func(m metric.Metric) bool { return strings.HasSuffix(m.Name, "_rate") })
	}
	sink := newSinkReader(t, out)
	seen, read := map[string]bool{}, 0 // the groups looked at so far
	waitFor(t, "rates of every device", 30*time.Second, p, func() bool {
		groups, _ := sink.read(t)
		for _, g := range groups[min(read, len(groups)):] { // a batch cut off again shrinks groups
			if g.Type == "interface" && hasRates(g) {
				seen[g.Resource.ID] = true
			}
		}
		read = len(groups)
		return len(seen) == crashDevices
	})
	time.Sleep(1500 * time.Millisecond) // a rate state flush, and polls in flight
	p.kill()
	sink.killed(t) // the kill may cut the line the sink was writing
	killedAt := float64(time.Now().UnixMilli()) / 1000
	// Restarted at once: reading the file here (what was polled before the
	// kill is read from the whole file at the end) took 8 s under -race at
	// load 20, and the rate state, up to a flush and an interval older than
	// the kill, was then more than max_gap intervals old at the first poll
	// after the restart: no rate, as designed, but not what this tests.
	p2 := startRun(t, cfg)
	restartedAt := float64(time.Now().UnixMilli()) / 1000
	firstAfter := map[string]*metric.Group{} // each device's first interface group after the restart
	waitFor(t, "polls of every device after the restart", 30*time.Second, p2, func() bool {
		groups, _ := sink.read(t)
		for _, g := range groups[min(read, len(groups)):] { // a batch cut off again shrinks groups
			if g.Type != "interface" || g.CreationTimestamp < restartedAt {
				continue
			}
			if f := firstAfter[g.Resource.ID]; f == nil || g.CreationTimestamp < f.CreationTimestamp {
				firstAfter[g.Resource.ID] = g
			}
		}
		read = len(groups)
		return len(firstAfter) == crashDevices
	})
	time.Sleep(2 * crashInterval) // a few polls more, to see none is missing after the restart
	p2.stop(t)
	checkNothingLost(t, filepath.Join(dir, "data"), out, sink.kills)

	for id, g := range firstAfter {
		if !hasRates(g) {
			t.Errorf("device %s: its first interface group after the restart (%.3f) has no rate: the rate state was not read back from KV", id, g.CreationTimestamp)
		}
	}
	after, repeats := polls(t, sink)
	before := map[string][]float64{} // each device's polls before the kill
	for id, ts := range after {
		for _, at := range ts {
			if at < killedAt {
				before[id] = append(before[id], at)
			}
		}
	}
	t.Logf("killed at %.3f, restarted at %.3f; %d lines written twice (at least once delivery)", killedAt, restartedAt, repeats)
	if len(sink.cut) > 0 {
		t.Logf("skipped the line the kill cut: %v", sink.cut)
	}
	for id, ts := range after {
		if len(before[id]) == 0 {
			t.Errorf("device %s: no poll before the kill", id)
			continue
		}
		// One gap per device, from its last poll before the kill to its
		// first after the restart; none elsewhere.
		gaps := pollGaps("interface|"+id, ts, crashInterval)
		for _, g := range gaps {
			if g[0] > killedAt || g[1] < restartedAt {
				t.Errorf("device %s: no poll between %.3f and %.3f, away from the kill (%.3f) and restart (%.3f)", id, g[0], g[1], killedAt, restartedAt)
			}
		}
		if len(gaps) > 1 {
			t.Errorf("device %s: %d gaps in its polls, want at most the kill's: %v", id, len(gaps), gaps)
		}
		if last := before[id][len(before[id])-1]; killedAt-last > 2*crashInterval.Seconds() {
			t.Errorf("device %s: its last poll timestamped before the kill (in the final file) is %.1f s older than the kill", id, killedAt-last)
		}
	}
}

// TestKillNineBusServer: kill -9 of the bus server (its own `panoptes run`,
// as with bus.url at scale) while a node polls and writes through it, and
// its restart two seconds later on the same data: the node keeps polling
// into its publish buffer and sends it when the server is back, so no poll
// of any device is missing from the file sink.
func TestKillNineBusServer(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs a bus server and a node against simulated switches")
	}
	binary(t)
	dir := t.TempDir()
	csvPath := crashFarm(t, dir)
	busAddr := freeTCP(t)
	busCfg := filepath.Join(dir, "bus.yaml")
	writeFile(t, busCfg, fmt.Sprintf(`site: lab
data_dir: %s
http: {listen: ""}
roles: [http]
bus: {listen: %q}
`, filepath.Join(dir, "bus"), busAddr))
	out := filepath.Join(dir, "out", "metrics.jsonl")
	cfg := filepath.Join(dir, "node.yaml")
	writeFile(t, cfg, fmt.Sprintf(`site: lab
data_dir: %s
http: {listen: %s}
bus: {url: "nats://%s", connect_retry: 60s}
discovery:
  interval: 1m
  sources: [{plugin: csv, path: %s}]
snmp:
  credential: sim
  credentials: {sim: {version: 2c, community: public}}
polling:
  plugins: [{name: interface, plugin: interface, interval: %s}]
sinks:
  - {type: file, path: %s}
`, filepath.Join(dir, "data"), freeTCP(t), busAddr, csvPath, crashInterval, out))

	server := startRun(t, busCfg)
	waitFor(t, "the bus server to listen", 30*time.Second, server, func() bool {
		c, err := net.DialTimeout("tcp", busAddr, time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	node := startRun(t, cfg)
	sink := newSinkReader(t, out)
	waitFor(t, "3 polls of every device in the file", 30*time.Second, node, func() bool {
		byDevice, _ := polls(t, sink)
		n := 0
		for _, ts := range byDevice {
			if len(ts) >= 3 {
				n++
			}
		}
		return n == crashDevices
	})
	server.kill()
	killedAt := float64(time.Now().UnixMilli()) / 1000
	time.Sleep(2 * time.Second)
	server2 := startRun(t, busCfg)
	backAt := float64(time.Now().UnixMilli()) / 1000
	waitFor(t, "polls made after the server came back, in the file", 30*time.Second, node, func() bool {
		byDevice, _ := polls(t, sink)
		n := 0
		for _, ts := range byDevice {
			if len(ts) > 0 && ts[len(ts)-1] > backAt+2 {
				n++
			}
		}
		return n == crashDevices
	})
	node.stop(t)
	server2.stop(t)

	byDevice, repeats := polls(t, sink)
	t.Logf("server killed at %.3f, back at %.3f; %d lines written twice", killedAt, backAt, repeats)
	for id, ts := range byDevice {
		for _, g := range pollGaps("interface|"+id, ts, crashInterval) {
			t.Errorf("device %s: no poll in the file between %.3f and %.3f (server killed at %.3f, back at %.3f)", id, g[0], g[1], killedAt, backAt)
		}
	}
	if len(byDevice) != crashDevices {
		t.Errorf("%d devices in the file, want %d", len(byDevice), crashDevices)
	}
	checkNothingLost(t, filepath.Join(dir, "bus"), out, nil)
}
