package bgp

import (
	"slices"
	"strconv"
	"strings"

	"github.com/panoptes-go/panoptes/internal/snmp"
)

// bgpV2 describes a vendor MIB derived from the IETF BGP4-V2 draft: a peer
// table indexed by routing instance and addresses, tables that AUGMENT it
// (event times, counters) and a per-AFI/SAFI prefix table.
type bgpV2 struct {
	name     string // MIB, for messages
	peers    string // peer entry; the tables below share its index
	times    string // event times entry: column 1 is FsmEstablishedTime
	counters string // counters entry: columns 1-5
	prefixes string // prefix counters entry

	// index decodes a peer-table index into routing instance and remote
	// address.
	index func(parts []int) (inst int, addr string, ok bool)
	// peerCols maps the peer table's gauge columns to metrics.
	peerCols                            map[int]string
	remoteAS, localAddr, ident, peerIdx int // peer table columns (peerIdx 0: none)
	// prefixesByPeerIndex: the prefix table is indexed by the peer table's
	// peerIdx column (Juniper), else by the peer index itself; both end in
	// afi.safi.
	prefixesByPeerIndex  bool
	accepted, advertised int // prefix table columns
}

var (
	bgpV2TimeCols    = map[int]string{1: "established_time"}
	bgpV2CounterCols = map[int]string{1: "updates_in", 2: "updates_out", 3: "messages_in", 4: "messages_out", 5: "established_transitions"}
)

// juniperBGP is BGP4-V2-MIB-JUNIPER (jnxBgpM2, .1.3.6.1.4.1.2636.5.1.1).
// jnxBgpM2PeerEntry is indexed by jnxBgpM2PeerRoutingInstance, the local
// and the remote InetAddressType+InetAddress; its admin column
// jnxBgpM2PeerStatus is halted(1)/running(2), like bgpPeerAdminStatus's
// stop(1)/start(2). jnxBgpM2PrefixCountersEntry is indexed by
// jnxBgpM2PeerIndex, AFI and SAFI.
var juniperBGP = &bgpV2{
	name:     "BGP4-V2-MIB-JUNIPER",
	peers:    ".1.3.6.1.4.1.2636.5.1.1.2.1.1.1",
	times:    ".1.3.6.1.4.1.2636.5.1.1.2.4.1.1",
	counters: ".1.3.6.1.4.1.2636.5.1.1.2.6.1.1",
	prefixes: ".1.3.6.1.4.1.2636.5.1.1.2.6.2.1",
	index:    juniperPeerIndex,
	peerCols: map[int]string{2: "peer_state", 3: "admin_status"},
	ident:    1, localAddr: 7, remoteAS: 13, peerIdx: 14,
	prefixesByPeerIndex: true,
	accepted:            8,  // jnxBgpM2PrefixInPrefixesAccepted
	advertised:          10, // jnxBgpM2PrefixOutPrefixes
}

// aristaBGP is ARISTA-BGP4V2-MIB (aristaBgp4V2, .1.3.6.1.4.1.30065.4.1).
// aristaBgp4V2PeerEntry is indexed by aristaBgp4V2PeerInstance and the
// remote InetAddressType+InetAddress; aristaBgp4V2PrefixGaugesEntry by the
// same plus AFI and SAFI.
var aristaBGP = &bgpV2{
	name:      "ARISTA-BGP4V2-MIB",
	peers:     ".1.3.6.1.4.1.30065.4.1.1.2.1",
	times:     ".1.3.6.1.4.1.30065.4.1.1.4.1",
	counters:  ".1.3.6.1.4.1.30065.4.1.1.7.1",
	prefixes:  ".1.3.6.1.4.1.30065.4.1.1.8.1",
	index:     aristaPeerIndex,
	peerCols:  map[int]string{12: "admin_status", 13: "peer_state"},
	localAddr: 3, remoteAS: 10, ident: 11,
	accepted:   4, // aristaBgp4V2PrefixInPrefixesAccepted
	advertised: 5, // aristaBgp4V2PrefixOutPrefixes
}

// juniperPeerIndex decodes instance.localType.local.remoteType.remote.
// Junos writes the addresses without the length sub-identifier the SMI
// asks for (their length follows from the type); the SMI form is accepted
// too.
func juniperPeerIndex(parts []int) (int, string, bool) {
	if len(parts) < 1 {
		return 0, "", false
	}
	for _, withLen := range []bool{false, true} {
		_, n, ok := typedAddress(parts[1:], withLen)
		if !ok {
			continue
		}
		remote, m, ok := typedAddress(parts[1+n:], withLen)
		if ok && 1+n+m == len(parts) {
			return parts[0], remote, true
		}
	}
	return 0, "", false
}

// aristaPeerIndex decodes instance.remoteType.remoteLen.remote.
func aristaPeerIndex(parts []int) (int, string, bool) {
	if len(parts) < 1 {
		return 0, "", false
	}
	remote, n, ok := typedAddress(parts[1:], true)
	if !ok || 1+n != len(parts) {
		return 0, "", false
	}
	return parts[0], remote, true
}

// v2Row is one peer-table row.
type v2Row struct {
	parts []int
	inst  int
	peer  bgpPeer
}

// poll walks the peer table and, when it has rows, the tables that extend
// it, then merges the peers into peers.
func (v *bgpV2) poll(walk bgpWalk, peers map[string]*bgpPeer) {
	vbs, err := walk(v.name+" peer table", v.peers)
	if err != nil {
		return
	}
	rows := map[string]*v2Row{}
	byPeerIdx := map[string]*v2Row{}
	for _, vb := range vbs {
		c, idx, ok := bgpColumn(vb.Name, v.peers)
		if !ok {
			continue
		}
		r := rows[idx]
		if r == nil {
			parts := snmp.IndexInts(idx)
			inst, addr, ok := v.index(parts)
			if !ok {
				continue
			}
			r = &v2Row{parts: parts, inst: inst, peer: bgpPeer{addr: addr}}
			rows[idx] = r
		}
		if c == v.peerIdx && v.peerIdx != 0 {
			peerIdx, _ := snmp.Int(&vb)
			byPeerIdx[strconv.FormatInt(peerIdx, 10)] = r
			continue
		}
		setPeerColumn(&r.peer, vb, c, v.peerCols, nil, v.remoteAS, v.localAddr, v.ident)
	}
	if len(rows) == 0 {
		return // not this vendor's device, or no peers: skip the other tables
	}
	augment := func(name, root string, gauges, counters map[int]string) {
		vbs, err := walk(name, root)
		if err != nil {
			return
		}
		for _, vb := range vbs {
			if c, idx, ok := bgpColumn(vb.Name, root); ok && rows[idx] != nil {
				setPeerColumn(&rows[idx].peer, vb, c, gauges, counters, -1, -1, -1)
			}
		}
	}
	augment(v.name+" event times", v.times, bgpV2TimeCols, nil)
	augment(v.name+" counters", v.counters, nil, bgpV2CounterCols)
	if vbs, err := walk(v.name+" prefix counters", v.prefixes); err == nil {
		v.parsePrefixes(vbs, rows, byPeerIdx)
	}
	v.merge(rows, peers)
}

// parsePrefixes sums each peer's accepted and advertised prefixes over
// its address families.
func (v *bgpV2) parsePrefixes(vbs []snmp.Varbind, rows, byPeerIdx map[string]*v2Row) {
	for _, vb := range vbs {
		c, idx, ok := bgpColumn(vb.Name, v.prefixes)
		if !ok || (c != v.accepted && c != v.advertised) {
			continue
		}
		parts := strings.Split(idx, ".")
		if len(parts) < 3 {
			continue
		}
		key := strings.Join(parts[:len(parts)-2], ".") // drop afi.safi
		r := rows[key]
		if v.prefixesByPeerIndex {
			r = byPeerIdx[key]
		}
		if r == nil {
			continue
		}
		col := cbgpAccepted
		if c == v.advertised {
			col = cbgpAdvertised
		}
		addPrefixes(&r.peer, col, vb)
	}
}

// merge adds the rows to peers in index order (routing instance first). A
// peer already there with session data (from bgpPeerTable) keeps it and
// gains the prefixes; an address the first instance claimed is named
// address%instance in the others.
func (v *bgpV2) merge(rows map[string]*v2Row, peers map[string]*bgpPeer) {
	ordered := make([]*v2Row, 0, len(rows))
	for _, r := range rows {
		ordered = append(ordered, r)
	}
	slices.SortFunc(ordered, func(a, b *v2Row) int { return slices.Compare(a.parts, b.parts) })
	claimed := map[string]int{} // address → the instance that has the bare name
	for _, r := range ordered {
		if r.peer.gauges == nil {
			continue // only index columns: nothing to report
		}
		name := r.peer.addr
		if inst, ok := claimed[name]; ok && inst != r.inst {
			name += "%" + strconv.Itoa(r.inst)
		} else {
			claimed[name] = r.inst
		}
		if p := peers[name]; p != nil && p.gauges != nil {
			if !p.hasPrefixes && r.peer.hasPrefixes {
				p.accepted, p.advertised, p.hasPrefixes = r.peer.accepted, r.peer.advertised, true
			}
			continue
		}
		r.peer.addr = name
		peers[name] = &r.peer
	}
}
