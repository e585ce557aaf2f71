package bgp

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/poll/polltest"

	"github.com/panoptes-go/panoptes/internal/poll"

	"github.com/gosnmp/gosnmp"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/snmp"
	"github.com/panoptes-go/panoptes/internal/testutil/snmpagent"
)

// bgpWalkFunc serves walks from a function.
type bgpWalkFunc func(root string) ([]snmp.Varbind, error)

func (f bgpWalkFunc) Walk(_ context.Context, _ snmp.Target, root string) ([]snmp.Varbind, error) {
	return f(root)
}

func bgpByPeer(t *testing.T, groups []*metric.Group) map[string]*metric.Group {
	t.Helper()
	m := map[string]*metric.Group{}
	for _, g := range groups {
		if g.Type != BGPGroupType {
			t.Errorf("group type %q", g.Type)
		}
		m[g.Dimension("peer_address")] = g
	}
	return m
}

func metricU(t *testing.T, g *metric.Group, name string, typ metric.Type) uint64 {
	t.Helper()
	m, ok := g.Metric(name)
	if !ok {
		t.Errorf("peer %s: no metric %s", g.Dimension("peer_address"), name)
		return 0
	}
	if m.Type != typ {
		t.Errorf("peer %s: %s is a %s, want %s", g.Dimension("peer_address"), name, m.Type, typ)
	}
	return m.Value.Uint64()
}

func TestBGPUnit(t *testing.T) {
	std := []snmp.Varbind{
		{Name: oidBGPPeerTable + ".1.10.0.0.1", Type: gosnmp.IPAddress, Value: "1.1.1.1"},
		{Name: oidBGPPeerTable + ".2.10.0.0.1", Type: gosnmp.Integer, Value: 6},
		{Name: oidBGPPeerTable + ".5.10.0.0.1", Type: gosnmp.IPAddress, Value: "10.0.0.2"},
		{Name: oidBGPPeerTable + ".9.10.0.0.1", Type: gosnmp.Integer, Value: 65000},
		{Name: oidBGPPeerTable + ".10.10.0.0.1", Type: gosnmp.Counter32, Value: uint(4294967295)},
		{Name: oidBGPPeerTable + ".16.10.0.0.1", Type: gosnmp.Gauge32, Value: uint(99)},
	}
	peer2 := []snmp.Varbind{ // an IPv6 peer only the Cisco table has
		{Name: oidCbgpPeer2Table + ".3.2.16.32.1.13.184.0.0.0.0.0.0.0.0.0.0.0.9", Type: gosnmp.Integer, Value: 3},
		{Name: oidCbgpPeer2Table + ".11.2.16.32.1.13.184.0.0.0.0.0.0.0.0.0.0.0.9", Type: gosnmp.Gauge32, Value: uint(4200000000)},
		{Name: oidCbgpPeer2Table + ".3.1.4.10.0.0.1", Type: gosnmp.Integer, Value: 1}, // the standard table wins
	}
	prefixes := []snmp.Varbind{
		{Name: oidCbgpPeerPrefix + ".1.10.0.0.1.1.1", Type: gosnmp.Counter32, Value: uint(100)},
		{Name: oidCbgpPeerPrefix + ".1.10.0.0.1.1.128", Type: gosnmp.Counter32, Value: uint(5)},
		{Name: oidCbgpPeerPrefix + ".6.10.0.0.1.1.1", Type: gosnmp.Counter32, Value: uint(7)},
	}
	b := &BGP{vendorTables: true, now: func() time.Time { return polltest.Now }}
	b.walker = bgpWalkFunc(func(root string) ([]snmp.Varbind, error) {
		switch root {
		case oidBGPPeerTable:
			return std, nil
		case oidCbgpPeer2Table:
			return peer2, nil
		case oidCbgpPeerPrefix:
			return prefixes, nil
		}
		return nil, nil
	})
	req := &poll.Request{Resource: polltest.Resource, Interval: time.Minute, Now: polltest.Now}
	groups, err := b.Poll(context.Background(), req)
	if err != nil || len(groups) != 2 {
		t.Fatalf("Poll = %d groups, %v", len(groups), err)
	}
	peers := bgpByPeer(t, groups)
	v4 := peers["10.0.0.1"]
	if v4 == nil || v4.Dimension("remote_as") != "65000" || v4.Dimension("local_address") != "10.0.0.2" || v4.Dimension("peer_identifier") != "1.1.1.1" {
		t.Fatalf("ipv4 peer %+v", v4)
	}
	if metricU(t, v4, "peer_state", metric.Gauge) != 6 || metricU(t, v4, "updates_in", metric.Counter) != 4294967295 ||
		metricU(t, v4, "established_time", metric.Gauge) != 99 || metricU(t, v4, "prefixes_accepted", metric.Gauge) != 105 ||
		metricU(t, v4, "prefixes_advertised", metric.Gauge) != 7 {
		t.Errorf("ipv4 peer metrics %+v", v4.Metrics)
	}
	v6 := peers["2001:db8::9"]
	if v6 == nil || metricU(t, v6, "peer_state", metric.Gauge) != 3 || v6.Dimension("remote_as") != "4200000000" {
		t.Fatalf("ipv6 peer %+v", v6)
	}
	if _, ok := v6.Metric("prefixes_accepted"); ok {
		t.Error("a peer without prefix rows must have no prefix metrics")
	}
	for _, g := range groups {
		if err := g.Validate(); err != nil {
			t.Error(err)
		}
	}

	// A failing vendor table is a partial failure; no peers at all is missing metrics.
	b.walker = bgpWalkFunc(func(root string) ([]snmp.Varbind, error) {
		if root == oidBGPPeerTable {
			return std, nil
		}
		return nil, errors.New("timeout")
	})
	if groups, err := b.Poll(context.Background(), req); len(groups) != 1 || poll.StatusOf(context.Background(), len(groups), err) != metric.StatusPartialFailure {
		t.Errorf("vendor table failure: %d groups, %v", len(groups), err)
	}
	b.walker = bgpWalkFunc(func(string) ([]snmp.Varbind, error) { return nil, nil })
	if _, err := b.Poll(context.Background(), req); poll.StatusOf(context.Background(), 0, err) != metric.StatusMissingMetrics {
		t.Errorf("no peers: %v", err)
	}
	if _, err := poll.New("bgp", map[string]any{"vendor_tables": "maybe"}); err == nil {
		t.Error("bad option accepted")
	}
}

// Against snmpsim replaying testdata/bgp_router.snmprec (hand-made from
// BGP4-MIB and CISCO-BGP4-MIB: three IPv4 peers, established and active,
// one with counters near the 32-bit wrap, and an IPv6 peer only in
// cbgpPeer2Table): every metric equals what snmpbulkwalk reads.
func TestBGPSnmpsim(t *testing.T) {
	polltest.Integration(t, "snmpsimd", "snmpbulkwalk")
	rec, err := filepath.Abs(filepath.Join("testdata", "bgp_router.snmprec"))
	if err != nil {
		t.Fatal(err)
	}
	a := snmpagent.StartSnmpsim(t, rec)
	status, groups := polltest.RunCheck(t, "bgp", a.Addr(), snmp.Credential{Version: "2c", Community: "bgp_router"}, poll.SNMPOptions{})
	if status != metric.StatusSuccess || len(groups) != 4 {
		t.Fatalf("status %s, %d groups, want success and 4 peers", metric.StatusName(status), len(groups))
	}
	peers := bgpByPeer(t, groups)

	walked := map[string]snmpagent.WalkRow{}
	for _, r := range snmpagent.BulkWalk(t, []string{"-v2c", "-c", "bgp_router"}, a.Addr(), oidBGPPeerTable) {
		walked[r.OID] = r
	}
	if len(walked) != 3*24 {
		t.Fatalf("snmpbulkwalk returned %d bgpPeerTable rows, want 72", len(walked))
	}
	num := func(oid string) uint64 {
		r, ok := walked[oid]
		if !ok {
			t.Fatalf("snmpbulkwalk has no %s", oid)
		}
		v, err := strconv.ParseUint(r.Value, 10, 64)
		if err != nil {
			t.Fatalf("%s = %q: %v", oid, r.Value, err)
		}
		return v
	}
	for _, addr := range []string{"192.0.2.1", "192.0.2.5", "203.0.113.9"} {
		g := peers[addr]
		if g == nil {
			t.Fatalf("no group for peer %s", addr)
		}
		col := func(c int) string { return oidBGPPeerTable + "." + strconv.Itoa(c) + "." + addr }
		for c, name := range bgpGaugeCols {
			if got, want := metricU(t, g, name, metric.Gauge), num(col(c)); got != want {
				t.Errorf("%s %s = %d, snmpbulkwalk %d", addr, name, got, want)
			}
		}
		for c, name := range bgpCounterCols {
			if got, want := metricU(t, g, name, metric.Counter), num(col(c)); got != want {
				t.Errorf("%s %s = %d, snmpbulkwalk %d", addr, name, got, want)
			}
		}
		if g.Dimension("remote_as") != walked[col(bgpRemoteAS)].Value || g.Dimension("local_address") != walked[col(bgpLocalAddr)].Value ||
			g.Dimension("peer_identifier") != walked[col(bgpIdentifier)].Value {
			t.Errorf("%s dims %+v", addr, g.Dimensions)
		}
	}
	if got := metricU(t, peers["192.0.2.1"], "prefixes_accepted", metric.Gauge); got != 812345 {
		t.Errorf("192.0.2.1 prefixes_accepted = %d", got)
	}
	if got := metricU(t, peers["192.0.2.5"], "updates_in", metric.Counter); got != 4294967000 {
		t.Errorf("192.0.2.5 updates_in = %d", got)
	}
	if _, ok := peers["203.0.113.9"].Metric("prefixes_accepted"); ok {
		t.Error("the idle peer has no prefix rows")
	}
	v6 := peers["2001:db8::1"]
	if v6 == nil || v6.Dimension("remote_as") != "64499" || v6.Dimension("local_address") != "2001:db8::2" ||
		metricU(t, v6, "prefixes_accepted", metric.Gauge) != 150 || metricU(t, v6, "prefixes_advertised", metric.Gauge) != 20 ||
		metricU(t, v6, "established_time", metric.Gauge) != 7200 {
		t.Errorf("ipv6 peer from cbgpPeer2Table: %+v", v6)
	}
}
