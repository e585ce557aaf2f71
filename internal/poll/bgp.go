package poll

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/snmp"
)

func init() { Register("bgp", newBGP) }

// BGPGroupType is the group the bgp plugin writes, one per peer.
const BGPGroupType = "bgp_session"

// BGP is the `bgp` plugin: one bgp_session group per BGP peer.
//
// Coverage:
//   - BGP4-MIB bgpPeerTable (RFC 4273, every vendor, IPv4 peers only):
//     state, admin status, established time and transitions, updates and
//     messages in/out; dims peer address, remote AS, local address, peer
//     identifier.
//   - CISCO-BGP4-MIB cbgpPeerAddrFamilyPrefixTable: accepted and advertised
//     prefixes of IPv4 peers (summed over address families).
//   - CISCO-BGP4-MIB cbgpPeer2Table and cbgpPeer2AddrFamilyPrefixTable, the
//     fallback where the standard table is absent or incomplete: peers the
//     standard table lacks (IPv6 peers, or every peer on an NX-OS/IOS-XR
//     that only implements cbgpPeer2) with the same metrics and prefixes.
//
// Not covered: Juniper BGP4-V2-MIB-JUNIPER (jnxBgpM2PeerTable) and Arista
// ARISTA-BGP4V2-MIB; those devices' IPv4 peers are still in bgpPeerTable.
// Options: vendor_tables (default true) walks the Cisco tables too; on
// other devices they are empty, at one request each.
type BGP struct {
	vendorTables bool
	walker       bgpWalker // nil: req.SNMP
	now          func() time.Time
}

// BGP OIDs.
const (
	oidBGPPeerTable       = ".1.3.6.1.2.1.15.3.1"
	oidCbgpPeerPrefix     = ".1.3.6.1.4.1.9.9.187.1.2.4.1"
	oidCbgpPeer2Table     = ".1.3.6.1.4.1.9.9.187.1.2.5.1"
	oidCbgpPeer2PrefixTbl = ".1.3.6.1.4.1.9.9.187.1.2.8.1"
)

// bgpPeerTable columns.
const (
	bgpIdentifier   = 1
	bgpState        = 2
	bgpAdminStatus  = 3
	bgpLocalAddr    = 5
	bgpRemoteAS     = 9
	bgpInUpdates    = 10
	bgpOutUpdates   = 11
	bgpInMessages   = 12
	bgpOutMessages  = 13
	bgpTransitions  = 15
	bgpEstablishedT = 16
)

// cbgpPeer2Table columns.
const (
	cbgp2State        = 3
	cbgp2AdminStatus  = 4
	cbgp2LocalAddr    = 6
	cbgp2RemoteAS     = 11
	cbgp2Identifier   = 12
	cbgp2InUpdates    = 13
	cbgp2OutUpdates   = 14
	cbgp2InMessages   = 15
	cbgp2OutMessages  = 16
	cbgp2Transitions  = 18
	cbgp2EstablishedT = 19
)

// Prefix table columns (both Cisco prefix tables).
const (
	cbgpAccepted   = 1
	cbgpAdvertised = 6
)

// bgpPeer is one session gathered from the tables.
type bgpPeer struct {
	addr, remoteAS, local, ident string
	gauges                       map[string]uint64
	counters                     map[string]uint64
	accepted, advertised         uint64
	hasPrefixes                  bool
}

// bgpWalker is the one SNMP operation the plugin needs.
type bgpWalker interface {
	Walk(ctx context.Context, t snmp.Target, root string) ([]snmp.Varbind, error)
}

func newBGP(options map[string]any) (Plugin, error) {
	o := ReadOptions(options)
	b := &BGP{vendorTables: o.Bool("vendor_tables", true), now: time.Now}
	if err := o.Err(); err != nil {
		return nil, err
	}
	return b, nil
}

// Poll walks the peer tables and builds one group per peer.
func (b *BGP) Poll(ctx context.Context, req *Request) ([]*metric.Group, error) {
	w := b.walker
	if w == nil {
		if req.SNMP == nil {
			return nil, WithStatus(metric.StatusInternalFailure, ErrNoSNMP)
		}
		w = req.SNMP
	}
	std, err := w.Walk(ctx, req.Target, oidBGPPeerTable)
	if err != nil {
		return nil, fmt.Errorf("walk bgpPeerTable: %w", err)
	}
	peers := map[string]*bgpPeer{}
	parseBGPPeerTable(std, peers)

	var vendorErrs []error
	if b.vendorTables {
		walk := func(name, root string, parse func([]snmp.Varbind, map[string]*bgpPeer)) {
			if ctx.Err() != nil {
				return
			}
			vbs, err := w.Walk(ctx, req.Target, root)
			if err != nil {
				vendorErrs = append(vendorErrs, fmt.Errorf("walk %s: %w", name, err))
				return
			}
			parse(vbs, peers)
		}
		// Whole tables (8 small columns): each parse sees a table at once.
		walk("cbgpPeerAddrFamilyPrefixTable", oidCbgpPeerPrefix, parseCbgpPrefixes)
		walk("cbgpPeer2Table", oidCbgpPeer2Table, parseCbgpPeer2Table)
		walk("cbgpPeer2AddrFamilyPrefixTable", oidCbgpPeer2PrefixTbl, parseCbgpPeer2Prefixes)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	groups := b.groups(req, peers)
	err = errors.Join(vendorErrs...)
	if len(groups) == 0 && err == nil {
		return nil, WithStatus(metric.StatusMissingMetrics, errors.New("no BGP peers: bgpPeerTable and cbgpPeer2Table are empty (BGP not running, or the view hides BGP4-MIB)"))
	}
	return groups, err
}

func (b *BGP) groups(req *Request, peers map[string]*bgpPeer) []*metric.Group {
	addrs := make([]string, 0, len(peers))
	for a, p := range peers {
		if p.gauges != nil { // a prefix row without a peer row is skipped
			addrs = append(addrs, a)
		}
	}
	sort.Strings(addrs)
	at := epoch(b.now())
	out := make([]*metric.Group, 0, len(addrs))
	for _, a := range addrs {
		p := peers[a]
		var ms []metric.Metric
		for _, n := range bgpSortedKeys(p.gauges) {
			ms = append(ms, metric.Metric{Name: n, Value: metric.Uint(p.gauges[n]), Type: metric.Gauge, Timestamp: at})
		}
		for _, n := range bgpSortedKeys(p.counters) {
			ms = append(ms, metric.Metric{Name: n, Value: metric.Uint(p.counters[n]), Type: metric.Counter, Timestamp: at})
		}
		if p.hasPrefixes {
			ms = append(ms,
				metric.Metric{Name: "prefixes_accepted", Value: metric.Uint(p.accepted), Type: metric.Gauge, Timestamp: at},
				metric.Metric{Name: "prefixes_advertised", Value: metric.Uint(p.advertised), Type: metric.Gauge, Timestamp: at})
		}
		out = append(out, &metric.Group{
			Resource: req.Resource, Type: BGPGroupType, Interval: int(req.Interval / time.Second),
			CreationTimestamp: epoch(req.Now), SchemaVersion: metric.SchemaVersion, Metrics: ms,
			Dimensions: []metric.Dimension{
				{Name: "peer_address", Value: p.addr},
				{Name: "remote_as", Value: p.remoteAS},
				{Name: "local_address", Value: p.local},
				{Name: "peer_identifier", Value: p.ident},
			},
		})
	}
	return out
}

func bgpSortedKeys(m map[string]uint64) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// peerAt returns the peer for addr, creating it.
func peerAt(peers map[string]*bgpPeer, addr string) *bgpPeer {
	p := peers[addr]
	if p == nil {
		p = &bgpPeer{addr: addr}
		peers[addr] = p
	}
	return p
}

// bgpColumn splits an OID under root into the column number and the index.
func bgpColumn(oid, root string) (int, string, bool) {
	rest, ok := strings.CutPrefix(strings.TrimPrefix(oid, "."), strings.TrimPrefix(root, ".")+".")
	if !ok {
		return 0, "", false
	}
	c, idx, ok := strings.Cut(rest, ".")
	n, err := strconv.Atoi(c)
	if !ok || err != nil {
		return 0, "", false
	}
	return n, idx, true
}

var (
	bgpGaugeCols   = map[int]string{bgpState: "peer_state", bgpAdminStatus: "admin_status", bgpEstablishedT: "established_time"}
	bgpCounterCols = map[int]string{bgpInUpdates: "updates_in", bgpOutUpdates: "updates_out", bgpInMessages: "messages_in",
		bgpOutMessages: "messages_out", bgpTransitions: "established_transitions"}
	cbgp2GaugeCols   = map[int]string{cbgp2State: "peer_state", cbgp2AdminStatus: "admin_status", cbgp2EstablishedT: "established_time"}
	cbgp2CounterCols = map[int]string{cbgp2InUpdates: "updates_in", cbgp2OutUpdates: "updates_out", cbgp2InMessages: "messages_in",
		cbgp2OutMessages: "messages_out", cbgp2Transitions: "established_transitions"}
)

func parseBGPPeerTable(vbs []snmp.Varbind, peers map[string]*bgpPeer) {
	for _, vb := range vbs {
		c, idx, ok := bgpColumn(vb.Name, oidBGPPeerTable)
		if !ok {
			continue
		}
		setPeerColumn(peerAt(peers, idx), vb, c, bgpGaugeCols, bgpCounterCols, bgpRemoteAS, bgpLocalAddr, bgpIdentifier)
	}
}

func parseCbgpPeer2Table(vbs []snmp.Varbind, peers map[string]*bgpPeer) {
	fromStd := map[string]bool{} // peers the standard table already gave win
	for a, p := range peers {
		if p.gauges != nil {
			fromStd[a] = true
		}
	}
	for _, vb := range vbs {
		c, idx, ok := bgpColumn(vb.Name, oidCbgpPeer2Table)
		if !ok {
			continue
		}
		addr, rest, ok := inetAddressIndex(idx)
		if !ok || rest != "" || fromStd[addr] {
			continue
		}
		setPeerColumn(peerAt(peers, addr), vb, c, cbgp2GaugeCols, cbgp2CounterCols, cbgp2RemoteAS, cbgp2LocalAddr, cbgp2Identifier)
	}
}

func setPeerColumn(p *bgpPeer, vb snmp.Varbind, c int, gauges, counters map[int]string, asCol, localCol, identCol int) {
	if p.gauges == nil {
		p.gauges, p.counters = map[string]uint64{}, map[string]uint64{}
	}
	if vb.Type == gosnmp.NoSuchObject || vb.Type == gosnmp.NoSuchInstance || vb.Type == gosnmp.EndOfMibView {
		return
	}
	switch {
	case gauges[c] != "":
		p.gauges[gauges[c]] = gosnmp.ToBigInt(vb.Value).Uint64()
	case counters[c] != "":
		p.counters[counters[c]] = gosnmp.ToBigInt(vb.Value).Uint64()
	case c == asCol:
		p.remoteAS = gosnmp.ToBigInt(vb.Value).String()
	case c == localCol:
		p.local = bgpAddress(vb)
	case c == identCol:
		p.ident = bgpAddress(vb)
	}
}

// bgpAddress renders an IpAddress or an InetAddress octet string.
func bgpAddress(vb snmp.Varbind) string {
	switch v := vb.Value.(type) {
	case string:
		return v
	case []byte:
		if a, ok := netip.AddrFromSlice(v); ok {
			return a.String()
		}
		return fmt.Sprintf("%x", v)
	}
	return fmt.Sprint(vb.Value)
}

// inetAddressIndex decodes an InetAddressType.InetAddress index
// ("1.4.a.b.c.d" or "2.16.<16 octets>") and returns the rest of the index.
func inetAddressIndex(idx string) (string, string, bool) {
	parts := strings.Split(idx, ".")
	if len(parts) < 2 {
		return "", "", false
	}
	n, err := strconv.Atoi(parts[1])
	if err != nil || n < 0 || len(parts) < 2+n {
		return "", "", false
	}
	b := make([]byte, n)
	for i := range n {
		v, err := strconv.Atoi(parts[2+i])
		if err != nil || v < 0 || v > 255 {
			return "", "", false
		}
		b[i] = byte(v)
	}
	a, ok := netip.AddrFromSlice(b)
	if !ok {
		return "", "", false
	}
	return a.String(), strings.Join(parts[2+n:], "."), true
}

// parseCbgpPrefixes reads cbgpPeerAddrFamilyPrefixTable (index
// a.b.c.d.afi.safi), summing address families per peer.
func parseCbgpPrefixes(vbs []snmp.Varbind, peers map[string]*bgpPeer) {
	for _, vb := range vbs {
		c, idx, ok := bgpColumn(vb.Name, oidCbgpPeerPrefix)
		parts := strings.Split(idx, ".")
		if !ok || len(parts) != 6 {
			continue
		}
		addPrefixes(peerAt(peers, strings.Join(parts[:4], ".")), c, vb)
	}
}

// parseCbgpPeer2Prefixes reads cbgpPeer2AddrFamilyPrefixTable (index
// type.len.addr.afi.safi) for peers that the older table gave no prefixes.
func parseCbgpPeer2Prefixes(vbs []snmp.Varbind, peers map[string]*bgpPeer) {
	had := map[string]bool{}
	for a, p := range peers {
		had[a] = p.hasPrefixes
	}
	for _, vb := range vbs {
		c, idx, ok := bgpColumn(vb.Name, oidCbgpPeer2PrefixTbl)
		if !ok {
			continue
		}
		addr, rest, ok := inetAddressIndex(idx)
		if !ok || len(strings.Split(rest, ".")) != 2 || had[addr] {
			continue
		}
		addPrefixes(peerAt(peers, addr), c, vb)
	}
}

func addPrefixes(p *bgpPeer, c int, vb snmp.Varbind) {
	if vb.Type != gosnmp.Counter32 && vb.Type != gosnmp.Gauge32 {
		return
	}
	v := gosnmp.ToBigInt(vb.Value).Uint64()
	switch c {
	case cbgpAccepted:
		p.accepted += v
	case cbgpAdvertised:
		p.advertised += v
	default:
		return
	}
	p.hasPrefixes = true
}
