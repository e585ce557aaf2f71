package topology

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/apps/tracker"
	"github.com/panoptes-go/panoptes/internal/event"
	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/poll"
	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/snmp"
	"github.com/panoptes-go/panoptes/internal/testutil/lldplab"
	"github.com/panoptes-go/panoptes/internal/testutil/natstest"
)

// TestLLDPDNamespaces: six network namespaces, each a device running
// snmpd and lldpd's AgentX subagent, cabled by veth pairs as a ring of four
// (n0-n1-n2-n3-n0) with a chain of two hanging off n3 (n3-n4-n5). Real LLDP
// frames build the neighbour tables; the lldp plugin reads them over SNMP;
// the topology app's graph is exactly the cabling, seen from both ends,
// with no candidate and no problem. A link taken down disappears from the
// graph and becomes one removed event.
func TestLLDPDNamespaces(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: network namespaces, lldpd, snmpd")
	}
	lab := lldplab.Start(t, 6, [][2]int{{0, 1}, {1, 2}, {2, 3}, {3, 0}, {3, 4}, {4, 5}})
	var inv staticInventory
	for _, nd := range lab.Nodes {
		inv = append(inv, &resource.Resource{Site: "lab", Class: "network", Subclass: "switch", Type: "linux",
			ID: nd.Name, Endpoint: nd.Addr, Metadata: map[string]string{}})
	}
	pool := snmp.NewPool(snmp.PoolOptions{MaxRequestsPerDevice: 2})
	t.Cleanup(func() { _ = pool.Close() })
	runner := poll.NewRunner(poll.RunnerOptions{Pool: pool, SNMP: poll.SNMPOptions{Timeout: time.Second, Retries: 1,
		Credential: "lab", Credentials: map[string]*snmp.Credential{"lab": {Version: "2c", Community: lldplab.Community}}}})
	plugin, err := poll.New("lldp", nil)
	if err != nil {
		t.Fatal(err)
	}
	pollAll := func() []*metric.Group {
		var mu sync.Mutex
		var out []*metric.Group
		var wg sync.WaitGroup
		for _, r := range inv {
			wg.Add(1)
			go func() {
				defer wg.Done()
				set := runner.Run(context.Background(), "lldp", plugin, r, time.Minute)
				mu.Lock()
				defer mu.Unlock()
				for _, g := range set.Groups {
					if g.Type == GroupType {
						out = append(out, g)
					}
				}
			}()
		}
		wg.Wait()
		return out
	}

	js := natstest.JetStream(t, "")
	ctx := context.Background()
	tr, err := tracker.Open(ctx, js, tracker.Options{})
	if err != nil {
		t.Fatal(err)
	}
	app := openApp(t, js, Options{Inventory: inv, Tracker: tr})

	want := func(down int) []string {
		var out []string
		for i, l := range lab.Links {
			if i != down {
				a, b := lab.Nodes[l.A].Name+":"+l.APort, lab.Nodes[l.B].Name+":"+l.BPort
				if a > b {
					a, b = b, a
				}
				out = append(out, fmt.Sprintf("%s -- %s (both)", a, b))
			}
		}
		sort.Strings(out)
		return out
	}
	// Poll until every link is seen from both ends (lldpd sends every
	// second; snmpd and the subagent take a moment to start).
	converge := func(what string, want []string) *Graph {
		t.Helper()
		var g *Graph
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(500 * time.Millisecond) {
			if err := app.Handle(ctx, pollAll()); err != nil {
				t.Fatal(err)
			}
			time.Sleep(100 * time.Millisecond) // the KV watch delivers the records
			g = app.Graph()
			if reflect.DeepEqual(linkStrings(g), want) {
				return g
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: links\n%s\nfirst differences:\n%s", what, linkStrings(g), diff(linkStrings(g), want))
			}
		}
	}
	g := converge("the cabling", want(-1))
	if len(g.Problems) != 0 || len(g.Candidates) != 0 {
		t.Errorf("problems %+v, candidates %+v; want none", g.Problems, g.Candidates)
	}
	for _, d := range g.Devices {
		if d.ChassisID == "" {
			t.Errorf("%s: no chassis id", d.ID)
		}
	}
	es, err := app.Reconcile(ctx)
	if err != nil || len(es) != len(lab.Links) {
		t.Fatalf("first reconcile: %q (%v), want %d added", eventStrings(es), err, len(lab.Links))
	}

	// The ring's n1-n2 link goes down.
	const down = 1
	lab.SetLink(down, false)
	converge("after n1:swp2 went down", want(down))
	es, err = app.Reconcile(ctx)
	if err != nil || len(es) != 1 {
		t.Fatalf("after the link went down: %q (%v), want one removed", eventStrings(es), err)
	}
	e := es[0]
	if e.Kind != event.KindLink || e.NewState != "removed" || e.Status != event.StatusProblem ||
		e.Labels["a_device"] != "n1" || e.Labels["b_device"] != "n2" {
		t.Errorf("the removed event: %+v", e)
	}
}
