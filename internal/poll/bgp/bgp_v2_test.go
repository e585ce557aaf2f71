package bgp

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/poll/polltest"

	"github.com/panoptes-go/panoptes/internal/poll"

	"github.com/gosnmp/gosnmp"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/snmp"
	"github.com/panoptes-go/panoptes/internal/testutil/snmpagent"
)

func TestBGPIndexes(t *testing.T) {
	ints := func(s string) []int { return snmp.IndexInts(s) }
	for _, c := range []struct {
		name  string
		parse func([]int) (int, string, bool)
		idx   string
		inst  int
		addr  string
		ok    bool
	}{
		{"junos v4", juniperPeerIndex, "0.1.192.0.2.2.1.192.0.2.1", 0, "192.0.2.1", true},
		{"junos v6", juniperPeerIndex, "3.2.32.1.13.184.0.0.0.0.0.0.0.0.0.0.0.2.2.32.1.13.184.0.0.0.0.0.0.0.0.0.0.0.1", 3, "2001:db8::1", true},
		{"junos SMI form", juniperPeerIndex, "0.1.4.192.0.2.2.1.4.192.0.2.1", 0, "192.0.2.1", true},
		{"junos truncated", juniperPeerIndex, "0.1.192.0.2.2.1.192.0.2", 0, "", false},
		{"junos extra", juniperPeerIndex, "0.1.192.0.2.2.1.192.0.2.1.7", 0, "", false},
		{"junos bad type", juniperPeerIndex, "0.9.192.0.2.2.1.192.0.2.1", 0, "", false},
		{"arista v4", aristaPeerIndex, "1.1.4.10.0.0.1", 1, "10.0.0.1", true},
		{"arista v6z", aristaPeerIndex, "1.4.20.254.128.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.17", 1, "fe80::1%17", true},
		{"arista v4z", aristaPeerIndex, "7.3.8.10.0.0.1.0.0.1.0", 7, "10.0.0.1%256", true},
		{"arista wrong length", aristaPeerIndex, "1.1.16.10.0.0.1", 0, "", false},
		{"arista octet > 255", aristaPeerIndex, "1.1.4.10.0.0.300", 0, "", false},
		{"empty", aristaPeerIndex, "", 0, "", false},
	} {
		inst, addr, ok := c.parse(ints(c.idx))
		if ok != c.ok || (ok && (inst != c.inst || addr != c.addr)) {
			t.Errorf("%s: %q = %d, %q, %v; want %d, %q, %v", c.name, c.idx, inst, addr, ok, c.inst, c.addr, c.ok)
		}
	}
	if a, rest, ok := inetAddressIndex("2.16.32.1.13.184.0.0.0.0.0.0.0.0.0.0.0.1.2.1"); !ok || a != "2001:db8::1" || rest != "2.1" {
		t.Errorf("inetAddressIndex = %q, %q, %v", a, rest, ok)
	}
	for in, want := range map[string]string{"c0000201": "192.0.2.1", "20010db8000000000000000000000001": "2001:db8::1",
		"fe80000000000000000000000000000100000011": "fe80::1%17", "0102": "0102"} {
		b, _ := hex.DecodeString(in)
		if got := formatOctets(b); got != want {
			t.Errorf("formatOctets(%s) = %q, want %q", in, got, want)
		}
	}
}

func TestBGPFamiliesFor(t *testing.T) {
	for oid, want := range map[string]int{
		".1.3.6.1.4.1.9.1.1165": 1, ".1.3.6.1.4.1.2636.1.1.1.2.25": 1, ".1.3.6.1.4.1.30065.1.3011": 1,
		".1.3.6.1.4.1.90.1": 3, ".1.3.6.1.4.1.8072.3.2.10": 3, "": 3,
	} {
		if got := bgpFamiliesFor(oid); len(got) != want {
			t.Errorf("%q: %d families, want %d", oid, len(got), want)
		}
	}
	if f := bgpFamiliesFor(".1.3.6.1.4.1.2636.1.1"); f[0].enterprise != ".1.3.6.1.4.1.2636." {
		t.Errorf("juniper device gets %s", f[0].enterprise)
	}
}

// TestBGPVendorSelection: a Juniper device is not asked for Cisco or Arista
// tables, and its sysObjectID is read once per cache TTL; an unknown
// device tries every vendor's peer table but walks a vendor's other
// tables only when its peer table has rows.
func TestBGPVendorSelection(t *testing.T) {
	var walked []string
	sysOID := ".1.3.6.1.4.1.2636.1.1.1.2.25"
	w := bgpWalkFunc(func(root string) ([]snmp.Varbind, error) {
		walked = append(walked, root)
		if root == oidSysObjectIDRoot {
			return []snmp.Varbind{{Name: root + ".0", Type: gosnmp.ObjectIdentifier, Value: sysOID}}, nil
		}
		if root == juniperBGP.peers {
			return []snmp.Varbind{{Name: root + ".2.0.1.192.0.2.2.1.192.0.2.1", Type: gosnmp.Integer, Value: 6}}, nil
		}
		return nil, nil
	})
	now := polltest.Now
	b := &BGP{vendorTables: true, walker: w, now: func() time.Time { return now }, oids: oidCache{ttl: time.Hour}}
	req := &poll.Request{Resource: polltest.Resource, Interval: time.Minute, Now: polltest.Now}
	groups, err := b.Poll(context.Background(), req)
	if err != nil || len(groups) != 1 || groups[0].Dimension("peer_address") != "192.0.2.1" {
		t.Fatalf("Poll = %d groups, %v", len(groups), err)
	}
	want := []string{oidBGPPeerTable, oidSysObjectIDRoot, juniperBGP.peers, juniperBGP.times, juniperBGP.counters, juniperBGP.prefixes}
	if strings.Join(walked, " ") != strings.Join(want, " ") {
		t.Errorf("walked %v\nwant   %v", walked, want)
	}
	walked = nil
	now = now.Add(30 * time.Minute)
	if _, err := b.Poll(context.Background(), req); err != nil || walked[1] == oidSysObjectIDRoot {
		t.Errorf("second poll re-read sysObjectID: %v, %v", walked, err)
	}

	// Unknown vendor (cache expired, new sysObjectID): every peer table,
	// Juniper's other tables (it answered), not Arista's.
	walked, sysOID = nil, ".1.3.6.1.4.1.8072.3.2.10"
	now = now.Add(2 * time.Hour)
	if _, err := b.Poll(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	for _, root := range []string{oidCbgpPeer2Table, juniperBGP.prefixes, aristaBGP.peers} {
		if !strings.Contains(strings.Join(walked, " "), root) {
			t.Errorf("unknown vendor: %s not walked (%v)", root, walked)
		}
	}
	if strings.Contains(strings.Join(walked, " "), aristaBGP.counters) {
		t.Errorf("Arista counters walked though its peer table is empty: %v", walked)
	}
}

// v2Peer is a peer expected from a vendor recording: its name and its
// index in the vendor's peer table.
type v2Peer struct{ name, idx string }

// TestBGPJuniperSnmpsim replays testdata/bgp_juniper.snmprec (hand-written
// from BGP4-V2-MIB-JUNIPER: an IPv4 peer also in bgpPeerTable, an IPv6
// peer with counters at the 32-bit edge, a halted peer, and the IPv4
// peer's address again in routing instance 5) and
// testdata/bgp_arista.snmprec (from ARISTA-BGP4V2-MIB, no bgpPeerTable:
// IPv4, IPv6 and link-local peers and a second VRF), and checks every
// metric and dimension against snmpbulkwalk of the same recording.
func TestBGPVendorSnmpsim(t *testing.T) {
	polltest.Integration(t, "snmpsimd", "snmpbulkwalk")
	var recs []string
	for _, f := range []string{"bgp_juniper.snmprec", "bgp_arista.snmprec"} {
		p, err := filepath.Abs(filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, p)
	}
	a := snmpagent.StartSnmpsim(t, recs...)

	t.Run("juniper", func(t *testing.T) {
		status, groups := polltest.RunCheck(t, "bgp", a.Addr(), snmp.Credential{Version: "2c", Community: "bgp_juniper"}, poll.SNMPOptions{})
		if status != metric.StatusSuccess || len(groups) != 4 {
			t.Fatalf("status %s, %d groups, want success and 4 peers", metric.StatusName(status), len(groups))
		}
		peers := bgpByPeer(t, groups)
		tr := v2Truth(t, a, "bgp_juniper", juniperBGP)
		checkV2Peers(t, tr, juniperBGP, peers, []v2Peer{
			{"2001:db8::1", "0.2.32.1.13.184.0.0.0.0.0.0.0.0.0.0.0.2.2.32.1.13.184.0.0.0.0.0.0.0.0.0.0.0.1"},
			{"203.0.113.9", "0.1.203.0.113.2.1.203.0.113.9"},
			{"192.0.2.1%5", "5.1.198.51.100.2.1.192.0.2.1"},
		})
		// The peer bgpPeerTable has: its values, plus the vendor's prefixes.
		std := peers["192.0.2.1"]
		if std == nil {
			t.Fatal("no group for 192.0.2.1")
		}
		walked := map[string]string{}
		for _, r := range snmpagent.BulkWalk(t, []string{"-v2c", "-c", "bgp_juniper"}, a.Addr(), oidBGPPeerTable) {
			walked[r.OID] = r.Value
		}
		for c, name := range bgpCounterCols {
			if got, want := metricU(t, std, name, metric.Counter), walked[oidBGPPeerTable+"."+strconv.Itoa(c)+".192.0.2.1"]; strconv.FormatUint(got, 10) != want {
				t.Errorf("192.0.2.1 %s = %d, bgpPeerTable %s", name, got, want)
			}
		}
		acc, adv := v2PrefixSums(tr, juniperBGP, "1")
		if metricU(t, std, "prefixes_accepted", metric.Gauge) != acc || metricU(t, std, "prefixes_advertised", metric.Gauge) != adv || acc != 817 {
			t.Errorf("192.0.2.1 prefixes: %+v, want %d and %d", std.Metrics, acc, adv)
		}
	})

	t.Run("arista", func(t *testing.T) {
		status, groups := polltest.RunCheck(t, "bgp", a.Addr(), snmp.Credential{Version: "2c", Community: "bgp_arista"}, poll.SNMPOptions{})
		if status != metric.StatusSuccess || len(groups) != 4 {
			t.Fatalf("status %s, %d groups, want success and 4 peers", metric.StatusName(status), len(groups))
		}
		checkV2Peers(t, v2Truth(t, a, "bgp_arista", aristaBGP), aristaBGP, bgpByPeer(t, groups), []v2Peer{
			{"10.0.0.1", "1.1.4.10.0.0.1"},
			{"2001:db8:0:1::1", "1.2.16.32.1.13.184.0.0.0.1.0.0.0.0.0.0.0.1"},
			{"fe80::1%17", "1.4.20.254.128.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.17"},
			{"10.0.0.1%2", "2.1.4.10.0.0.1"},
		})
	})
}

// v2Truth is snmpbulkwalk's view of a vendor's four tables, by OID.
func v2Truth(t *testing.T, a *snmpagent.Agent, community string, v *bgpV2) map[string]snmpagent.WalkRow {
	tr := map[string]snmpagent.WalkRow{}
	for _, root := range []string{v.peers, v.times, v.counters, v.prefixes} {
		rows := snmpagent.BulkWalk(t, []string{"-v2c", "-c", community}, a.Addr(), root)
		if len(rows) == 0 {
			t.Fatalf("snmpbulkwalk %s: no rows", root)
		}
		for _, r := range rows {
			tr[r.OID] = r
		}
	}
	return tr
}

func checkV2Peers(t *testing.T, tr map[string]snmpagent.WalkRow, v *bgpV2, peers map[string]*metric.Group, want []v2Peer) {
	t.Helper()
	cell := func(root string, c int, idx string) snmpagent.WalkRow {
		oid := root + "." + strconv.Itoa(c) + "." + idx
		r, ok := tr[oid]
		if !ok {
			t.Fatalf("snmpbulkwalk has no %s", oid)
		}
		return r
	}
	num := func(root string, c int, idx string) uint64 {
		r := cell(root, c, idx)
		n, err := strconv.ParseUint(r.Value, 10, 64)
		if err != nil {
			t.Fatalf("%s.%d.%s = %q: %v", root, c, idx, r.Value, err)
		}
		return n
	}
	for _, p := range want {
		g := peers[p.name]
		if g == nil {
			t.Errorf("no group for peer %s (have %v)", p.name, keysOf(peers))
			continue
		}
		for c, name := range v.peerCols {
			if got, want := metricU(t, g, name, metric.Gauge), num(v.peers, c, p.idx); got != want {
				t.Errorf("%s %s = %d, snmpbulkwalk %d", p.name, name, got, want)
			}
		}
		if got, want := metricU(t, g, "established_time", metric.Gauge), num(v.times, 1, p.idx); got != want {
			t.Errorf("%s established_time = %d, snmpbulkwalk %d", p.name, got, want)
		}
		for c, name := range bgpV2CounterCols {
			if got, want := metricU(t, g, name, metric.Counter), num(v.counters, c, p.idx); got != want {
				t.Errorf("%s %s = %d, snmpbulkwalk %d", p.name, name, got, want)
			}
		}
		if got, want := g.Dimension("remote_as"), cell(v.peers, v.remoteAS, p.idx).Value; got != want {
			t.Errorf("%s remote_as %q, snmpbulkwalk %q", p.name, got, want)
		}
		if got, want := g.Dimension("local_address"), hexAddr(t, cell(v.peers, v.localAddr, p.idx).Value); got != want {
			t.Errorf("%s local_address %q, snmpbulkwalk %q", p.name, got, want)
		}
		if got, want := g.Dimension("peer_identifier"), hexAddr(t, cell(v.peers, v.ident, p.idx).Value); got != want {
			t.Errorf("%s peer_identifier %q, snmpbulkwalk %q", p.name, got, want)
		}
		key := p.idx
		if v.prefixesByPeerIndex {
			key = cell(v.peers, v.peerIdx, p.idx).Value
		}
		acc, adv := v2PrefixSums(tr, v, key)
		m, has := g.Metric("prefixes_accepted")
		if rows := acc + adv; !has && rows > 0 || has && (m.Value.Uint64() != acc || metricU(t, g, "prefixes_advertised", metric.Gauge) != adv) {
			t.Errorf("%s prefixes: %+v; snmpbulkwalk sums %d accepted, %d advertised", p.name, g.Metrics, acc, adv)
		}
	}
}

// v2PrefixSums sums the prefix table's accepted and advertised columns of
// the rows under key (a peer index, before afi.safi).
func v2PrefixSums(tr map[string]snmpagent.WalkRow, v *bgpV2, key string) (acc, adv uint64) {
	for oid, r := range tr {
		for c, sum := range map[int]*uint64{v.accepted: &acc, v.advertised: &adv} {
			rest, ok := strings.CutPrefix(oid, v.prefixes+"."+strconv.Itoa(c)+"."+key+".")
			if ok && strings.Count(rest, ".") == 1 {
				n, _ := strconv.ParseUint(r.Value, 10, 64)
				*sum += n
			}
		}
	}
	return acc, adv
}

// hexAddr decodes snmpbulkwalk's hex of an InetAddress (4, 16 or 20 octets).
func hexAddr(t *testing.T, h string) string {
	b, err := hex.DecodeString(strings.ReplaceAll(h, " ", ""))
	if err != nil {
		t.Fatalf("hex %q: %v", h, err)
	}
	if len(b) == 20 {
		a, _ := netip.AddrFromSlice(b[:16])
		return a.String() + "%" + strconv.FormatUint(uint64(binary.BigEndian.Uint32(b[16:])), 10)
	}
	a, ok := netip.AddrFromSlice(b)
	if !ok {
		t.Fatalf("%q is not an address", h)
	}
	return a.String()
}

func keysOf(m map[string]*metric.Group) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
