package profile

import (
	"context"
	"encoding/hex"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/poll"
	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/snmp"
	"github.com/panoptes-go/panoptes/internal/testutil/snmpagent"
)

// integration skips in -short mode: these tests start real agents.
func integration(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts snmpd/snmpsimd")
	}
}

func shipped(t *testing.T) *Set {
	t.Helper()
	set, err := LoadDir(shippedDir)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// device is a resource on a test agent polled with community.
func device(a *snmpagent.Agent, typ string, meta map[string]string) *resource.Resource {
	return &resource.Resource{
		Site: "test", Class: "network", Subclass: "switch", Type: typ, ID: typ + "-" + strconv.Itoa(a.Port),
		Endpoint: net.JoinHostPort(a.Host, strconv.Itoa(a.Port)), Metadata: meta,
	}
}

// check runs the plugin through the real poll.Runner (target resolution,
// status mapping) and returns the groups and the polling status.
func check(t *testing.T, p poll.Plugin, res *resource.Resource, community string) ([]*metric.Group, int) {
	t.Helper()
	pool := testPool(t)
	r := poll.NewRunner(poll.RunnerOptions{
		SNMP: poll.SNMPOptions{
			Timeout: 2 * time.Second, Retries: 1, MaxRepetitions: 25,
			Credential:  "test",
			Credentials: map[string]*snmp.Credential{"test": {Version: "2c", Community: community}},
		},
		Pool: pool,
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	set := r.Run(ctx, "profile", p, res, time.Minute)
	groups := set.Groups[:len(set.Groups)-1]
	st := set.Groups[len(set.Groups)-1]
	m, ok := st.Metric(poll.StatusMetric)
	if !ok {
		t.Fatal("no status group")
	}
	return groups, int(m.Value.Int64())
}

// testPool is an SNMP pool closed when the test ends.
func testPool(t *testing.T) *snmp.Pool {
	pool := snmp.NewPool(snmp.PoolOptions{})
	t.Cleanup(func() { _ = pool.Close() })
	return pool
}

// target is a v2c target on a test agent.
func target(a *snmpagent.Agent, community string) snmp.Target {
	return snmp.Target{Host: a.Host, Port: a.Port, CredentialName: "test",
		Credential: &snmp.Credential{Version: "2c", Community: community},
		Timeout:    2 * time.Second, Retries: 1, MaxRepetitions: 25}
}

// truth walks root with net-snmp's snmpbulkwalk: index -> value text
// (strings decoded from hex, numbers as printed).
func truth(t *testing.T, a *snmpagent.Agent, community, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, r := range snmpagent.BulkWalk(t, []string{"-v2c", "-c", community}, a.Addr(), root) {
		idx, ok := strings.CutPrefix(r.OID, root+".")
		if !ok { // an empty subtree: snmpbulkwalk GETs the root itself
			continue
		}
		v := r.Value
		if r.Type == "Hex-STRING" {
			b, err := hex.DecodeString(strings.ReplaceAll(v, " ", ""))
			if err != nil {
				t.Fatalf("decode %s: %v", r.OID, err)
			}
			v = strings.TrimRight(string(b), "\x00")
		}
		out[idx] = v
	}
	return out
}

func atoi(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return n
}

// groupsOf returns the groups of a type.
func groupsOf(gs []*metric.Group, typ string) []*metric.Group {
	var out []*metric.Group
	for _, g := range gs {
		if g.Type == typ {
			out = append(out, g)
		}
	}
	return out
}

// find returns the group of typ whose dimension dim is val.
func find(t *testing.T, gs []*metric.Group, typ, dim, val string) *metric.Group {
	t.Helper()
	for _, g := range groupsOf(gs, typ) {
		if g.Dimension(dim) == val {
			return g
		}
	}
	t.Fatalf("no %s group with %s=%q in %s", typ, dim, val, dump(gs))
	return nil
}

// withMetric returns the group of typ that has metric name.
func withMetric(t *testing.T, gs []*metric.Group, typ, name string) *metric.Group {
	t.Helper()
	for _, g := range groupsOf(gs, typ) {
		if _, ok := g.Metric(name); ok {
			return g
		}
	}
	t.Fatalf("no %s group with metric %s in %s", typ, name, dump(gs))
	return nil
}

// val returns a metric's value as text ("" if absent).
func val(g *metric.Group, name string) string {
	m, ok := g.Metric(name)
	if !ok {
		return ""
	}
	return m.Value.String()
}

func wantVal(t *testing.T, g *metric.Group, name, want string) {
	t.Helper()
	if got := val(g, name); got != want {
		t.Errorf("%s group %v: %s = %q, want %q", g.Type, g.Dimensions, name, got, want)
	}
}

func dump(gs []*metric.Group) string {
	var b strings.Builder
	for _, g := range gs {
		b.WriteString("\n  " + g.Type + " ")
		for _, d := range g.Dimensions {
			b.WriteString(d.Name + "=" + d.Value + " ")
		}
		for _, m := range g.Metrics {
			b.WriteString(m.Name + ":" + m.Value.String() + " ")
		}
	}
	return b.String()
}
