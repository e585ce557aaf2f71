package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/sim/gnmisim"
	"github.com/panoptes-go/panoptes/internal/testutil/freeport"
)

const gnmiClusterTargets = 100

// TestGNMIClusterFailover is issue 16's Done-when test: three `panoptes
// run` processes (a 3-server JetStream cluster) stream 100 gNMI targets of
// `panoptes sim --gnmi` (its own process) through the gnmi input. Counted
// on the simulator's side (GET /gnmi/streams: the open Subscribe streams
// of every target by client address):
//
//   - steady state: every target has exactly one stream, and the nodes'
//     panoptes_gnmi_subscription_up series name each target on one node;
//   - kill -9 of the node streaming the most targets: each of its targets
//     is subscribed again (a new stream) within 15 s;
//   - afterwards, every target has exactly one stream, sample after sample.
func TestGNMIClusterFailover(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs three panoptes processes and 100 simulated gNMI targets")
	}
	binary(t) // build first: the build is not the cluster's time
	began := time.Now()
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "devices.csv")
	control := freeTCP(t)
	// Light streams (components every 10 s): what is counted is who
	// subscribes, and the machine runs three nodes and the simulator.
	startPanoptes(t, "sim", "--devices", fmt.Sprint(gnmiClusterTargets), "--template", "switch48", "--base-port", "0",
		"--gnmi", "--gnmi-base-port", "0", "--gnmi-update", "5s", "--inventory", csvPath, "--control", control)
	streams := func() map[string]gnmisim.TargetStreams {
		resp, err := http.Get("http://" + control + "/gnmi/streams")
		if err != nil {
			return nil
		}
		defer resp.Body.Close()
		var ts []gnmisim.TargetStreams
		if b, _ := io.ReadAll(resp.Body); json.Unmarshal(b, &ts) != nil {
			return nil
		}
		out := map[string]gnmisim.TargetStreams{}
		for _, s := range ts {
			out[s.Name] = s
		}
		return out
	}
	waitFor(t, "the simulator's inventory and controls", 60*time.Second, nil, func() bool { return len(streams()) == gnmiClusterTargets })

	var clientListen, routeListen, routes []string
	for range 3 {
		clientListen = append(clientListen, freeport.Addr(freeport.TCP(t)))
		r := freeport.Addr(freeport.TCP(t))
		routeListen = append(routeListen, r)
		routes = append(routes, "nats-route://"+r)
	}
	var nodes []*clusterNode
	for i := range 3 {
		id := fmt.Sprintf("g%d", i+1)
		n := &clusterNode{id: id, dataDir: filepath.Join(dir, id), cfgPath: filepath.Join(dir, id+".yaml"), httpAddr: freeTCP(t)}
		writeFile(t, n.cfgPath, fmt.Sprintf(`site: %s
data_dir: %s
http: {listen: %s}
cluster: {node_id: %s}
bus:
  replicas: 3
  max_bytes: 256MiB
  connect_retry: 60s
  listen: %s
  cluster: {name: panoptes-gnmi-e2e, listen: %s, routes: [%s]}
discovery:
  interval: 10s
  sources: [{plugin: csv, path: %s}]
snmp:
  credential: sim
  credentials: {sim: {version: 2c, community: public}}
polling:
  plugins: []
inputs:
  - name: gnmi
    plugin: gnmi
    interval: 10s
    options: {mappings: [openconfig-platform], max_backoff: 2s}
`, clusterSite, n.dataDir, n.httpAddr, id, clientListen[i], routeListen[i], strings.Join(routes, ", "), csvPath))
		n.start(t)
		nodes = append(nodes, n)
	}

	// Which node streams which target, from the nodes' self-metrics.
	owners := func(alive []*clusterNode) (map[string][]string, bool) {
		out := map[string][]string{}
		for _, n := range alive {
			up, ok := subscribedOn(n)
			if !ok {
				return nil, false
			}
			for _, tg := range up {
				out[tg] = append(out[tg], n.id)
			}
		}
		return out, true
	}
	// steady: every target has one stream, and one node says it is up.
	steady := func(alive []*clusterNode) bool {
		ss := streams()
		own, ok := owners(alive)
		if !ok || len(ss) != gnmiClusterTargets || len(own) != gnmiClusterTargets {
			return false
		}
		for name, s := range ss {
			if len(s.Streams) != 1 || len(own[name]) != 1 {
				return false
			}
		}
		return true
	}
	waitFor(t, "every target streamed by exactly one of 3 nodes", 120*time.Second, nil, func() bool {
		for _, n := range nodes {
			if !n.p.alive() {
				t.Fatalf("node %s exited: %v", n.id, n.p.err)
			}
		}
		return steady(nodes)
	})
	t.Logf("3 processes streaming %d targets %s after start", gnmiClusterTargets, time.Since(began).Round(100*time.Millisecond))
	own, _ := owners(nodes)
	count := map[string]int{}
	for _, ids := range own {
		count[ids[0]]++
	}
	victim := slices.MaxFunc(nodes, func(a, b *clusterNode) int { return count[a.id] - count[b.id] })
	var moved []string
	for tg, ids := range own {
		if ids[0] == victim.id {
			moved = append(moved, tg)
		}
	}
	slices.Sort(moved)
	t.Logf("targets per node: %v; killing %s", count, victim.id)
	before := streams()

	victim.p.kill()
	killed := time.Now()
	var survivors []*clusterNode
	for _, n := range nodes {
		if n != victim {
			survivors = append(survivors, n)
		}
	}
	resubscribed := func() bool {
		ss := streams()
		for _, tg := range moved {
			if s := ss[tg]; len(s.Streams) != 1 || s.Subscribes <= before[tg].Subscribes {
				return false
			}
		}
		return true
	}
	if !waitUntil(40*time.Second, resubscribed) {
		ss := streams()
		var late []string
		for _, tg := range moved {
			if s := ss[tg]; len(s.Streams) != 1 || s.Subscribes <= before[tg].Subscribes {
				late = append(late, fmt.Sprintf("%s (%d streams, %d opened)", tg, len(s.Streams), s.Subscribes))
			}
		}
		t.Fatalf("%d of %s's %d targets not subscribed again 40 s after it was killed: %v", len(late), victim.id, len(moved), late)
	}
	took := time.Since(killed)
	t.Logf("%s's %d targets subscribed again %s after kill -9", victim.id, len(moved), took.Round(100*time.Millisecond))
	if took > 15*time.Second {
		t.Errorf("re-subscribing the killed node's targets took %s, want ≤ 15 s", took.Round(100*time.Millisecond))
	}

	// Steady state again: one stream per target, sample after sample.
	if !waitUntil(20*time.Second, func() bool { return steady(survivors) }) {
		own, _ := owners(survivors)
		ss := streams()
		bad := 0
		for name, s := range ss {
			if len(s.Streams) != 1 || len(own[name]) != 1 {
				if bad++; bad <= 5 {
					t.Errorf("target %s: %d streams %v, up on %v", name, len(s.Streams), s.Streams, own[name])
				}
			}
		}
		t.FailNow()
	}
	for i := range 10 {
		for name, s := range streams() {
			if len(s.Streams) != 1 {
				t.Errorf("sample %d: target %s has %d streams %v, want 1", i, name, len(s.Streams), s.Streams)
			}
		}
		time.Sleep(300 * time.Millisecond)
	}
	t.Logf("whole test %s", time.Since(began).Round(100*time.Millisecond))
}

var subscriptionUpRE = regexp.MustCompile(`(?m)^panoptes_gnmi_subscription_up\{target="([^"]+)"\} 1$`)

// subscribedOn lists the targets a node's subscriptions are up to.
func subscribedOn(n *clusterNode) ([]string, bool) {
	code, body := httpGet("http://" + n.httpAddr + "/metrics")
	if code != 200 {
		return nil, false
	}
	var out []string
	for _, m := range subscriptionUpRE.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out, true
}
