package web

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/panoptes-go/panoptes/internal/apps/topology"
	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/sim"
)

// go test ./internal/web -run TestBrowser -screenshots ../../docs/img
// writes the README's screenshots; without it they go to a temporary
// directory.
var screenshots = flag.String("screenshots", "", "directory for the browser test's screenshots (the README's: ../../docs/img)")

// chromiumPath finds Debian's chromium; under CI=true its absence fails.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed (scripts/install-deps.sh installs it): the status page's browser test needs it")
	}
	t.Skip("chromium is not installed (scripts/install-deps.sh); CI=true makes this a failure")
	return ""
}

// browser is a headless Chromium tab that records every console error,
// uncaught exception and browser log error (a CSP violation, a failed
// load) of the pages it shows.
type browser struct {
	t      *testing.T
	ctx    context.Context
	mu     sync.Mutex
	errors []string
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	path := chromiumPath(t)
	actx, cancel := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("force-color-profile", "srgb"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 860),
	)
	t.Cleanup(cancel)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(cancelTab)
	b := &browser{t: t, ctx: ctx}
	messages := chromedp.Console(ctx) // starts the browser
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				b.mu.Lock()
				b.errors = append(b.errors, fmt.Sprintf("%s (%s:%d)", m, m.URL, m.Line+1))
				b.mu.Unlock()
			}
		}
	}()
	return b
}

// takeErrors returns and clears what the pages reported.
func (b *browser) takeErrors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := b.errors
	b.errors = nil
	return out
}

// do runs actions with a bound; a failure ends the test.
func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression and decodes its value into T.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// show switches the page to a view (its hash) and waits until the view's
// section (sel) is drawn; no error may have been reported on the way.
func (b *browser) show(hash, sel string) {
	b.t.Helper()
	b.do("show "+hash,
		chromedp.Evaluate[chromedp.Void](`document.getElementById("view").removeAttribute("data-ready"); location.hash = `+jsString(hash)+`; undefined`),
		chromedp.WaitVisible(chromedp.CSS(`#view[data-ready] `+sel)))
	b.noErrors(hash)
}

func (b *browser) noErrors(where string) {
	b.t.Helper()
	if errs := b.takeErrors(); len(errs) > 0 {
		b.t.Errorf("%s: the page reported errors:\n  %s", where, strings.Join(errs, "\n  "))
	}
}

// screenshot saves the viewport as name.png (-screenshots, else a
// temporary directory).
func (b *browser) screenshot(name string) {
	b.t.Helper()
	dir := *screenshots
	if dir == "" {
		dir = b.t.TempDir()
	}
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if len(png) < 1000 {
		b.t.Fatalf("screenshot %s: %d bytes", name, len(png))
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

func jsString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

// row is one table row as the page drew it.
type row struct {
	Key    string   `json:"key"`
	Status string   `json:"status"`
	Cells  []string `json:"cells"`
}

const rowsJS = `[...document.querySelectorAll(%s)].map(tr => ({key: tr.dataset.key || "", status: tr.dataset.status || "", cells: [...tr.cells].map(td => td.textContent.trim())}))`

func rows(b *browser, sel string) []row {
	b.t.Helper()
	return eval[[]row](b, fmt.Sprintf(rowsJS, jsString(sel)))
}

// The status page in headless Chromium against two nodes of real parts
// (embedded NATS, the inventory in KV, cluster membership, the simulator's
// cabled network polled with the interface, uptime and lldp plugins, the
// topology app fed with the neighbour groups, events on the events
// stream): every view shows the devices, statuses, members, links and
// events the API holds, a device owned by the other node shows its
// interfaces and neighbours, a click on the graph opens a device, and no
// page reports a JavaScript error, a console error or a blocked load.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("headless Chromium against real NATS and simulated devices: not in -short")
	}
	b := newBrowser(t)
	tb := newTestbedWith(t, sim.Options{Devices: 12, Topology: true, Templates: []string{"switch48", "switch48", "switch48", "router400"}})
	dead := &resource.Resource{Site: tb.site, Class: "network", Subclass: "switch", Type: "generic", ID: "unreachable-1",
		Endpoint: "127.0.0.1:9", Plugin: "test"}
	tb.put(dead)
	const devices = 13

	// The topology app, fed the lldp plugin's groups as the bus would.
	app, err := topology.Open(tb.ctx, tb.js, topology.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = app.Close() })
	var mu sync.Mutex
	var neighbours []*metric.Group
	tb.onSet = func(set *metric.GroupSet) {
		mu.Lock()
		defer mu.Unlock()
		for _, g := range set.Groups {
			if g.Type == topology.GroupType {
				neighbours = append(neighbours, g)
			}
		}
	}
	tb.mount = func(mux *http.ServeMux) { mux.Handle("GET /api/v1/topology", app.Handler()) }

	a := tb.addNode("node-a", true)
	nb := tb.addNode("node-b", true)
	tb.waitMembers(2)
	tb.waitIndex(devices)
	tb.pollOnce(a, "interface", "uptime", "lldp")
	tb.pollOnce(nb, "interface", "uptime", "lldp")
	time.Sleep(time.Second) // a second interface poll gives the rates
	tb.pollOnce(a, "interface")
	tb.pollOnce(nb, "interface")
	if err := app.Handle(tb.ctx, neighbours); err != nil {
		t.Fatal(err)
	}
	publishEvents(t, tb.js, tb.site)
	// What the API says, to compare the page with.
	var list DeviceList
	if code, _ := getJSON(t, a, "/api/v1/devices?limit=100", &list); code != 200 || list.Total != devices || !list.Peers.Complete {
		t.Fatalf("devices API: %d, %+v", code, list)
	}
	want := map[string]Device{}
	var remote Device // a switch node-b owns
	for _, d := range list.Devices {
		want[d.Key] = d
		if d.Owner == "node-b" && d.StatusName == "success" && (remote.Key == "" || d.ID < remote.ID) && !strings.HasPrefix(d.ID, "router") {
			remote = d
		}
	}
	if remote.Key == "" {
		t.Fatalf("node-b owns no switch: %+v", list.Devices)
	}

	b.do("open the page", chromedp.Navigate(a.srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS(`#view[data-ready] #overview`)))
	b.noErrors("/")

	// Overview: the counts by status and the failing device.
	cards := eval[map[string]string](b, `Object.fromEntries([...document.querySelectorAll(".card")].map(c => [c.querySelector(".card-label").textContent, c.querySelector(".card-value").textContent]))`)
	if cards["Devices"] != fmt.Sprint(devices) || cards["Polling OK"] != fmt.Sprint(devices-1) || cards["Failing"] != "1" {
		t.Errorf("overview cards: %v", cards)
	}
	failing := rows(b, "#failing tbody tr")
	if len(failing) != 1 || failing[0].Cells[0] != dead.ID || failing[0].Status == "success" {
		t.Errorf("overview's failing devices: %+v", failing)
	}
	if n := eval[int](b, `document.querySelectorAll("svg.chart").length`); n != 6 {
		t.Errorf("overview: %d charts, want 6", n)
	}
	b.screenshot("overview")

	// Devices: every device with its status, owner and reason.
	b.show("#/devices?limit=100", "#devices")
	got := rows(b, "#device-table tbody tr")
	if len(got) != devices {
		t.Fatalf("device list: %d rows, want %d", len(got), devices)
	}
	for _, r := range got {
		w, ok := want[r.Key]
		if !ok {
			t.Errorf("device list: unknown row %+v", r)
			continue
		}
		// Device, Site, Type, Endpoint, Owner, Status, Reason, ...
		if r.Status != w.StatusName || r.Cells[0] != w.ID || r.Cells[3] != w.Endpoint || r.Cells[4] != w.Owner {
			t.Errorf("device row %+v, API says %+v", r, w)
		}
		if (w.ID == dead.ID) != (r.Cells[6] != "") {
			t.Errorf("device %s: reason %q", w.ID, r.Cells[6])
		}
	}
	if info := eval[string](b, `document.getElementById("page-info").textContent`); !strings.Contains(info, fmt.Sprintf("%d device(s)", devices)) {
		t.Errorf("pager: %q", info)
	}
	b.screenshot("devices")

	// Search, sorting by status and paging through the toolbar and pager.
	b.do("search",
		chromedp.Evaluate[chromedp.Void](`document.getElementById("view").removeAttribute("data-ready"); undefined`),
		chromedp.SetValue(chromedp.CSS("#device-search"), "unreachable"),
		chromedp.Click(chromedp.CSS(`#devices form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#view[data-ready] #devices`)))
	if got := rows(b, "#device-table tbody tr"); len(got) != 1 || got[0].Cells[0] != dead.ID {
		t.Errorf("search for unreachable: %+v", got)
	}
	b.show("#/devices?sort=status&order=desc&limit=25", "#devices")
	if got := rows(b, "#device-table tbody tr"); len(got) != devices || got[0].Cells[0] != dead.ID {
		t.Errorf("sorted by status, descending: first %+v", got[0])
	}
	b.show("#/devices?limit=5", "#devices")
	first := rows(b, "#device-table tbody tr")
	b.do("next page",
		chromedp.Evaluate[chromedp.Void](`document.getElementById("view").removeAttribute("data-ready"); undefined`),
		chromedp.Click(chromedp.CSS("#next-page")),
		chromedp.WaitVisible(chromedp.CSS(`#view[data-ready] #devices`)))
	second := rows(b, "#device-table tbody tr")
	if len(first) != 5 || len(second) != 5 || first[4].Cells[0] >= second[0].Cells[0] {
		t.Errorf("pages: %v then %v", first, second)
	}
	b.noErrors("devices toolbar")

	// A device node-b owns, asked of node-a: its checks, interfaces with
	// rates and its neighbours.
	b.show("#/device/"+encodeURIComponent(remote.Key), "#device")
	checks := rows(b, "#checks tbody tr")
	var plugins []string
	for _, c := range checks {
		plugins = append(plugins, c.Cells[0])
		if c.Cells[1] != "node-b" || c.Status != "success" || (c.Cells[0] == "interface") != (eval[int](b, fmt.Sprintf(`document.querySelectorAll('#checks tr[data-plugin=%s] rect.cell').length`, jsString(c.Cells[0]))) == 2) {
			t.Errorf("check %+v", c)
		}
	}
	if !slices.Equal(plugins, []string{"interface", "lldp", "uptime"}) {
		t.Errorf("checks: %v", plugins)
	}
	ifs := rows(b, "#interfaces tbody tr")
	if len(ifs) < 48 {
		t.Fatalf("%s: %d interface rows, want 48 or more", remote.ID, len(ifs))
	}
	// Interface, Alias, Admin, Oper, Speed, In, Out, ...
	rated := 0
	for _, r := range ifs {
		if r.Cells[0] == "–" || r.Cells[3] == "–" || r.Cells[4] == "–" {
			t.Errorf("interface row: %v", r.Cells)
		}
		if strings.HasSuffix(r.Cells[5], "bit/s") && strings.HasSuffix(r.Cells[6], "bit/s") {
			rated++
		}
	}
	if rated == 0 {
		t.Errorf("%s: no interface shows its rates (two polls ran)", remote.ID)
	}
	if n := len(rows(b, "#neighbors tbody tr")); n == 0 {
		t.Errorf("%s: no neighbours drawn", remote.ID)
	}
	b.screenshot("device")

	// Cluster: both members, the site.
	b.show("#/cluster", "#cluster")
	members := eval[[]string](b, `[...document.querySelectorAll("#members tbody tr")].map(tr => tr.dataset.node)`)
	if !slices.Equal(members, []string{"node-a", "node-b"}) {
		t.Errorf("cluster members: %v", members)
	}
	if sites := rows(b, "#sites tbody tr"); len(sites) != 1 || sites[0].Cells[0] != tb.site || sites[0].Cells[5] != fmt.Sprint(devices) {
		t.Errorf("cluster sites: %+v", sites)
	}
	b.screenshot("cluster")

	// Topology: the graph drawn from the app's links; a click opens a device.
	var graph topology.Graph
	if code, _ := getJSON(t, a, "/api/v1/topology", &graph); code != 200 || len(graph.Links) == 0 {
		t.Fatalf("topology API: %d, %d links", code, len(graph.Links))
	}
	b.show("#/topology", "#topology")
	drawn := eval[[]string](b, `[...document.querySelectorAll("svg.topology g.node")].map(g => g.dataset.device)`)
	if len(drawn) != len(graph.Devices) || len(drawn) < 12 {
		t.Errorf("topology: %d devices drawn, the app has %d", len(drawn), len(graph.Devices))
	}
	if n := eval[int](b, `document.querySelectorAll("svg.topology line.link").length`); n != len(graph.Links) {
		t.Errorf("topology: %d links drawn, the app has %d", n, len(graph.Links))
	}
	b.screenshot("topology")
	target := graph.Devices[0].ID
	b.do("click a device in the graph",
		chromedp.Evaluate[chromedp.Void](`document.getElementById("view").removeAttribute("data-ready"); undefined`),
		chromedp.Click(chromedp.CSS(`svg.topology g.node[data-device="`+target+`"] circle`)),
		chromedp.WaitVisible(chromedp.CSS(`#view[data-ready] #device`)))
	if h1 := eval[string](b, `document.querySelector("#device h1").firstChild.textContent`); h1 != target {
		t.Errorf("clicked %s in the graph, the page shows %q", target, h1)
	}
	b.noErrors("topology click")

	// Events: the stream's five, newest first, and a filter.
	b.show("#/events", "#events")
	events := eval[[]string](b, `[...document.querySelectorAll("#event-table tbody tr")].map(tr => tr.dataset.kind + "/" + tr.dataset.status)`)
	if strings.Join(events, ",") != "device/ok,bgp_session/problem,interface/problem,bgp_session/ok,device/problem" {
		t.Errorf("events: %v", events)
	}
	b.screenshot("events")
	b.show("#/events?kind=bgp_session&status=problem", "#events")
	if got := rows(b, "#event-table tbody tr"); len(got) != 1 {
		t.Errorf("bgp problems: %+v", got)
	}

	// The recorder sees errors: an exception thrown by the page is caught.
	b.do("throw", chromedp.Evaluate[chromedp.Void](`setTimeout(() => { throw new Error("probe of the error recorder") }, 0); undefined`))
	deadline := time.Now().Add(10 * time.Second)
	for {
		errs := b.takeErrors()
		if len(errs) == 1 && strings.Contains(errs[0], "probe of the error recorder") {
			break
		}
		if len(errs) > 0 || time.Now().After(deadline) {
			t.Fatalf("the error recorder saw %q, want the probe alone", errs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// encodeURIComponent is JavaScript's, for the keys in the page's hashes.
func encodeURIComponent(s string) string {
	var out strings.Builder
	for _, c := range []byte(s) {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-_.!~*'()", c) >= 0 {
			out.WriteByte(c)
		} else {
			fmt.Fprintf(&out, "%%%02X", c)
		}
	}
	return out.String()
}
