package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/panoptes-go/panoptes/internal/bus"
	"github.com/panoptes-go/panoptes/internal/checkstate"
	"github.com/panoptes-go/panoptes/internal/cluster"
	"github.com/panoptes-go/panoptes/internal/inventory"
	"github.com/panoptes-go/panoptes/internal/metric"
	_ "github.com/panoptes-go/panoptes/internal/plugins/all"
	"github.com/panoptes-go/panoptes/internal/poll"
	"github.com/panoptes-go/panoptes/internal/rate"
	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/sim"
	"github.com/panoptes-go/panoptes/internal/snmp"
	"github.com/panoptes-go/panoptes/internal/wire"
)

// testbed is a site run from real parts: an embedded NATS JetStream
// server, the inventory in its KV bucket with each node's watched index,
// cluster membership, the simulator's devices polled by the real polling
// plugins, their groups published to the metrics stream. What the
// collector will do (run a check, publish it, record it in a
// checkstate.Book with the acks' sequences) is done here by pollOnce.
type testbed struct {
	t     *testing.T
	ctx   context.Context
	bus   *bus.Bus
	js    jetstream.JetStream
	store *inventory.Store
	farm  *sim.Farm
	site  string
	nodes []*testNode
	// onSet, when set, sees every set pollOnce publishes (the topology
	// app's feed in the browser test); called concurrently.
	onSet func(set *metric.GroupSet)
	// mount, when set, adds handlers to every serving node's server before
	// the page's (the topology app's).
	mount func(mux *http.ServeMux)
}

type testNode struct {
	id     string
	cl     *cluster.Cluster
	index  *inventory.Index
	book   *checkstate.Book
	reg    *prometheus.Registry
	runner *poll.Runner
	rates  *rate.Processor // bits_in/out rates of the interface plugin
	web    *Web
	srv    *httptest.Server
}

func newTestbed(t *testing.T, devices int) *testbed {
	t.Helper()
	return newTestbedWith(t, sim.Options{Devices: devices})
}

// newTestbedWith starts so.Devices simulated devices (none when 0) with
// so's other options (Topology: a cabled network).
func newTestbedWith(t *testing.T, so sim.Options) *testbed {
	t.Helper()
	devices := so.Devices
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	b, err := bus.Open(ctx, bus.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatalf("embedded bus: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	store, err := inventory.Open(ctx, b.JetStream(), 1)
	if err != nil {
		t.Fatal(err)
	}
	tb := &testbed{t: t, ctx: ctx, bus: b, js: b.JetStream(), store: store, site: "lab"}
	if devices > 0 {
		so.Seed = 1
		if so.Templates == nil {
			so.Templates = []string{"switch48", "switch48", "switch48", "router400"}
		}
		farm, err := sim.Start(ctx, so)
		if err != nil {
			t.Fatalf("simulated devices: %v", err)
		}
		t.Cleanup(func() { _ = farm.Close() })
		tb.farm = farm
		for _, d := range farm.Devices() {
			tb.put(&resource.Resource{Site: tb.site, Class: "network", Subclass: "switch", Type: "generic", ID: d.Name,
				Endpoint: d.Addr, Metadata: map[string]string{"template": d.Template}, Plugin: "test"})
		}
	}
	return tb
}

func (tb *testbed) put(r *resource.Resource) {
	tb.t.Helper()
	if err := tb.store.Put(tb.ctx, r); err != nil {
		tb.t.Fatal(err)
	}
}

// addNode joins a node to the cluster; with serve it also runs a Web
// (answering peers) with an HTTP server for its handler.
func (tb *testbed) addNode(id string, serve bool) *testNode {
	t := tb.t
	t.Helper()
	n := &testNode{id: id, book: checkstate.New(), reg: prometheus.NewRegistry(), rates: rate.New(rate.Options{})}
	var err error
	n.index, err = tb.store.Watch(tb.ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.index.Stop)
	n.cl, err = cluster.Join(tb.ctx, cluster.Options{JS: tb.js, Heartbeat: 500 * time.Millisecond, Registerer: n.reg,
		Self: cluster.Member{ID: id, Site: tb.site, Roles: []string{cluster.RolePoller, cluster.RoleDiscovery}, Version: "test"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.cl.Start(tb.ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.cl.Close(context.Background()) })
	n.runner = poll.NewRunner(poll.RunnerOptions{
		// Generous: the machine running the tests may be busy.
		SNMP: poll.SNMPOptions{Timeout: time.Second, Retries: 2, Credential: "lab",
			Credentials: map[string]*snmp.Credential{"lab": {Version: "2c", Community: "public"}}},
		Pool:       snmp.NewPool(snmp.PoolOptions{}),
		Registerer: n.reg,
	})
	if !serve {
		tb.nodes = append(tb.nodes, n)
		return n
	}
	n.web, err = New(Options{NodeID: id, Site: tb.site, Conn: tb.js.Conn(), JS: tb.js, Inventory: n.index, Membership: n.cl,
		Checks: n.book, Gatherer: n.reg, SampleEvery: 200 * time.Millisecond, PeerTimeout: 15 * time.Second, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(tb.ctx)
	done := make(chan error, 1)
	go func() { done <- n.web.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	select { // a request before then would wait PeerTimeout for this node (TestDeviceWithoutRefs, once in CI)
	case <-n.web.Answering():
	case <-time.After(10 * time.Second):
		t.Fatalf("node %s does not answer page requests", id)
	}
	mux := http.NewServeMux()
	if tb.mount != nil {
		tb.mount(mux)
	}
	n.web.Mount(func(pattern string, h http.Handler) { mux.Handle(pattern, h) })
	n.srv = httptest.NewServer(mux)
	t.Cleanup(n.srv.Close)
	tb.nodes = append(tb.nodes, n)
	return n
}

// waitMembers waits until every node sees n members, none of them still
// joining (until a joining node's join time its share has two owners).
func (tb *testbed) waitMembers(n int) {
	tb.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for _, node := range tb.nodes {
		for len(node.cl.Members()) != n || len(node.cl.Joining()) != 0 {
			if time.Now().After(deadline) {
				tb.t.Fatalf("%s sees %d members, want %d", node.id, len(node.cl.Members()), n)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// waitIndex waits until every node's index holds n resources.
func (tb *testbed) waitIndex(n int) {
	tb.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for _, node := range tb.nodes {
		for len(node.index.Snapshot()) != n {
			if time.Now().After(deadline) {
				tb.t.Fatalf("%s's index holds %d resources, want %d", node.id, len(node.index.Snapshot()), n)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// pollOnce runs every plugin once against every resource the node owns,
// publishes each check's groups and records the run with the messages'
// stream sequences, as the collector does.
func (tb *testbed) pollOnce(n *testNode, plugins ...string) {
	t := tb.t
	t.Helper()
	snap := n.index.Snapshot()
	keys := make([]string, len(snap))
	for i, r := range snap {
		keys[i] = r.Key()
	}
	owned := n.cl.Owned(keys)
	var wg sync.WaitGroup
	for _, r := range snap {
		if r.Site != tb.site || !owned[r.Key()] { // as the collector: its own site only
			continue
		}
		for _, name := range plugins {
			p, err := poll.New(name, nil)
			if err != nil {
				t.Fatal(err)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				start := time.Now()
				ctx, cancel := context.WithTimeout(tb.ctx, 20*time.Second)
				set := n.runner.Run(ctx, name, p, r, 15*time.Second)
				cancel()
				if name == "interface" {
					n.rates.Apply(tb.ctx, set, interfaceRates, time.Now())
				}
				end := time.Now()
				if tb.onSet != nil {
					tb.onSet(set)
				}
				refs, err := tb.publish(set)
				if err != nil {
					t.Error(err)
					return
				}
				status, _ := set.Groups[len(set.Groups)-1].Metric("polling_status")
				st := int(status.Value.Int64())
				reason := ""
				if st != 0 {
					reason = metric.StatusName(st)
				}
				n.book.Record(r.Key(), checkstate.Run{Plugin: name, Interval: 15 * time.Second, Start: start, End: end,
					Status: st, Reason: reason, NextDue: start.Add(15 * time.Second), Messages: refs})
			}()
		}
	}
	wg.Wait()
}

var interfaceRates = func() rate.Selector {
	s, err := rate.ParseSelector([]any{"bits_in", "bits_out"})
	if err != nil {
		panic(err)
	}
	return s
}()

// publish frames a set as the bus does and publishes each message,
// returning where the stream stored them.
func (tb *testbed) publish(set *metric.GroupSet) ([]checkstate.MessageRef, error) {
	var enc wire.Encoder
	var subjects wire.SubjectCache
	if _, err := enc.Encode(set, &subjects, wire.Legacy); err != nil {
		return nil, err
	}
	enc.Compress(wire.CodecZstd)
	var refs []checkstate.MessageRef
	for i, m := range enc.Messages() {
		ack, err := tb.js.Publish(tb.ctx, m.Subject, enc.Bytes(i))
		if err != nil {
			return nil, fmt.Errorf("publish %s: %w", m.Subject, err)
		}
		refs = append(refs, checkstate.MessageRef{Stream: ack.Stream, Seq: ack.Sequence})
	}
	return refs, nil
}

// getJSON fetches path from the node's server into v and returns the
// status code and the body's size.
func getJSON(t *testing.T, n *testNode, path string, v any) (int, int) {
	t.Helper()
	resp, err := http.Get(n.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("GET %s: %v: %s", path, err, body)
		}
	}
	return resp.StatusCode, len(body)
}

func keyPath(key string) string { return "/api/v1/devices/" + url.PathEscape(key) }
