package bgp

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/panoptes-go/panoptes/internal/poll"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/plugin"
	"github.com/panoptes-go/panoptes/internal/snmp"
)

func init() { poll.Register("bgp", newBGP) }

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
//   - Juniper BGP4-V2-MIB-JUNIPER (jnxBgpM2PeerTable and its counters,
//     event times and per-AFI/SAFI prefix counters) and Arista
//     ARISTA-BGP4V2-MIB (aristaBgp4V2PeerTable, likewise): IPv6 peers,
//     peers of other routing instances and every peer's prefixes.
//
// A peer the standard table has keeps its values from it; the vendor
// tables add what it lacks. A vendor-table peer whose address is already
// used by a peer of another routing instance is named address%instance.
//
// Which vendor tables are walked: the sysObjectID's enterprise (Cisco 9,
// Juniper 2636, Arista 30065; read once an hour per resource) chooses;
// for other devices every vendor's peer table is tried, and a vendor's
// other tables are walked only when its peer table answered.
// Options: vendor_tables (default true): false walks bgpPeerTable only.
type BGP struct {
	vendorTables bool
	walker       bgpWalker // nil: req.SNMP
	now          func() time.Time
	oids         oidCache // sysObjectID by resource
}

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

// bgpOptions are the options of plugin bgp.
type bgpOptions struct {
	VendorTables bool `yaml:"vendor_tables"` // walk the vendors' peer tables too (default true)
}

func newBGP(options plugin.Block) (poll.Plugin, error) {
	o := bgpOptions{VendorTables: true}
	if err := options.Decode(&o); err != nil {
		return nil, err
	}
	return &BGP{vendorTables: o.VendorTables, now: time.Now, oids: oidCache{ttl: time.Hour}}, nil
}

// Poll walks the peer tables and builds one group per peer.
func (b *BGP) Poll(ctx context.Context, req *poll.Request) ([]*metric.Group, error) {
	w := b.walker
	if w == nil {
		if req.SNMP == nil {
			return nil, poll.WithStatus(metric.StatusInternalFailure, poll.ErrNoSNMP)
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
		walk := func(name, root string) ([]snmp.Varbind, error) {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			vbs, err := w.Walk(ctx, req.Target, root)
			if err != nil {
				err = fmt.Errorf("walk %s: %w", name, err)
				vendorErrs = append(vendorErrs, err)
			}
			return vbs, err
		}
		for _, f := range bgpFamiliesFor(b.sysObjectID(ctx, w, req)) {
			f.poll(walk, peers)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	groups := b.groups(req, peers)
	err = errors.Join(vendorErrs...)
	if len(groups) == 0 && err == nil {
		return nil, poll.WithStatus(metric.StatusMissingMetrics, errors.New("no BGP peers: bgpPeerTable and the vendor peer tables "+
			"(CISCO-BGP4-MIB, BGP4-V2-MIB-JUNIPER, ARISTA-BGP4V2-MIB) are empty (BGP not running, or the view hides them)"))
	}
	return groups, err
}

func (b *BGP) groups(req *poll.Request, peers map[string]*bgpPeer) []*metric.Group {
	addrs := make([]string, 0, len(peers))
	for a, p := range peers {
		if p.gauges != nil { // a prefix row without a peer row is skipped
			addrs = append(addrs, a)
		}
	}
	sort.Strings(addrs)
	at := poll.Epoch(b.now())
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
			CreationTimestamp: poll.Epoch(req.Now), SchemaVersion: metric.SchemaVersion, Metrics: ms,
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
