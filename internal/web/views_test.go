package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/panoptes-go/panoptes/internal/cluster"
	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/wire"
)

// The overview counts every device by status and site, sums the nodes'
// self-metrics and charts them; the cluster view shows both members, the
// site's leader and what each owns.
func TestOverviewAndCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("real NATS and simulated devices: not in -short")
	}
	tb := newTestbed(t, 6)
	tb.put(&resource.Resource{Site: "far", Class: "network", Subclass: "router", Type: "generic", ID: "edge-1", Endpoint: "192.0.2.1", Plugin: "test"})
	a := tb.addNode("node-a", true)
	b := tb.addNode("node-b", true)
	tb.waitMembers(2)
	tb.waitIndex(7)
	tb.pollOnce(a, "uptime")
	tb.pollOnce(b, "uptime")
	time.Sleep(500 * time.Millisecond) // two samples at least (200 ms apart)

	var o Overview
	if code, _ := getJSON(t, a, "/api/v1/overview", &o); code != 200 {
		t.Fatalf("overview: %d", code)
	}
	if o.Devices != 7 || o.ByStatus["success"] != 6 || o.ByStatus["unknown"] != 1 || !o.Peers.Complete {
		t.Fatalf("overview counts: devices %d by status %v peers %+v", o.Devices, o.ByStatus, o.Peers)
	}
	sites := map[string]SiteCounts{}
	for _, s := range o.Sites {
		sites[s.Site] = s
	}
	if l := sites["lab"]; l.Devices != 6 || l.OK != 6 || l.Nodes != 2 || l.Pollers != 2 || l.Leader == "" {
		t.Errorf("site lab: %+v", l)
	}
	if f := sites["far"]; f.Devices != 1 || f.Unknown != 1 || f.Nodes != 0 {
		t.Errorf("site far (no node): %+v", f)
	}
	if len(o.Nodes) != 2 || len(o.Plugins) != 1 || o.Plugins[0].Plugin != "uptime" || o.Plugins[0].Checks != 6 {
		t.Fatalf("nodes %d plugins %+v", len(o.Nodes), o.Plugins)
	}
	for _, name := range seriesNames {
		if _, ok := o.Series[name]; !ok {
			t.Errorf("series %s missing", name)
		}
	}
	if len(o.Series[SeriesBuffered]) == 0 {
		t.Errorf("no samples of %s", SeriesBuffered)
	}

	var c ClusterView
	if code, _ := getJSON(t, b, "/api/v1/cluster", &c); code != 200 {
		t.Fatalf("cluster: %d", code)
	}
	if c.Self != "node-b" || len(c.Members) != 2 || !c.Peers.Complete {
		t.Fatalf("cluster: %+v", c)
	}
	owns, leaders := 0, 0
	for _, m := range c.Members {
		owns += m.Owns
		if m.Leader {
			leaders++
		}
		if !m.Answered || m.Version != "test" || m.Site != "lab" || m.Self != (m.ID == "node-b") {
			t.Errorf("member %+v", m)
		}
	}
	if owns != 6 || leaders != 1 {
		t.Errorf("owned %d (want 6), leaders %d", owns, leaders)
	}
	var lab SiteView
	for _, s := range c.Sites {
		if s.Site == "lab" {
			lab = s
		}
	}
	if lab.Leader == "" || lab.LeaderSince == nil || lab.Members != 2 || lab.Devices != 6 {
		t.Errorf("site view: %+v", lab)
	}
}

// Events come from the events stream, newest first, filtered by kind,
// status, device and text, and the page says so when no app writes any.
func TestEvents(t *testing.T) {
	if testing.Short() {
		t.Skip("real NATS: not in -short")
	}
	tb := newTestbed(t, 0)
	tb.put(&resource.Resource{Site: tb.site, Class: "network", Subclass: "switch", Type: "generic", ID: "sw1", Endpoint: "192.0.2.1"})
	a := tb.addNode("node-a", true)
	var list EventList
	getJSON(t, a, "/api/v1/events", &list)
	if len(list.Events) != 0 || !strings.Contains(list.Note, "no events stream") {
		t.Fatalf("without a stream: %+v", list)
	}
	publishEvents(t, tb.js, tb.site)
	cases := []struct {
		query string
		want  []string // event ids, newest first
	}{
		{"", []string{"e5", "e4", "e3", "e2", "e1"}},
		{"kind=bgp_session", []string{"e4", "e2"}},
		{"status=problem", []string{"e4", "e3", "e1"}},
		{"resource=sw2", []string{"e5"}},
		{"q=192.0.2.9", []string{"e4", "e2"}},
		{"limit=2", []string{"e5", "e4"}},
		{"since=1m", []string{"e5", "e4", "e3", "e2", "e1"}},
	}
	for _, c := range cases {
		var l EventList
		if code, _ := getJSON(t, a, "/api/v1/events?"+c.query, &l); code != 200 {
			t.Fatalf("%s: %d", c.query, code)
		}
		var got []string
		for _, e := range l.Events {
			got = append(got, e.ID)
		}
		if strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("events?%s = %v, want %v", c.query, got, c.want)
		}
	}
	for _, bad := range []string{"since=soon", "status=bad", "limit=x"} {
		if code, _ := getJSON(t, a, "/api/v1/events?"+bad, nil); code != 400 {
			t.Errorf("%s: %d", bad, code)
		}
	}
}

// publishEvents writes five events as the events app does (internal/event's
// JSON on panoptes.events.<site>.<kind>), creating the stream as it does.
func publishEvents(t *testing.T, js jetstream.JetStream, site string) {
	t.Helper()
	ctx := context.Background()
	_, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: EventsStream, Subjects: []string{wire.AllEvents},
		Storage: jetstream.FileStorage, MaxAge: 30 * 24 * time.Hour, Duplicates: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	now := float64(time.Now().UnixMilli()) / 1000
	res := func(id string) *resource.Resource {
		return &resource.Resource{Site: site, Class: "network", Subclass: "switch", Type: "generic", ID: id, Endpoint: "192.0.2.1"}
	}
	for i, e := range []Event{
		{ID: "e1", Kind: "device", Resource: res("sw1"), NewState: "unreachable", Status: "problem"},
		{ID: "e2", Kind: "bgp_session", Resource: res("sw1"), Object: "192.0.2.9", OldState: "active", NewState: "established", Status: "ok",
			Labels: map[string]string{"peer_address": "192.0.2.9"}},
		{ID: "e3", Kind: "interface", Resource: res("sw1"), Object: "Gi0/1", OldState: "up", NewState: "down", Status: "problem"},
		{ID: "e4", Kind: "bgp_session", Resource: res("sw1"), Object: "192.0.2.9", OldState: "established", NewState: "idle", Status: "problem",
			Flaps: map[string]int{"5m": 1, "1h": 1}},
		{ID: "e5", Kind: "device", Resource: res("sw2"), OldState: "unreachable", NewState: "reachable", Status: "ok"},
	} {
		e.Site, e.Time = site, now+float64(i)
		data, _ := json.Marshal(e)
		if _, err := js.Publish(ctx, wire.EventsSubject(site, e.Kind), data); err != nil {
			t.Fatal(err)
		}
	}
}

// The page and its assets come from the binary with headers that keep it
// to its origin; unknown API paths are JSON 404s; the topology view says
// when the app does not run.
func TestStaticAndRoutes(t *testing.T) {
	w, err := New(Options{NodeID: "n1", Site: "lab", Inventory: sliceInventory(nil), Membership: staticMembers(nil)})
	if err != nil {
		t.Fatal(err)
	}
	srv := newServer(t, w)
	for _, c := range []struct {
		path, ctype, contains string
		code                  int
	}{
		{"/", "text/html", `<script src="assets/app.js">`, 200},
		{"/assets/app.js", "javascript", "renderOverview", 200},
		{"/assets/style.css", "text/css", "--accent", 200},
		{"/assets/nope.js", "", "", 404},
		{"/api/v1/", "application/json", "/api/v1/devices", 200},
		{"/api/v1/nope", "application/json", "no such endpoint", 404},
		{"/api/v1/topology", "application/json", `"available":false`, 200},
		{"/api/v1/devices", "application/json", `"total":0`, 200},
	} {
		resp, err := http.Get(srv + c.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.code || !strings.Contains(resp.Header.Get("Content-Type"), c.ctype) || !strings.Contains(string(body), c.contains) {
			t.Errorf("GET %s: %d %q %.80q", c.path, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		if c.path == "/" && !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'none'") {
			t.Errorf("GET /: CSP %q", resp.Header.Get("Content-Security-Policy"))
		}
	}
	// The page names no other origin: every src and href is relative.
	for _, f := range []string{"static/index.html", "static/assets/app.js", "static/assets/style.css"} {
		data, err := staticFiles.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{"http://", "https://", "//cdn", "@import"} {
			if strings.Contains(strings.ReplaceAll(string(data), "http://www.w3.org/2000/svg", ""), bad) {
				t.Errorf("%s mentions %q: the page must not load anything from another origin", f, bad)
			}
		}
	}
}

type sliceInventory []*resource.Resource

func (s sliceInventory) Snapshot() []*resource.Resource {
	return append([]*resource.Resource(nil), s...)
}
func (s sliceInventory) Get(key string) *resource.Resource {
	for _, r := range s {
		if r.Key() == key {
			return r
		}
	}
	return nil
}

func newServer(t *testing.T, w *Web) string {
	t.Helper()
	mux := http.NewServeMux()
	w.Mount(func(p string, h http.Handler) { mux.Handle(p, h) })
	srv := &http.Server{Handler: mux}
	ln := listen(t)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return fmt.Sprintf("http://%s", ln.Addr())
}

type staticMembers []cluster.Member

func (s staticMembers) Members() []cluster.Member { return s }

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}
