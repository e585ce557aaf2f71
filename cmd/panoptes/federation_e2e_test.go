package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/sim"
	"github.com/panoptes-go/panoptes/internal/testutil/pki"
	"github.com/panoptes-go/panoptes/internal/testutil/tcpproxy"
	"github.com/panoptes-go/panoptes/internal/wire"
)

// The federation e2e scenario's figures.
const (
	fedDevices  = 20
	fedInterval = time.Second
	fedBefore   = 10 * time.Second // polling with the link up before the cut
	fedOutage   = 15 * time.Second
	fedCatchUp  = 30 * time.Second // bound on the hub catching up after the restore
	fedLeafPW   = "leaf-e2e-s3cret"
)

// TestFederationEdgeOutageE2E runs a hub and an edge site as two `panoptes
// run` processes. The edge polls a simulated farm every second into its own
// stream and is a leaf node of the hub through a TCP proxy (the WAN link),
// with TLS and a leaf password. The hub sources the edge's stream and its
// file sink writes every group. The link is cut for 15 s and restored: the
// hub's file must then hold every check of every device, once, with no gap.
func TestFederationEdgeOutageE2E(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs a hub and an edge panoptes against a simulated farm (~45 s)")
	}
	built := time.Now()
	binary(t) // build before anything is timed
	t.Logf("panoptes binary ready in %s", time.Since(built).Round(time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	simFarm(t, dir, fedDevices)
	leafAddr, hubBus, edgeBus, edgeHTTP := freeTCP(t), freeTCP(t), freeTCP(t), freeTCP(t)
	link := tcpproxy.Start(t, leafAddr)
	writeFederationConfigs(t, dir, leafAddr, link.Addr(), hubBus, edgeBus, edgeHTTP)
	out := filepath.Join(dir, "out", "hub.jsonl")

	start := time.Now()
	pw := "PANOPTES_E2E_LEAF_PW=" + fedLeafPW // both configs read it
	hub := startRun(t, filepath.Join(dir, "hub.yaml"), pw)
	edge := startRun(t, filepath.Join(dir, "edge.yaml"), pw)
	procs := []*proc{hub, edge}
	sink := newSinkReader(t, out)
	waitFor(t, "the hub's file to hold a check of every edge device", 45*time.Second, edge, func() bool {
		groups, _ := sink.read(t)
		return len(statusOf(groups)) == fedDevices && hub.alive()
	})
	t.Logf("hub and edge up, every device's checks reach the hub's file: %s", time.Since(start).Round(time.Millisecond))
	edgeJS, hubJS := streamClient(ctx, t, edgeBus), streamClient(ctx, t, hubBus)

	sleepWatching(t, fedBefore, procs...)
	link.Cut()
	cutAt := time.Now()
	edgeAtCut := lastSeq(ctx, t, edgeJS)
	sleepWatching(t, 2*time.Second, procs...) // what was in flight lands
	hubDuring := lastSeq(ctx, t, hubJS)
	// Read what the edge stored so far while the outage lasts: at the
	// restore only the rest is left to read.
	want := map[string]bool{}
	edgeKeys(ctx, t, edgeJS, 1, edgeAtCut, want)
	sleepWatching(t, time.Until(cutAt.Add(fedOutage)), procs...)
	if n := lastSeq(ctx, t, hubJS); n != hubDuring {
		t.Errorf("the hub's stream grew from %d to %d messages while the link was cut", hubDuring, n)
	}
	// Everything the edge stored until the restore must reach the hub's file.
	edgeAtRestore, snapAt := lastSeq(ctx, t, edgeJS), time.Now()
	edgeKeys(ctx, t, edgeJS, edgeAtCut+1, edgeAtRestore, want)
	if err := link.Restore(); err != nil {
		t.Fatal(err)
	}
	restoredAt := time.Now()
	have, read := map[string]bool{}, 0
	for {
		groups, _ := sink.read(t)
		for _, g := range groups[min(read, len(groups)):] { // a batch cut off again shrinks groups
			have[groupKey(g)] = true
		}
		read = len(groups)
		missing := 0
		for k := range want {
			if !have[k] {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if time.Since(restoredAt) > fedCatchUp {
			t.Fatalf("the hub's file still lacks %d of the edge's %d groups %s after the restore; hub stream: %s",
				missing, len(want), fedCatchUp, sourceState(ctx, hubJS))
		}
		sleepWatching(t, 200*time.Millisecond, procs...)
	}
	caughtUp := time.Since(restoredAt)

	groups, _ := sink.read(t)
	gaps, checks, failed := checkGaps(t, groups, float64(snapAt.UnixMilli())/1000)
	dups := duplicates(groups)
	skipped := skippedChecks(t, edgeHTTP)
	t.Logf("federation e2e: %d devices polled every %s; link cut for %s; %d groups buffered at the edge during the outage "+
		"(hub stream frozen at %d messages); hub's file caught up %s after the restore; %d checks in the hub's file, "+
		"%d gaps, %d duplicate groups, %d checks not successful, %d skipped by the edge's scheduler; proxy connections %d",
		fedDevices, fedInterval, restoredAt.Sub(cutAt).Round(time.Millisecond), edgeAtRestore-edgeAtCut, hubDuring,
		caughtUp.Round(time.Millisecond), checks, gaps, dups, failed, skipped, link.Accepted())
	// The hub holds everything the edge stored (checked above), so a gap is
	// an interval the edge's scheduler itself skipped: the previous check
	// was still running, which happens only when the machine is starved of
	// CPU. It is counted on the edge; anything more was lost.
	switch {
	case gaps > skipped:
		t.Errorf("%d intervals of edge devices are missing from the hub's file; the edge skipped %d", gaps, skipped)
	case gaps > 0:
		t.Logf("the %d gaps are intervals the edge's scheduler skipped (CPU starvation), not federation losses", gaps)
	}
	if dups != 0 {
		t.Errorf("%d groups are in the hub's file more than once", dups)
	}
	if edgeAtRestore-edgeAtCut < uint64(fedDevices)*uint64(fedOutage/fedInterval) {
		t.Errorf("the edge stored %d groups during a %s outage; it must keep polling %d devices every %s",
			edgeAtRestore-edgeAtCut, fedOutage, fedDevices, fedInterval)
	}
	if link.Accepted() < 2 {
		t.Errorf("the proxy forwarded %d connections; the edge must have reached the hub through it, twice", link.Accepted())
	}

	for l := range strings.Lines(hub.log()) {
		if strings.Contains(l, "edge") && strings.Contains(l, "component=bus") {
			t.Logf("hub: %s", strings.TrimSpace(l))
		}
	}
	stopAt := time.Now()
	edge.stop(t)
	hub.stop(t)
	t.Logf("both processes stopped in %s; scenario %s after the build", time.Since(stopAt).Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	for _, p := range procs {
		if strings.Contains(p.log(), fedLeafPW) {
			t.Errorf("a process log shows the leaf password")
		}
	}
}

// writeFederationConfigs writes hub.yaml and edge.yaml in dir: the hub's
// leaf listener (TLS with client certificates, one user per edge) is
// reached by the edge only through the link's address.
func writeFederationConfigs(t *testing.T, dir, leafAddr, linkAddr, hubBus, edgeBus, edgeHTTP string) {
	t.Helper()
	ca := pki.New(t)
	hubCert, hubKey := ca.Issue(t, "hub")
	edgeCert, edgeKey := ca.Issue(t, "edge")
	writeFile(t, filepath.Join(dir, "hub.yaml"), fmt.Sprintf(`site: hub
data_dir: hub-data
http: {listen: ""}
roles: [consumer]
cluster: {node_id: hub-1, heartbeat: 500ms}
bus:
  listen: %s
  domain: hub
  leaf_listen: %s
  leaf_advertise: %s    # edges must come through the link, not around it
  leaf_users: [{user: edge-e1, password: "${PANOPTES_E2E_LEAF_PW}"}]
  leaf_tls: {cert_file: %q, key_file: %q, ca_file: %q, verify: true}
  source_domains: [edge-e1]
sinks:
  - {type: file, path: out/hub.jsonl, batch_timeout: 200ms}
`, hubBus, leafAddr, linkAddr, hubCert, hubKey, ca.CAFile))
	writeFile(t, filepath.Join(dir, "edge.yaml"), fmt.Sprintf(`site: e1
data_dir: edge-data
http: {listen: %s}
roles: [discovery, resource_manager, poller, http]
cluster: {node_id: edge-1, heartbeat: 500ms}
bus:
  listen: %s
  domain: edge-e1
  leaf:
    remotes: [nats-leaf://%s]
    user: edge-e1
    password: ${PANOPTES_E2E_LEAF_PW}
    tls: {ca_file: %q, cert_file: %q, key_file: %q}
discovery:
  sources: [{plugin: csv, path: devices.csv}]
snmp:
  timeout: 900ms
  retries: 0
  credential: sim
  credentials: {sim: {version: 2c, community: %s}}
polling:
  plugins: [{name: uptime, interval: %s}]
`, edgeHTTP, edgeBus, linkAddr, ca.CAFile, edgeCert, edgeKey, sim.DefaultCommunity, fedInterval))
}

// sleepWatching waits d, failing as soon as one of the processes exits.
func sleepWatching(t *testing.T, d time.Duration, procs ...*proc) {
	t.Helper()
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		for _, p := range procs {
			if !p.alive() {
				t.Fatalf("panoptes run exited: %v", p.err)
			}
		}
		time.Sleep(min(200*time.Millisecond, time.Until(end)))
	}
}

// streamClient connects to an embedded server's bus.listen, retrying while
// the process starts.
func streamClient(ctx context.Context, t *testing.T, addr string) jetstream.JetStream {
	t.Helper()
	var nc *nats.Conn
	var err error
	for range 50 {
		if nc, err = nats.Connect("nats://"+addr, nats.Name("e2e-test")); err == nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("connect to %s: %v", addr, err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.Stream(ctx, wire.MetricsStream); err != nil {
		t.Fatalf("stream at %s: %v", addr, err)
	}
	return js
}

// skippedChecks reads the edge's count of skipped due times from /metrics.
func skippedChecks(t *testing.T, httpAddr string) int {
	t.Helper()
	code, body := httpGet("http://" + httpAddr + "/metrics")
	if code != 200 {
		t.Fatalf("edge /metrics: %d %s", code, body)
	}
	total, found := 0, false
	for l := range strings.Lines(body) { // one series per reason
		if rest, ok := strings.CutPrefix(l, `panoptes_schedule_checks_skipped_total{plugin="uptime",`); ok {
			_, value, _ := strings.Cut(rest, "} ")
			n, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
			if err != nil {
				t.Fatalf("edge /metrics: %q: %v", l, err)
			}
			total, found = total+int(n), true
		}
	}
	if !found {
		t.Fatalf("edge /metrics has no panoptes_schedule_checks_skipped_total for uptime")
	}
	return total
}

// sourceState describes the hub stream's sources, for a failure message.
func sourceState(ctx context.Context, js jetstream.JetStream) string {
	s, err := js.Stream(ctx, wire.MetricsStream)
	if err != nil {
		return err.Error()
	}
	info := s.CachedInfo()
	st := fmt.Sprintf("last seq %d", info.State.LastSeq)
	for _, src := range info.Sources {
		st += fmt.Sprintf("; source %s lag %d active %s error %v", src.Name, src.Lag, src.Active, src.Error)
	}
	return st
}

func lastSeq(ctx context.Context, t *testing.T, js jetstream.JetStream) uint64 {
	t.Helper()
	s, err := js.Stream(ctx, wire.MetricsStream)
	if err != nil {
		t.Fatal(err)
	}
	return s.CachedInfo().State.LastSeq
}

// edgeKeys adds the keys of the stream's messages first..last to keys,
// read one by one (no consumer whose state could lag on a loaded machine).
func edgeKeys(ctx context.Context, t *testing.T, js jetstream.JetStream, first, last uint64, keys map[string]bool) {
	t.Helper()
	s, err := js.Stream(ctx, wire.MetricsStream)
	if err != nil {
		t.Fatal(err)
	}
	for seq := first; seq <= last; seq++ {
		var m *jetstream.RawStreamMsg
		for attempt := 0; ; attempt++ {
			gctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			m, err = s.GetMsg(gctx, seq)
			cancel()
			if err == nil || errors.Is(err, jetstream.ErrMsgNotFound) || attempt == 5 {
				break
			}
		}
		if err != nil {
			t.Fatalf("edge message %d of %d: %v", seq, last, err)
		}
		for data := range wire.Groups(m.Data) {
			g, err := metric.Decode(data)
			if err != nil {
				t.Fatalf("edge message %d: %v", seq, err)
			}
			keys[groupKey(g)] = true
		}
	}
}

// groupKey identifies one group of one check.
func groupKey(g *metric.Group) string {
	k := g.Resource.ID + "|" + g.Type + "|" + strconv.FormatFloat(g.CreationTimestamp, 'f', 3, 64)
	for _, d := range g.Dimensions {
		k += "|" + d.Value
	}
	return k
}

func duplicates(groups []*metric.Group) int {
	seen, dups := map[string]bool{}, 0
	for _, g := range groups {
		k := groupKey(g)
		if seen[k] {
			dups++
		}
		seen[k] = true
	}
	return dups
}

// checkGaps counts, per device, the intervals from its first check to its
// last check before `until` that have no status group. Checks are due at
// the scheduler's phase of the check plus whole intervals (slot): each
// counts for the due time at or before its start, so a check that started
// late, by up to an interval, still counts for its own interval. (Rounding
// to the interval nearest the device's median start counted a start over
// half an interval late as the next interval's, and its own as a gap.) It
// also returns how many checks there were and how many did not succeed.
func checkGaps(t *testing.T, groups []*metric.Group, until float64) (gaps, checks, failed int) {
	t.Helper()
	byDevice := map[string][]float64{}
	keyOf := map[string]string{} // device → its resource key (the check's phase)
	uptime := map[string]bool{}
	for _, g := range groups {
		switch g.Type {
		case "status":
			if g.CreationTimestamp > until {
				continue
			}
			byDevice[g.Resource.ID] = append(byDevice[g.Resource.ID], g.CreationTimestamp)
			keyOf[g.Resource.ID] = g.Resource.Key()
			if m, _ := g.Metric("polling_status"); m.Value.Int64() != metric.StatusSuccess {
				failed++
			}
		case "system":
			if g.CreationTimestamp <= until {
				uptime[groupKey(g)] = true
			}
		}
	}
	if len(byDevice) != fedDevices {
		t.Errorf("the hub's file has checks of %d devices, want %d", len(byDevice), fedDevices)
	}
	for id, ts := range byDevice {
		slices.Sort(ts)
		slots := map[int64]bool{}
		for _, x := range ts {
			slots[slot(keyOf[id], epochTime(x), fedInterval)] = true
		}
		first, last := slot(keyOf[id], epochTime(ts[0]), fedInterval), slot(keyOf[id], epochTime(ts[len(ts)-1]), fedInterval)
		var missing []int64
		for s := first; s <= last; s++ {
			if !slots[s] {
				missing = append(missing, s-first)
			}
		}
		if len(missing) > 0 {
			t.Logf("device %s: %d checks, intervals missing (counted from its first check): %v", id, len(ts), missing)
		}
		gaps += len(missing)
		checks += len(ts)
	}
	if len(uptime) != checks-failed {
		t.Errorf("%d uptime groups for %d successful checks", len(uptime), checks-failed)
	}
	return gaps, checks, failed
}
