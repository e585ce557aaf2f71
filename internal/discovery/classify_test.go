package discovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/panoptes-go/panoptes/internal/poll"
	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/snmp"
	"github.com/panoptes-go/panoptes/internal/testutil/snmpagent"
)

// staticSource returns copies of its resources, or err.
type staticSource struct {
	rs  []*resource.Resource
	err error
}

func (s *staticSource) Discover(context.Context) (*Result, error) {
	if s.err != nil {
		return nil, s.err
	}
	out := &Result{Set: &resource.Set{}, Rows: len(s.rs)}
	for _, r := range s.rs {
		out.Set.Resources = append(out.Set.Resources, r.Clone())
	}
	return out, nil
}

// fakeProber answers from a map by endpoint and counts probes.
type fakeProber struct {
	mu     sync.Mutex
	ids    map[string]Identity
	fail   map[string]error
	probes map[string]int
}

func (f *fakeProber) Probe(_ context.Context, r *resource.Resource) (Identity, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.probes[r.Endpoint]++
	if err := f.fail[r.Endpoint]; err != nil {
		return Identity{}, err
	}
	return f.ids[r.Endpoint], nil
}

var iosIdentity = Identity{SysObjectID: "1.3.6.1.4.1.9.1.516", SysName: "sw1",
	SysDescr: "Cisco IOS Software, C3750 Software (C3750-IPSERVICESK9-M), Version 12.2(55)SE10, RELEASE SOFTWARE (fc2)"}

func TestClassifyCacheAndFailures(t *testing.T) {
	ctx := context.Background()
	now := testNow
	src := &staticSource{rs: []*resource.Resource{
		res("sw1", "10.0.0.1", "csv", nil),
		res("sw2", "10.0.0.2", "csv", map[string]string{"model": "from-cmdb"}),
		res("down", "10.0.0.3", "csv", nil),
	}}
	src.rs[1].Type = "switch-from-cmdb"
	fp := &fakeProber{ids: map[string]Identity{"10.0.0.1": iosIdentity, "10.0.0.2": iosIdentity},
		fail: map[string]error{"10.0.0.3": fmt.Errorf("device 10.0.0.3:161: get: %w", snmp.ErrTimeout)}, probes: map[string]int{}}
	logger, logs := testLogger(slog.LevelInfo)
	reg := prometheus.NewRegistry()
	c := Classify(src, fp, ClassifyOptions{Source: "csv", TTL: time.Hour, Logger: logger, Registerer: reg,
		Now: func() time.Time { return now }})

	r1 := discover(t, c)
	got := byID(r1.Set)
	sw1 := got["sw1"]
	want := map[string]string{MetaVendor: "cisco", MetaModel: "C3750", MetaOS: "IOS", MetaOSVersion: "12.2(55)SE10",
		MetaSysName: "sw1", MetaSysObjectID: "1.3.6.1.4.1.9.1.516", MetaClassification: ClassificationOK}
	for k, v := range want {
		if sw1.Metadata[k] != v {
			t.Errorf("sw1 %s = %q, want %q", k, sw1.Metadata[k], v)
		}
	}
	if sw1.Type != "cisco" {
		t.Errorf("sw1 type %q: the default type must become the vendor", sw1.Type)
	}
	if sw2 := got["sw2"]; sw2.Type != "switch-from-cmdb" || sw2.Metadata[MetaModel] != "from-cmdb" || sw2.Metadata[MetaVendor] != "cisco" {
		t.Errorf("the source's type and model must win: %+v", sw2)
	}
	down := got["down"]
	if down == nil || down.Metadata[MetaClassification] != ClassificationFailed || down.Metadata[MetaClassifyError] != "timeout" || down.Type != FallbackType {
		t.Fatalf("unreachable device must be kept and marked: %+v", down)
	}
	if !strings.Contains(logs.String(), "cannot classify") || len(r1.Warnings) != 1 {
		t.Errorf("failure not reported: log %q warnings %q", logs, r1.Warnings)
	}
	if v := gaugeValue(t, reg, "panoptes_discovery_unclassified_resources"); v != 1 {
		t.Errorf("unclassified gauge = %v", v)
	}

	// Second run within the TTL: only the failed device is probed again,
	// and a standing failure is not logged again.
	logLen := len(logs.String())
	now = now.Add(time.Minute)
	discover(t, c)
	if fp.probes["10.0.0.1"] != 1 || fp.probes["10.0.0.3"] != 2 {
		t.Errorf("probes %v: want sw1 cached, down retried", fp.probes)
	}
	if strings.Contains(logs.String()[logLen:], "cannot classify") {
		t.Error("a standing failure was logged again")
	}

	// After the TTL everything is probed; a device that now fails keeps its
	// last identity (no type flap) and is marked failed.
	now = now.Add(2 * time.Hour)
	fp.fail["10.0.0.1"] = errors.New("device 10.0.0.1:161: network failure")
	delete(fp.fail, "10.0.0.3")
	fp.ids["10.0.0.3"] = Identity{SysObjectID: "1.3.6.1.4.1.2636.1.1.1.2.25", SysDescr: "Juniper Networks, Inc. mx480 internet router, kernel JUNOS 15.1R7.9"}
	got = byID(discover(t, c).Set)
	if fp.probes["10.0.0.1"] != 2 {
		t.Errorf("sw1 not probed after the TTL: %v", fp.probes)
	}
	if sw1 := got["sw1"]; sw1.Type != "cisco" || sw1.Metadata[MetaModel] != "C3750" || sw1.Metadata[MetaClassification] != ClassificationFailed {
		t.Errorf("sw1 after a failed re-probe: %+v", sw1)
	}
	if d := got["down"]; d.Type != "juniper" || d.Metadata[MetaModel] != "mx480" || d.Metadata[MetaClassification] != ClassificationOK {
		t.Errorf("recovered device: %+v", d)
	}

	// A classified type that would collide with another resource of the
	// set is not applied.
	twin := res("sw1", "10.0.0.1", "csv", nil)
	twin.Type = "cisco"
	src.rs = append(src.rs, twin)
	set := discover(t, c).Set
	keys := map[string]bool{}
	for _, r := range set.Resources {
		if keys[r.Key()] {
			t.Errorf("duplicate key %s after classification", r.Key())
		}
		keys[r.Key()] = true
	}
	src.rs = src.rs[:3]

	// An endpoint change forces a probe; a source error passes through.
	delete(fp.fail, "10.0.0.1")
	src.rs[0].Endpoint = "10.0.0.9"
	fp.ids["10.0.0.9"] = iosIdentity
	discover(t, c)
	if fp.probes["10.0.0.9"] != 1 {
		t.Errorf("moved device not probed: %v", fp.probes)
	}
	src.err = errors.New("file gone")
	if _, err := c.Discover(ctx); err == nil || err.Error() != "file gone" {
		t.Errorf("source error: %v", err)
	}
}

func gaugeValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.Metric) > 0 {
			return mf.Metric[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("metric %s not registered", name)
	return 0
}

// Cancelling a run abandons it without waiting for slow probes' timeouts.
func TestClassifyCancel(t *testing.T) {
	src := &staticSource{rs: []*resource.Resource{res("a", "10.0.0.1", "csv", nil), res("b", "10.0.0.2", "csv", nil)}}
	c := Classify(src, proberFunc(func(ctx context.Context, _ *resource.Resource) (Identity, error) {
		<-ctx.Done()
		return Identity{}, ctx.Err()
	}), ClassifyOptions{Concurrency: 1, ProbeTimeout: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	began := time.Now()
	if _, err := c.Discover(ctx); !errors.Is(err, context.DeadlineExceeded) || time.Since(began) > 2*time.Second {
		t.Errorf("cancelled run: %v after %v", err, time.Since(began))
	}
}

type proberFunc func(ctx context.Context, r *resource.Resource) (Identity, error)

func (f proberFunc) Probe(ctx context.Context, r *resource.Resource) (Identity, error) {
	return f(ctx, r)
}

// Real agents: snmpsim's Cisco 3750 recording, the local snmpd, and a
// closed loopback port (an unreachable device), classified through the
// manager: vendor, model and OS as sysDescr says (checked against
// snmpbulkwalk), the unreachable device kept in the inventory.
func TestClassifyRealAgents(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: runs real SNMP agents")
	}
	snmpagent.Need(t, "snmpsimd", "snmpd", "snmpbulkwalk")
	sim := snmpagent.StartSnmpsim(t, "cisco_16_switch")
	host := snmpagent.StartSnmpd(t)
	closed := closedUDPPort(t)

	// snmpsimd (Python) can take over half a second for its first answer
	// on a loaded machine; the closed port is refused at once either way.
	cfg := poll.SNMPOptions{Timeout: 2 * time.Second, Retries: 1, Credential: "sim",
		Credentials: map[string]*snmp.Credential{
			"sim":  {Version: "2c", Community: sim.Community},
			"host": {Version: "2c", Community: host.Community},
		}}
	pool := snmp.NewPool(snmp.PoolOptions{})
	t.Cleanup(func() { _ = pool.Close() })
	src := &staticSource{rs: []*resource.Resource{
		res("sw3750", sim.Addr(), "csv", nil),
		res("linux1", host.Addr(), "csv", map[string]string{"snmp_credential": "host"}),
		res("gone", closed, "csv", nil),
	}}
	logger, logs := testLogger(slog.LevelInfo)
	c := Classify(src, &SNMPProber{Pool: pool, SNMP: cfg}, ClassifyOptions{Source: "csv", Logger: logger})
	inv := newMemInventory()
	m := NewManager(ManagerOptions{Inventory: inv})
	if _, err := m.Sync(context.Background(), "csv", c, 0); err != nil {
		t.Fatal(err)
	}
	byID := map[string]*resource.Resource{}
	for _, r := range inv.snapshot() {
		byID[r.ID] = r
	}
	if len(byID) != 3 {
		t.Fatalf("inventory %v: the unreachable device must be kept", byID)
	}

	sw := byID["sw3750"]
	descr := walkString(t, sim, ".1.3.6.1.2.1.1.1.0")
	if !strings.HasPrefix(descr, "Cisco IOS Software, C3750 Software") {
		t.Fatalf("recording's sysDescr %q", descr)
	}
	want := map[string]string{MetaVendor: "cisco", MetaModel: "C3750", MetaOS: "IOS", MetaOSVersion: "12.2(55)SE10",
		MetaSysName: walkString(t, sim, ".1.3.6.1.2.1.1.5.0"), MetaSysObjectID: "1.3.6.1.4.1.9.1.516", MetaClassification: ClassificationOK}
	for k, v := range want {
		if sw.Metadata[k] != v {
			t.Errorf("sw3750 %s = %q, want %q", k, sw.Metadata[k], v)
		}
	}
	if sw.Type != "cisco" {
		t.Errorf("sw3750 type %q", sw.Type)
	}

	lx := byID["linux1"]
	fields := strings.Fields(walkString(t, host, ".1.3.6.1.2.1.1.1.0")) // Linux <host> <release> ... <machine>
	if lx.Metadata[MetaOS] != "Linux" || lx.Metadata[MetaOSVersion] != fields[2] || lx.Metadata[MetaModel] != fields[len(fields)-1] ||
		lx.Metadata[MetaVendor] != "net-snmp" || lx.Type != "linux" {
		t.Errorf("snmpd host: type %s metadata %v (sysDescr %v)", lx.Type, lx.Metadata, fields)
	}

	t.Logf("sw3750 %s %v\nlinux1 %s %v", sw.Type, sw.Metadata, lx.Type, lx.Metadata)
	gone := byID["gone"]
	if gone.Metadata[MetaClassification] != ClassificationFailed || gone.Metadata[MetaClassifyError] == "" || gone.Type != FallbackType {
		t.Errorf("unreachable device: %+v", gone)
	}
	if !strings.Contains(logs.String(), "cannot classify") || !strings.Contains(logs.String(), "gone") {
		t.Errorf("unreachable device not logged: %s", logs)
	}
	if strings.Contains(logs.String(), sim.Community+"\"") {
		t.Error("a community appears in the log")
	}
}

// walkString returns the value of one scalar as text, read by snmpbulkwalk.
func walkString(t *testing.T, a *snmpagent.Agent, oid string) string {
	t.Helper()
	rows := snmpagent.BulkWalk(t, []string{"-v2c", "-c", a.Community}, a.Addr(), oid)
	if len(rows) != 1 {
		t.Fatalf("snmpbulkwalk %s: %v", oid, rows)
	}
	if rows[0].Type == "OID" {
		return strings.TrimPrefix(rows[0].Value, ".")
	}
	var b []byte
	for _, h := range strings.Fields(rows[0].Value) {
		var x byte
		fmt.Sscanf(h, "%02X", &x)
		b = append(b, x)
	}
	return string(b)
}

// closedUDPPort is a loopback address with no listener: a device that
// does not answer (ECONNREFUSED at once).
func closedUDPPort(t *testing.T) string {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := c.LocalAddr().String()
	_ = c.Close()
	return addr
}
