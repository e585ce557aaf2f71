package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/panoptes-go/panoptes/internal/apps/tracker"
	"github.com/panoptes-go/panoptes/internal/cluster"
	"github.com/panoptes-go/panoptes/internal/event"
	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/sim"
	"github.com/panoptes-go/panoptes/internal/sink/alertmanager"
	"github.com/panoptes-go/panoptes/internal/testutil/amserver"
	"github.com/panoptes-go/panoptes/internal/testutil/freeport"
)

// TestAppsFailover: three `panoptes run` processes (a 3-server NATS
// cluster) poll two simulated routers' BGP sessions every 2 s, each runs
// the events app and an alertmanager sink to a real Alertmanager. A
// session leaves Established; right after its event the node that polls
// the router is killed (kill -9); the session returns while the others
// take over. Alertmanager gets the alert and its resolution, and the
// events stream holds the change and the return exactly once each.
func TestAppsFailover(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs three panoptes processes, simulated routers and Alertmanager")
	}
	binary(t)
	am := amserver.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	farm, err := sim.Start(ctx, sim.Options{Devices: 2, Templates: []string{"router400"}, Topology: true, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer farm.Close()
	var inv strings.Builder
	if err := farm.WriteInventory(&inv, "sim"); err != nil {
		t.Fatal(err)
	}
	csvPath := filepath.Join(dir, "devices.csv")
	writeFile(t, csvPath, inv.String())
	netw, _ := farm.Network()
	session := netw.Sessions[0]

	var clientListen, routeListen, routes []string
	for range 3 {
		clientListen = append(clientListen, freeport.Addr(freeport.TCP(t)))
		r := freeport.Addr(freeport.TCP(t))
		routeListen = append(routeListen, r)
		routes = append(routes, "nats-route://"+r)
	}
	var nodes []*clusterNode
	var urls []string
	for i := range 3 {
		id := fmt.Sprintf("n%d", i+1)
		n := &clusterNode{id: id, dataDir: filepath.Join(dir, id), cfgPath: filepath.Join(dir, id+".yaml"), httpAddr: freeTCP(t),
			clientURL: "nats://" + clientListen[i]}
		writeFile(t, n.cfgPath, fmt.Sprintf(`site: %s
data_dir: %s
http: {listen: %s}
cluster: {node_id: %s}
bus:
  replicas: 3
  max_bytes: 256MiB
  connect_retry: 60s
  listen: %s
  cluster: {name: panoptes-apps, listen: %s, routes: [%s]}
discovery:
  interval: 10s
  sources: [{plugin: csv, path: %s}]
snmp:
  credential: sim
  credentials: {sim: {version: 2c, community: public}}
  timeout: 500ms
  retries: 1
polling:
  plugins: [{name: bgp, interval: 2s}]
apps:
  - plugin: events
sinks:
  - name: alerts
    type: alertmanager
    url: %s
    resend_interval: 2s
    batch_timeout: 200ms
    max_backoff: 1s
`, clusterSite, n.dataDir, n.httpAddr, id, clientListen[i], routeListen[i], strings.Join(routes, ", "), csvPath, am.URL))
		n.start(t)
		nodes = append(nodes, n)
		urls = append(urls, n.clientURL)
	}
	nc, err := nats.Connect(strings.Join(urls, ","), nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond), nats.RetryOnFailedConnect(true))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "3 ready nodes", 90*time.Second, nil, func() bool {
		for _, n := range nodes {
			if !n.p.alive() {
				t.Fatalf("node %s exited: %v\n%s", n.id, n.p.err, n.p.log())
			}
			if !n.ready() {
				return false
			}
		}
		return true
	})
	// The events app's consumer starts at what is published once it
	// exists, and its first sight of a session is recorded, not an event:
	// the flap below has its events once the app holds the session as
	// established (its state bucket's entry of the router's sessions).
	waitFor(t, "the events app to hold the session as established", 60*time.Second, nil, func() bool {
		return trackedState(ctx, js, session.Device, session.Peer) == "established"
	})
	// The alerts bucket has the bus's 3 replicas: with 1, killing the
	// server that holds it stops the alerts until it returns. The sinks
	// make it in the background (retried while the cluster forms).
	var kv jetstream.KeyValue
	waitFor(t, "the alerts sink's bucket", 30*time.Second, nil, func() bool {
		kv, err = js.KeyValue(ctx, alertmanager.Bucket("alerts"))
		return err == nil
	})
	if st, err := kv.Status(ctx); err != nil {
		t.Fatal(err)
	} else if r := st.(*jetstream.KeyValueBucketStatus).StreamInfo().Config.Replicas; r != 3 {
		t.Fatalf("the alerts sink's bucket has %d replicas, want the bus's 3", r)
	}

	sessionEvents := func() []*event.Event {
		s, err := js.Stream(ctx, event.Stream)
		if err != nil {
			return nil
		}
		info, err := s.Info(ctx)
		if err != nil {
			return nil
		}
		var out []*event.Event
		for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
			m, err := s.GetMsg(ctx, seq)
			if err != nil {
				continue
			}
			e, err := event.Decode(m.Data)
			if err == nil && e.Kind == event.KindBGPSession && e.Object == session.Peer && e.Resource.ID == session.Device {
				out = append(out, e)
			}
		}
		return out
	}
	alert := func() bool {
		alerts, err := am.Alerts(ctx)
		if err != nil {
			return false
		}
		for _, a := range alerts {
			if a.Labels["alertname"] == "BGPSessionDown" && a.Labels["peer_address"] == session.Peer && a.Labels["resource"] == session.Device {
				return true
			}
		}
		return false
	}

	if err := farm.SetBGPSession(session.Device, session.Peer, "active"); err != nil {
		t.Fatal(err)
	}
	var problem []*event.Event
	waitFor(t, "the session's problem event", 30*time.Second, nil, func() bool { problem = sessionEvents(); return len(problem) > 0 })
	// Kill the node polling the router, during the flap.
	owner := cluster.Assign([]cluster.Member{{ID: "n1", Capacity: 1}, {ID: "n2", Capacity: 1}, {ID: "n3", Capacity: 1}},
		[]string{problem[0].Resource.Key()})[problem[0].Resource.Key()]
	for _, n := range nodes {
		if n.id == owner {
			n.p.kill()
			t.Logf("killed %s, the router's poller, after the problem event", owner)
		}
	}
	waitFor(t, "the alert to fire", 30*time.Second, nil, alert)
	time.Sleep(4 * time.Second) // the new owner polls the session still down
	if err := farm.SetBGPSession(session.Device, session.Peer, "established"); err != nil {
		t.Fatal(err)
	}
	// Alertmanager may also drop the alert when its resends stop (a loaded
	// machine): wait for the return's event too, not just for the alert.
	events := func() []string {
		var got []string
		for _, e := range sessionEvents() {
			got = append(got, e.OldState+"->"+e.NewState)
		}
		return got
	}
	waitFor(t, "the session's return event and the alert resolved", 45*time.Second, nil, func() bool {
		return slices.Contains(events(), "active->established") && !alert()
	})
	time.Sleep(4 * time.Second) // more polls: nothing more may come
	got := events()
	if strings.Join(got, " ") != "established->active active->established" {
		t.Errorf("the session's events %q, want established->active and active->established once each", got)
	}
}

// TestTopologyAppNode: one `panoptes run` with the lldp plugin every 2 s
// and the topology app serves GET /api/v1/topology on its HTTP server:
// the simulated network's links, each seen from both ends; a link taken
// down leaves the graph.
func TestTopologyAppNode(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs panoptes and simulated devices")
	}
	binary(t)
	ctx := context.Background()
	dir := t.TempDir()
	farm, err := sim.Start(ctx, sim.Options{Devices: 8, Templates: []string{"switch48", "router400"}, Topology: true, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer farm.Close()
	var inv strings.Builder
	if err := farm.WriteInventory(&inv, "sim"); err != nil {
		t.Fatal(err)
	}
	csvPath := filepath.Join(dir, "devices.csv")
	writeFile(t, csvPath, inv.String())
	httpAddr := freeTCP(t)
	cfg := filepath.Join(dir, "panoptes.yaml")
	writeFile(t, cfg, fmt.Sprintf(`site: lab
data_dir: %s
http: {listen: %s}
discovery:
  interval: 10s
  sources: [{plugin: csv, path: %s}]
snmp:
  credential: sim
  credentials: {sim: {version: 2c, community: public}}
polling:
  plugins: [{name: lldp, interval: 2s}]
apps:
  - plugin: topology
    options: {reconcile_interval: 1s}
`, filepath.Join(dir, "data"), httpAddr, csvPath))
	began := time.Now()
	p := startRun(t, cfg)
	netw, _ := farm.Network()
	links := func(n sim.Network) []string {
		var out []string
		for _, l := range n.Links {
			if l.Up {
				a, b := l.A.Device+":"+l.A.Port, l.B.Device+":"+l.B.Port
				if a > b {
					a, b = b, a
				}
				out = append(out, a+" -- "+b)
			}
		}
		slices.Sort(out)
		return out
	}
	graph := func() (got []string, oneSided int) {
		code, body := httpGet("http://" + httpAddr + "/api/v1/topology")
		if code != 200 {
			return nil, 0
		}
		var g struct {
			Links []struct {
				A, B struct {
					ResourceID string `json:"resource_id"`
					Port       string `json:"port"`
				}
				AView *struct{} `json:"a_view"`
				BView *struct{} `json:"b_view"`
			}
		}
		if err := json.Unmarshal([]byte(body), &g); err != nil {
			return nil, 0
		}
		for _, l := range g.Links {
			a, b := l.A.ResourceID+":"+l.A.Port, l.B.ResourceID+":"+l.B.Port
			if a > b {
				a, b = b, a
			}
			got = append(got, a+" -- "+b)
			if l.AView == nil || l.BView == nil {
				oneSided++
			}
		}
		slices.Sort(got)
		return got, oneSided
	}
	want := links(netw)
	if len(want) < 8 {
		t.Fatalf("the simulated network has %d links", len(want))
	}
	var last []string
	var lastOne int
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		if last, lastOne = graph(); slices.Equal(last, want) && lastOne == 0 {
			break
		}
		if !p.alive() || time.Now().After(deadline) {
			code, body := httpGet("http://" + httpAddr + "/api/v1/topology")
			t.Fatalf("GET /api/v1/topology: %d links (%d seen from one end), want %d:\n%s\nwant:\n%s\n%d %.3000s", len(last), lastOne, len(want),
				strings.Join(last, "\n"), strings.Join(want, "\n"), code, body)
		}
	}
	t.Logf("the graph is the network's %s after start", time.Since(began).Round(100*time.Millisecond))
	l := netw.Links[len(netw.Links)-1]
	if err := farm.SetInterface(l.A.Device, l.A.Port, false); err != nil {
		t.Fatal(err)
	}
	netw, _ = farm.Network()
	want = links(netw)
	waitFor(t, "the link taken down to leave the graph", 30*time.Second, p, func() bool {
		got, _ := graph()
		return slices.Equal(got, want)
	})
}

// trackedState is the state the events app last recorded of a resource's
// object (a BGP session by its peer), read from its state bucket; "" when
// none is recorded yet.
func trackedState(ctx context.Context, js jetstream.JetStream, resourceID, object string) string {
	kv, err := js.KeyValue(ctx, tracker.Bucket)
	if err != nil {
		return ""
	}
	keys, err := kv.ListKeys(ctx)
	if err != nil {
		return ""
	}
	defer keys.Stop()
	for k := range keys.Keys() {
		e, err := kv.Get(ctx, k)
		if err != nil {
			continue
		}
		var rec struct {
			Resource *resource.Resource `json:"resource"`
			Objects  map[string]struct {
				State string `json:"state"`
			} `json:"objects"`
		}
		if json.Unmarshal(e.Value(), &rec) == nil && rec.Resource != nil && rec.Resource.ID == resourceID {
			if o, ok := rec.Objects[object]; ok {
				return o.State
			}
		}
	}
	return ""
}
