package bgp

import (
	"strconv"
	"strings"

	"github.com/gosnmp/gosnmp"

	"github.com/panoptes-go/panoptes/internal/snmp"
)

// BGP4-MIB and CISCO-BGP4-MIB tables.
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
		p.gauges[gauges[c]], _ = snmp.Uint(&vb)
	case counters[c] != "":
		p.counters[counters[c]], _ = snmp.Uint(&vb)
	case c == asCol:
		as, _ := snmp.Int(&vb)
		p.remoteAS = strconv.FormatInt(as, 10)
	case c == localCol:
		p.local = bgpAddress(vb)
	case c == identCol:
		p.ident = bgpAddress(vb)
	}
}

// bgpAddress renders an IpAddress or an InetAddress octet string.
func bgpAddress(vb snmp.Varbind) string {
	if s, ok := snmp.IPAddress(&vb); ok {
		return s
	}
	if b, ok := snmp.Octets(&vb); ok {
		return formatOctets(b)
	}
	return ""
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
	v, _ := snmp.Uint(&vb)
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
