package profile

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/enrich"
	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/poll"
	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/snmp"
	"github.com/panoptes-go/panoptes/internal/testutil/simdevice"
	"github.com/panoptes-go/panoptes/internal/testutil/snmpagent"
)

const (
	entPhysicalName  = ".1.3.6.1.2.1.47.1.1.1.1.7"
	entPhysicalClass = ".1.3.6.1.2.1.47.1.1.1.1.5"
)

func TestLookupLongForm(t *testing.T) {
	p, err := Parse("x.yaml", []byte(`name: x
groups:
  - type: environment
    walk: {v: .1.3.6.1.2.1.99.1.1.1.4}
    lookup:
      name: {oid: 1.3.6.1.2.1.47.1.1.1.1.7, enrich: true}
      state: {oid: .1.3.6.1.2.1.131.1.1.1.3}
      class: .1.3.6.1.2.1.47.1.1.1.1.5
    dimensions: {sensor_name: 'name[index] ?? index'}
    metrics: {temperature: v}
`))
	if err != nil {
		t.Fatal(err)
	}
	want := []Column{{Name: "name", OID: entPhysicalName, Enrich: true}, {Name: "state", OID: ".1.3.6.1.2.1.131.1.1.1.3"}, {Name: "class", OID: entPhysicalClass}}
	if !slices.Equal(p.Groups[0].Lookups, want) {
		t.Errorf("lookups %+v, want %+v", p.Groups[0].Lookups, want)
	}
	if got := p.enrichColumns(nil); !slices.Equal(got, []string{entPhysicalName}) {
		t.Errorf("cached columns %v", got)
	}

	for _, c := range []struct{ name, lookup, want string }{
		{"no oid", "{enrich: true}", "bad.yaml:5: groups[0].lookup.n.oid: missing"},
		{"not a boolean", "{oid: .1.3.6, enrich: maybe}", `bad.yaml:5: groups[0].lookup.n.enrich: want true or false, got "maybe"`},
		{"unknown field", "{oid: .1.3.6, cache: true}", "bad.yaml:5: groups[0].lookup.n.cache: unknown field (known: enrich, oid)"},
		{"bad oid", "{oid: ent.7, enrich: true}", `bad.yaml:5: groups[0].lookup.n.oid: "ent.7" is not a numeric OID`},
	} {
		yaml := "name: x\ngroups:\n  - type: cpu\n    walk: {a: .1.3.6.1.2}\n    lookup: {n: " + c.lookup + "}\n    metrics: {m: a}\n"
		if _, err := Parse("bad.yaml", []byte(yaml)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %s", c.name, err, c.want)
		}
	}
	// Only lookups are cached: a walk column cannot be.
	_, err = Parse("bad.yaml", []byte("name: x\ngroups:\n  - type: cpu\n    walk: {a: {oid: .1.3.6.1.2, enrich: true}}\n    metrics: {m: a}\n"))
	if err == nil || !strings.Contains(err.Error(), "bad.yaml:4: groups[0].walk.a: want a string, got a mapping") {
		t.Errorf("enrich on a walk column: %v", err)
	}
}

// TestPluginEnrichment: what the node's enrichment collects for a
// resource is its profile's cached lookups.
func TestPluginEnrichment(t *testing.T) {
	p, err := NewPlugin(shipped(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	res := func(typ string) *resource.Resource { return &resource.Resource{Type: typ} }
	if got := p.Enrichment(res("entity-sensor"), "").Tables; !slices.Equal(got, []string{entPhysicalClass, entPhysicalName}) {
		t.Errorf("entity-sensor: %v", got)
	}
	if got := p.Enrichment(res("switch"), ".1.3.6.1.4.1.9.1.516").Tables; !slices.Equal(got, []string{entPhysicalName}) {
		t.Errorf("cisco-ios by sysObjectID: %v", got)
	}
	if got := p.Enrichment(res("linux"), "").Tables; !slices.Equal(got, []string{".1.3.6.1.2.1.25.3.2.1.3"}) {
		t.Errorf("linux: %v, want hrDeviceDescr (a name, like Arista's)", got)
	}
	if got := p.Enrichment(res("switch"), ""); !got.Empty() {
		t.Errorf("unknown sysObjectID: %+v, want nothing", got)
	}
	if got := p.Enrichment(res("switch"), ".1.3.6.1.4.1.311.1.1.3.1.2").Tables; !slices.Equal(got, []string{entPhysicalClass, entPhysicalName}) {
		t.Errorf("a sysObjectID no profile claims: %v, want the first fallback's (entity-sensor)", got)
	}
	if !p.UsesEnrichment(res("switch")) || !p.UsesEnrichment(res("cisco-ios")) || p.UsesEnrichment(res("juniper")) {
		t.Error("UsesEnrichment: want true for a profile not yet selected and for cisco-ios, false for juniper")
	}
	mem, err := NewPlugin(shipped(t), []string{"memory"})
	if err != nil {
		t.Fatal(err)
	}
	if mem.UsesEnrichment(res("switch")) || !mem.Enrichment(res("cisco-ios"), "").Empty() {
		t.Error("a plugin restricted to memory groups reads no cached lookup")
	}
}

// countingClient records the roots a poll walks.
type countingClient struct {
	Client
	mu    sync.Mutex
	walks map[string]int
}

func (c *countingClient) Walk(ctx context.Context, t snmp.Target, root string) ([]snmp.Varbind, error) {
	c.mu.Lock()
	c.walks[root]++
	c.mu.Unlock()
	return c.Client.Walk(ctx, t, root)
}

func (c *countingClient) reset() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := c.walks
	c.walks = map[string]int{}
	return w
}

// checkEnriched is check with an enrichment source.
func checkEnriched(t *testing.T, p poll.Plugin, res *resource.Resource, community string, src poll.EnrichSource) ([]*metric.Group, int) {
	t.Helper()
	r := poll.NewRunner(poll.RunnerOptions{
		SNMP: poll.SNMPOptions{
			Timeout: 2 * time.Second, Retries: 1, MaxRepetitions: 25, Credential: "test",
			Credentials: map[string]*snmp.Credential{"test": {Version: "2c", Community: community}},
		},
		Pool: testPool(t), Enrich: src,
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	set := r.Run(ctx, "profile", p, res, time.Minute)
	st, ok := set.Groups[len(set.Groups)-1].Metric(poll.StatusMetric)
	if !ok {
		t.Fatal("no status group")
	}
	return set.Groups[:len(set.Groups)-1], int(st.Value.Int64())
}

// canonical lists groups without timestamps, sorted.
func canonical(gs []*metric.Group) []string {
	out := make([]string, 0, len(gs))
	for _, g := range gs {
		var b strings.Builder
		b.WriteString(g.Type)
		for _, d := range g.Dimensions {
			fmt.Fprintf(&b, " %s=%s", d.Name, d.Value)
		}
		ms := make([]string, 0, len(g.Metrics))
		for _, m := range g.Metrics {
			ms = append(ms, m.Name+":"+m.Value.String())
		}
		slices.Sort(ms)
		b.WriteString(" | " + strings.Join(ms, " "))
		out = append(out, b.String())
	}
	slices.Sort(out)
	return out
}

// TestCachedLookupsMatchWalked polls every vendor recording with the
// cached lookups collected ahead by the enrichment schedule (a Refresher)
// and checks that the polls walk none of the cached columns and yield the
// very groups a poll walking them does (the expectations of
// TestVendorRecordings and TestCiscoIOSRecording).
func TestCachedLookupsMatchWalked(t *testing.T) {
	integration(t)
	snmpagent.Need(t, "snmpsimd")
	a := snmpagent.StartSnmpsim(t, "testdata/juniper_mx480.snmprec", "testdata/cisco_nxos.snmprec",
		"testdata/arista_eos.snmprec", "testdata/entity_sensor.snmprec", "cisco_16_switch")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p, err := NewPlugin(shipped(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	cache := enrich.New(enrich.Options{Refresh: time.Hour, Need: p.Enrichment})
	pool := testPool(t)
	r := enrich.NewRefresher(enrich.RefresherOptions{Cache: cache, SNMP: pool})
	communities := []string{"juniper_mx480", "cisco_nxos", "arista_eos", "entity_sensor", "cisco_16_switch"}
	var targets []enrich.Target
	for _, c := range communities {
		res := device(a, "device", nil)
		res.ID = c
		targets = append(targets, enrich.Target{Resource: res, SNMP: target(a, c)})
	}
	r.Update(targets)
	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- r.Run(rctx) }()
	defer func() { stop(); <-done }()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		n := 0
		for _, tg := range targets {
			if cache.Has(tg.Resource.Key()) {
				n++
			}
		}
		if n == len(targets) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the refresher collected %d of %d devices", n, len(targets))
		}
	}

	counting := &countingClient{Client: pool, walks: map[string]int{}}
	cached, err := NewPlugin(shipped(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	cached.client = counting
	for i, c := range communities {
		t.Run(c, func(t *testing.T) {
			res := targets[i].Resource
			walked, status := check(t, p, res, c)
			if status != metric.StatusSuccess {
				t.Fatalf("walked lookups: status %d", status)
			}
			counting.reset()
			fromCache, status := checkEnriched(t, cached, res, c, cache)
			if status != metric.StatusSuccess {
				t.Fatalf("cached lookups: status %d: %s", status, dump(fromCache))
			}
			walks := counting.reset()
			cols := p.Enrichment(res, sysOIDOf(t, a, c)).Tables
			for _, col := range cols {
				if walks[col] > 0 {
					t.Errorf("the poll walked cached column %s %d times", col, walks[col])
				}
			}
			if w, f := canonical(walked), canonical(fromCache); !slices.Equal(w, f) {
				t.Errorf("groups differ\nwalked: %s\ncached: %s", strings.Join(w, "\n  "), strings.Join(f, "\n  "))
			}
			t.Logf("%s: %d groups, %d cached columns not walked", c, len(fromCache), len(cols))
		})
	}
}

// sysOIDOf reads the recording's sysObjectID with snmpbulkwalk.
func sysOIDOf(t *testing.T, a *snmpagent.Agent, community string) string {
	rows := snmpagent.BulkWalk(t, []string{"-v2c", "-c", community}, a.Addr(), ".1.3.6.1.2.1.1.2")
	if len(rows) != 1 {
		t.Fatalf("sysObjectID: %v", rows)
	}
	v := rows[0].Value
	if !strings.HasPrefix(v, ".") {
		v = "." + v
	}
	return v
}

// failingSource is an enrichment cache with nothing to give.
type failingSource struct{}

func (failingSource) Lookup(context.Context, *resource.Resource, snmp.Target, enrich.SNMP, enrich.Signals, enrich.Need) (*enrich.Device, error) {
	return nil, errors.New("collection timed out")
}

// TestMissingCachedLookups: without cached data the entity-sensor poll
// still sends its temperatures (named "sensor N") and fan counts, leaves
// out the power supply counts (entPhysicalClass is unknown) and reports
// status 8, not a failed check.
func TestMissingCachedLookups(t *testing.T) {
	integration(t)
	snmpagent.Need(t, "snmpsimd")
	const c = "entity_sensor"
	a := snmpagent.StartSnmpsim(t, "testdata/entity_sensor.snmprec")
	p, err := NewPlugin(shipped(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	gs, status := checkEnriched(t, p, device(a, "entity-sensor", nil), c, failingSource{})
	if status != metric.StatusEnrichFailure {
		t.Fatalf("status %d, want %d: %s", status, metric.StatusEnrichFailure, dump(gs))
	}
	find(t, gs, "environment", "sensor_name", "sensor 30")
	find(t, gs, "environment", "sensor_name", "sensor 31")
	env := withMetric(t, gs, "environment", "fans_total")
	wantVal(t, env, "fans_total", "1")
	if v := val(env, "power_units_total"); v != "" {
		t.Errorf("power_units_total %s without entPhysicalClass, want it left out", v)
	}
}

// TestChangedEntityNameAfterRestart: entPhysicalName comes from the cache
// (one hour interval); when the device restarts with a renamed sensor the
// next poll sees sysUpTime go back and shows the new name at once.
func TestChangedEntityNameAfterRestart(t *testing.T) {
	integration(t)
	orig, err := os.ReadFile("testdata/entity_sensor.snmprec")
	if err != nil {
		t.Fatal(err)
	}
	renamed := strings.Replace(string(orig), "|4|Chassis Temp\n", "|4|Chassis Sensor\n", 1)
	renamed = strings.Replace(renamed, "1.3.6.1.2.1.1.3.0|67|123456789", "1.3.6.1.2.1.1.3.0|67|100", 1)
	if renamed == string(orig) || strings.Count(renamed, "Chassis Sensor") != 1 {
		t.Fatal("the recording changed: update this test")
	}
	dev := simdevice.Serve(t, string(orig))
	p, err := NewPlugin(shipped(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	cache := enrich.New(enrich.Options{Refresh: time.Hour, MinInterval: time.Millisecond, Need: p.Enrichment})
	counting := &countingClient{Client: testPool(t), walks: map[string]int{}}
	p.client = counting
	res := &resource.Resource{Site: "test", Class: "network", Subclass: "switch", Type: "entity-sensor", ID: "rebooter",
		Endpoint: net.JoinHostPort("127.0.0.1", fmt.Sprint(dev.Port))}
	names := func() []string {
		t.Helper()
		gs, status := checkEnriched(t, p, res, "public", cache)
		if status != metric.StatusSuccess {
			t.Fatalf("status %d: %s", status, dump(gs))
		}
		var out []string
		for _, g := range groupsOf(gs, "environment") {
			if n := g.Dimension("sensor_name"); n != "" && n != NotSet {
				out = append(out, n)
			}
		}
		slices.Sort(out)
		return out
	}
	if got := names(); !slices.Equal(got, []string{"Chassis Temp", "Inlet Temp"}) {
		t.Fatalf("sensors %v", got)
	}
	counting.reset()
	if got := names(); !slices.Equal(got, []string{"Chassis Temp", "Inlet Temp"}) {
		t.Fatalf("sensors %v", got)
	}
	if w := counting.reset(); w[entPhysicalName] != 0 {
		t.Errorf("a poll with cached names walked entPhysicalName %d times", w[entPhysicalName])
	}
	dev.Replace(t, renamed)
	if got := names(); !slices.Equal(got, []string{"Chassis Sensor", "Inlet Temp"}) {
		t.Errorf("sensors after the restart %v, want the new name", got)
	}
	if w := counting.reset(); w[entPhysicalName] != 1 {
		t.Errorf("entPhysicalName walked %d times after the restart, want 1 (the early refresh)", w[entPhysicalName])
	}
}
