package topology

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/panoptes-go/panoptes/internal/apps/tracker"
	"github.com/panoptes-go/panoptes/internal/event"
	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/testutil/natstest"
)

type staticInventory []*resource.Resource

func (s staticInventory) Snapshot() []*resource.Resource { return s }

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

func openApp(t *testing.T, js jetstream.JetStream, o Options) *App {
	t.Helper()
	a, err := Open(context.Background(), js, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	return a
}

// eventually waits for f to hold.
func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); !f(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func eventStrings(es []*event.Event) []string {
	var out []string
	for _, e := range es {
		out = append(out, fmt.Sprintf("%s %s→%s", e.Object, e.OldState, e.NewState))
	}
	sort.Strings(out)
	return out
}

// TestNodesShareAndRestartKeeps: two nodes record neighbour groups of
// different devices; each builds the same graph from KV; a node opened
// after a restart of the bus (same data dir) has the graph back; link
// changes become events once.
func TestNodesShareAndRestartKeeps(t *testing.T) {
	dir := t.TempDir()
	js := natstest.JetStream(t, dir)
	ctx := context.Background()
	a, b := res("a", "10.0.0.1"), res("b", "10.0.0.2")
	inv := staticInventory{a, b}
	clk := &clock{t: time.Unix(1000, 0)}
	tr, err := tracker.Open(ctx, js, tracker.Options{})
	if err != nil {
		t.Fatal(err)
	}
	n1 := openApp(t, js, Options{Inventory: inv, Tracker: tr, Now: clk.Now})
	n2 := openApp(t, js, Options{Inventory: inv, Now: clk.Now})
	if err := n1.Handle(ctx, []*metric.Group{nb(a, 1000, "p1", "neighbor_name=b", "neighbor_port=q1")}); err != nil {
		t.Fatal(err)
	}
	if err := n2.Handle(ctx, []*metric.Group{nb(b, 1000, "q1", "neighbor_name=a", "neighbor_port=p1"),
		nb(b, 1000, "q2", "neighbor_name=c", "neighbor_port=r1")}); err != nil {
		t.Fatal(err)
	}
	want := []string{"a:p1 -- b:q1 (both)"}
	for _, n := range []*App{n1, n2} {
		eventually(t, "both nodes see the link from both ends", func() bool {
			return fmt.Sprint(linkStrings(n.Graph())) == fmt.Sprint(want)
		})
	}
	es, err := n1.Reconcile(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := eventStrings(es); fmt.Sprint(got) != "[dc1/a:p1 -- dc1/b:q1 →up]" {
		t.Errorf("added: %q", got)
	}
	if es, _ := n1.Reconcile(ctx); len(es) != 0 {
		t.Errorf("a second pass emitted %q", eventStrings(es))
	}

	// Both ends lose the link (the next polls report the ports empty).
	clk.Set(time.Unix(1060, 0))
	if err := n2.Handle(ctx, []*metric.Group{nb(a, 1060, "p1"), nb(b, 1060, "q1")}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the link gone on n1", func() bool { return len(n1.Graph().Links) == 0 })
	es, err = n1.Reconcile(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := eventStrings(es); fmt.Sprint(got) != "[dc1/a:p1 -- dc1/b:q1 up→removed]" || es[0].Status != event.StatusProblem ||
		es[0].Labels["a_port"] != "p1" || es[0].Labels["b_device"] != "b" {
		t.Errorf("removed: %q %+v", got, es)
	}
	// A new leader (n2 with the tracker) finds nothing to emit.
	n3 := openApp(t, js, Options{Inventory: inv, Tracker: tr, Now: clk.Now})
	if es, err := n3.Reconcile(ctx); err != nil || len(es) != 0 {
		t.Errorf("a new reconciler re-emitted %q (%v)", eventStrings(es), err)
	}

	// Concurrent updates of one device from two nodes both land.
	var wg sync.WaitGroup
	for i, n := range []*App{n1, n2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			port := fmt.Sprintf("x%d", i)
			if err := n.Handle(ctx, []*metric.Group{nb(a, 1100, port, "neighbor_name=b", "neighbor_port=y"+port)}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	clk.Set(time.Unix(1100, 0))
	eventually(t, "both concurrent ports recorded", func() bool { return len(n1.Graph().Links) == 2 })
}

// TestRestartKeepsGraph: the records survive a restart of the bus.
func TestRestartKeepsGraph(t *testing.T) {
	dir := t.TempDir()
	a, b := res("a", "10.0.0.1"), res("b", "10.0.0.2")
	now := func() time.Time { return time.Unix(1010, 0) }
	t.Run("first", func(t *testing.T) {
		js := natstest.JetStream(t, dir)
		n := openApp(t, js, Options{Now: now})
		if err := n.Handle(context.Background(), []*metric.Group{nb(a, 1000, "p1", "neighbor_name=b", "neighbor_port=q1")}); err != nil {
			t.Fatal(err)
		}
	})
	js := natstest.JetStream(t, dir)
	n := openApp(t, js, Options{Inventory: staticInventory{a, b}, Now: now})
	if got := linkStrings(n.Graph()); fmt.Sprint(got) != "[a:p1 -- b:q1 (a)]" {
		t.Errorf("after restart: %q", got)
	}
}

func TestHandler(t *testing.T) {
	js := natstest.JetStream(t, "")
	a, b := res("a", "10.0.0.1"), res("b", "10.0.0.2")
	n := openApp(t, js, Options{Inventory: staticInventory{a, b}, Now: func() time.Time { return time.Unix(1010, 0) }})
	if err := n.Handle(context.Background(), []*metric.Group{
		nb(a, 1000, "p1", "neighbor_name=b", "neighbor_port=q1"),
		nb(a, 1000, "p2", "neighbor_name=phone", "neighbor_chassis_id=00:1b:54:00:00:01", "neighbor_chassis_id_type=MAC_ADDRESS"),
	}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the record", func() bool { return len(n.Graph().Links) == 1 })
	srv := httptest.NewServer(n.Handler())
	defer srv.Close()
	get := func(path string) (int, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	code, body := get("/api/v1/topology")
	var g Graph
	if err := json.Unmarshal([]byte(body), &g); code != 200 || err != nil || len(g.Links) != 1 || len(g.Candidates) != 1 || len(g.Devices) != 2 {
		t.Errorf("graph: %d %v %s", code, err, body)
	}
	if !strings.Contains(body, `"a_view"`) || strings.Contains(body, `"b_view"`) {
		t.Errorf("views: %s", body)
	}
	code, body = get("/api/v1/topology/devices/b")
	var dv DeviceView
	if err := json.Unmarshal([]byte(body), &dv); code != 200 || err != nil || len(dv.Links) != 1 || len(dv.Candidates) != 0 {
		t.Errorf("device b: %d %v %s", code, err, body)
	}
	if code, body = get("/api/v1/topology/devices/zz"); code != 404 || !strings.Contains(body, `no device "zz"`) {
		t.Errorf("unknown device: %d %s", code, body)
	}
	if code, body = get("/api/v1/topology?site=elsewhere"); code != 200 || !strings.Contains(body, `"links": []`) {
		t.Errorf("other site: %d %s", code, body)
	}
	if code, body = get("/api/v1/topology.dot"); code != 200 || !strings.HasPrefix(body, "graph topology {") || !strings.Contains(body, `"dc1/a" -- "dc1/b"`) {
		t.Errorf("dot: %d %s", code, body)
	}
}
