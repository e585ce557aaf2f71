package topology

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/apps/tracker"
	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/poll"
	_ "github.com/panoptes-go/panoptes/internal/poll/lldp" // the lldp polling plugin
	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/sim"
	"github.com/panoptes-go/panoptes/internal/snmp"
	"github.com/panoptes-go/panoptes/internal/testutil/natstest"
)

// simSite polls a simulated network's devices with the lldp plugin.
type simSite struct {
	farm   *sim.Farm
	inv    staticInventory
	byName map[string]*resource.Resource
	runner *poll.Runner
	plugin poll.Plugin
}

func newSimSite(t *testing.T, devices int, templates ...string) *simSite {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: serves simulated devices over UDP")
	}
	farm, err := sim.Start(context.Background(), sim.Options{Devices: devices, Templates: templates, Topology: true, SharedPort: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = farm.Close() })
	s := &simSite{farm: farm, byName: map[string]*resource.Resource{}}
	for _, d := range farm.Devices() {
		r := &resource.Resource{Site: "sim", Class: "network", Subclass: "switch", Type: "generic", ID: d.Name, Endpoint: d.Addr, Metadata: map[string]string{}}
		s.inv = append(s.inv, r)
		s.byName[d.Name] = r
	}
	pool := snmp.NewPool(snmp.PoolOptions{MaxRequestsPerDevice: 2})
	t.Cleanup(func() { _ = pool.Close() })
	s.runner = poll.NewRunner(poll.RunnerOptions{Pool: pool, SNMP: poll.SNMPOptions{Timeout: 3 * time.Second, Retries: 2,
		Credential: "sim", Credentials: map[string]*snmp.Credential{"sim": {Version: "2c", Community: sim.DefaultCommunity}}}})
	if s.plugin, err = poll.New("lldp", nil); err != nil {
		t.Fatal(err)
	}
	return s
}

// poll polls the named devices (all when none) at once and returns their
// neighbour groups, stamped at.
func (s *simSite) poll(t *testing.T, at time.Time, names ...string) []*metric.Group {
	t.Helper()
	if len(names) == 0 {
		for _, d := range s.farm.Devices() {
			names = append(names, d.Name)
		}
	}
	var mu sync.Mutex
	var out []*metric.Group
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for _, name := range names {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			set := s.runner.Run(context.Background(), "lldp", s.plugin, s.byName[name], time.Minute)
			mu.Lock()
			defer mu.Unlock()
			for _, g := range set.Groups {
				if g.Type == "status" {
					if st, _ := g.Metric("polling_status"); st.Value.Int64() != 0 {
						t.Errorf("%s: polling_status %d", name, st.Value.Int64())
					}
					continue
				}
				g.CreationTimestamp = float64(at.Unix())
				out = append(out, g)
			}
		}()
	}
	wg.Wait()
	return out
}

// truthLinks is the network's up links as linkStrings writes them (ends by
// resource key order).
func truthLinks(n sim.Network) []string {
	var out []string
	for _, l := range n.Links {
		if !l.Up {
			continue
		}
		a, b := l.A, l.B
		if "sim|network|switch|generic|"+a.Device > "sim|network|switch|generic|"+b.Device {
			a, b = b, a
		}
		out = append(out, fmt.Sprintf("%s:%s -- %s:%s (both)", a.Device, a.Port, b.Device, b.Port))
	}
	sort.Strings(out)
	return out
}

// TestSimulatedNetwork300: on a 300-device simulated network, polled with
// the lldp plugin and recorded through KV, the graph equals the
// simulator's ground truth: every link from both ends, the phones and the
// transit router as candidates, no problem. A link taken down and polled
// again is removed, and recorded as a removed event.
func TestSimulatedNetwork300(t *testing.T) {
	s := newSimSite(t, 300, "switch48", "router400")
	js := natstest.JetStream(t, "")
	ctx := context.Background()
	tr, err := tracker.Open(ctx, js, tracker.Options{})
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Unix(1764057600, 0)}
	app := openApp(t, js, Options{Inventory: s.inv, Tracker: tr, Now: clk.Now})
	if err := app.Handle(ctx, s.poll(t, clk.Now())); err != nil {
		t.Fatal(err)
	}
	net, _ := s.farm.Network()
	want := truthLinks(net)
	eventually(t, "every record", func() bool { return len(app.Graph().Links) == len(want) })
	g := app.Graph()
	if got := linkStrings(g); !reflect.DeepEqual(got, want) {
		t.Fatalf("%d links, want %d; first differences:\n%s", len(got), len(want), diff(got, want))
	}
	if len(g.Problems) != 0 {
		t.Errorf("problems: %+v", g.Problems)
	}
	var cands, ext []string
	for _, c := range g.Candidates {
		cands = append(cands, fmt.Sprintf("%s %s from %s:%s", c.Name, c.ChassisID, c.SeenFrom[0].Device, c.SeenFrom[0].Port))
	}
	for _, e := range net.External {
		ext = append(ext, fmt.Sprintf("%s %s from %s:%s", e.SysName, e.ChassisID, e.Port.Device, e.Port.Port))
	}
	sort.Strings(cands)
	sort.Strings(ext)
	if !reflect.DeepEqual(cands, ext) {
		t.Errorf("candidates:\n%s", diff(cands, ext))
	}
	for _, d := range g.Devices {
		if d.ChassisID != net.Chassis[d.ID] {
			t.Errorf("%s: chassis id %q, want %q", d.ID, d.ChassisID, net.Chassis[d.ID])
		}
	}
	es, err := app.Reconcile(ctx)
	if err != nil || len(es) != len(want) {
		t.Fatalf("first reconcile: %d events (%v), want one added per link (%d)", len(es), err, len(want))
	}

	// A switch's uplink goes down; its two ends are polled again.
	l := net.Links[len(net.Links)-1]
	if err := s.farm.SetInterface(l.A.Device, l.A.Port, false); err != nil {
		t.Fatal(err)
	}
	clk.Set(clk.Now().Add(time.Minute))
	if err := app.Handle(ctx, s.poll(t, clk.Now(), l.A.Device, l.B.Device)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the link removed", func() bool { return len(app.Graph().Links) == len(want)-1 })
	es, err = app.Reconcile(ctx)
	if err != nil || len(es) != 1 || es[0].NewState != "removed" || es[0].Labels["a_device"]+es[0].Labels["b_device"] == "" {
		t.Fatalf("after the link went down: %q %v", eventStrings(es), err)
	}
	net, _ = s.farm.Network()
	if got := linkStrings(app.Graph()); !reflect.DeepEqual(got, truthLinks(net)) {
		t.Errorf("after the link went down:\n%s", diff(got, truthLinks(net)))
	}
}

// diff lists up to 10 lines in one list and not the other.
func diff(got, want []string) string {
	in := func(l []string) map[string]bool {
		m := map[string]bool{}
		for _, s := range l {
			m[s] = true
		}
		return m
	}
	g, w := in(got), in(want)
	var out []string
	for _, s := range got {
		if !w[s] {
			out = append(out, "+ "+s)
		}
	}
	for _, s := range want {
		if !g[s] {
			out = append(out, "- "+s)
		}
	}
	if len(out) > 10 {
		out = out[:10]
	}
	return strings.Join(out, "\n")
}
