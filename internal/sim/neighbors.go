package sim

import (
	"time"

	"github.com/panoptes-go/panoptes/internal/ber"
)

// MIB roots of the objects a device's overlay holds.
var (
	oidLLDPv1     = []uint32{1, 0, 8802, 1, 1, 2, 1}         // LLDP-MIB lldpObjects
	oidLLDPv2     = []uint32{1, 3, 111, 2, 802, 1, 1, 13, 1} // LLDP-V2-MIB lldpV2Objects
	oidCDPCache   = []uint32{1, 3, 6, 1, 4, 1, 9, 9, 23, 1, 2, 1, 1}
	oidBGPLocalAS = []uint32{1, 3, 6, 1, 2, 1, 15, 2, 0}
	oidBGPPeer    = []uint32{1, 3, 6, 1, 2, 1, 15, 3, 1}
	oidSysDescr   = []uint32{1, 3, 6, 1, 2, 1, 1, 1, 0}
)

// sysDescr is the recording's sysDescr.0 ("" when absent).
func (r *Recording) sysDescr() string {
	i := r.exact(oidSysDescr)
	if i < 0 || r.entries[i].tag != ber.TagOctetString {
		return ""
	}
	v := r.valueTLV(&r.entries[i])
	_, s, e, ok := ber.ReadTLV(v, 0)
	if !ok {
		return ""
	}
	return string(v[s:e])
}

// rebuild replaces nd's overlay with its objects for the network now.
// Called with n.mu held.
func (n *network) rebuild(nd *netDevice, now time.Time) {
	s := newSynth(nd.d.Name + "/network")
	s.b.source = "network"
	nbrs := nd.neighbors()
	nd.lldp(s, nbrs)
	if nd.style.cdp {
		nd.cdp(s, nbrs)
	}
	n.bgp(s, nd, now)
	for _, p := range nd.ports {
		switch {
		case p.adminDown:
			s.integer(2, cat(oidIfEntry, 7, p.ifIndex)...)
			s.integer(2, cat(oidIfEntry, 8, p.ifIndex)...)
		case p.link != nil && !p.link.up():
			s.integer(2, cat(oidIfEntry, 8, p.ifIndex)...) // the far end is down
		}
	}
	if len(s.b.recs) == 0 {
		nd.d.over.Store(nil)
		return
	}
	r, err := s.b.freeze()
	if err != nil {
		panic("sim: overlay of " + nd.d.Name + ": " + err.Error())
	}
	transitions := cat(oidBGPPeer, 15)
	for i := range r.entries {
		if ber.HasPrefix(r.oidArcs(&r.entries[i]), transitions) {
			r.entries[i].class = classStatic // counts what SetBGPSession did, not time
		}
	}
	nd.d.over.Store(r)
}

func capBits(c uint16) []byte { return []byte{byte(c >> 8), byte(c)} }

// rowID identifies a neighbour's row: stable while the neighbour is there
// (lldpRemIndex, cdpCacheDeviceIndex).
func (nb *neighbor) rowID() uint32 {
	if nb.port.link != nil {
		return uint32(nb.port.link.id) + 1
	}
	return 10000 + nb.port.ifIndex
}

// lldp writes the LLDP-MIB (or LLDP-V2-MIB) local and remote tables.
func (nd *netDevice) lldp(s *synth, nbrs []neighbor) {
	root := oidLLDPv1
	if nd.style.v2 {
		root = oidLLDPv2
	}
	loc := cat(root, 3)
	s.integer(int64(nd.chassis.subtype), cat(loc, 1, 0)...)
	s.octets(nd.chassis.id, cat(loc, 2, 0)...)
	s.str(nd.d.Name, cat(loc, 3, 0)...)
	s.str(nd.sysDescr, cat(loc, 4, 0)...)
	s.octets(capBits(nd.style.caps), cat(loc, 5, 0)...)
	s.octets(capBits(nd.style.caps), cat(loc, 6, 0)...)
	for _, p := range nd.ports {
		id := nd.ident(p)
		s.integer(int64(id.portSubtype), cat(loc, 7, 1, 2, p.ifIndex)...)
		s.octets(id.portID, cat(loc, 7, 1, 3, p.ifIndex)...)
		s.str(id.portDescr, cat(loc, 7, 1, 4, p.ifIndex)...)
	}
	rem, man := cat(root, 4, 1, 1), cat(root, 4, 2, 1)
	for i := range nbrs {
		nb := &nbrs[i]
		r := &nb.r
		// index: TimeMark 0, local port (ifIndex), [V2: destination 1,] remote index
		idx := []uint32{0, nb.port.ifIndex, nb.rowID()}
		first := uint32(4) // first column after the index columns
		if nd.style.v2 {
			idx = []uint32{0, nb.port.ifIndex, 1, nb.rowID()}
			first = 5
		}
		col := func(c uint32) []uint32 { return cat(cat(rem, first+c), idx...) }
		s.integer(int64(r.chassis.subtype), col(0)...)
		s.octets(r.chassis.id, col(1)...)
		s.integer(int64(r.portSubtype), col(2)...)
		s.octets(r.portID, col(3)...)
		s.str(r.portDescr, col(4)...)
		s.str(r.sysName, col(5)...)
		s.str(r.sysDescr, col(6)...)
		s.octets(capBits(r.caps), col(7)...)
		s.octets(capBits(r.caps), col(8)...)
		if r.address.Is4() {
			a := r.address.As4()
			mi := append(append(append([]uint32(nil), idx...), 1, 4), uint32(a[0]), uint32(a[1]), uint32(a[2]), uint32(a[3]))
			s.integer(2, cat(cat(man, 3), mi...)...) // lldpRemManAddrIfSubtype ifIndex
			s.integer(0, cat(cat(man, 4), mi...)...)
			s.oid([]uint32{0, 0}, cat(cat(man, 5), mi...)...)
		}
	}
}

// cdp writes cdpCacheTable rows for the neighbours that speak CDP.
func (nd *netDevice) cdp(s *synth, nbrs []neighbor) {
	for i := range nbrs {
		nb := &nbrs[i]
		r := &nb.r
		if !r.cdp {
			continue
		}
		col := func(c uint32) []uint32 { return cat(oidCDPCache, c, nb.port.ifIndex, nb.rowID()) }
		if r.address.Is4() {
			a := r.address.As4()
			s.integer(1, col(3)...) // ip
			s.octets(a[:], col(4)...)
		}
		s.str(r.sysDescr, col(5)...)
		s.str(r.sysName, col(6)...)
		s.str(r.cdpPort, col(7)...)
		s.str(r.platform, col(8)...)
		c := r.cdpCaps
		s.octets([]byte{byte(c >> 24), byte(c >> 16), byte(c >> 8), byte(c)}, col(9)...)
	}
}

// bgp writes BGP4-MIB bgpLocalAs and the bgpPeerTable rows of nd's
// sessions.
func (n *network) bgp(s *synth, nd *netDevice, now time.Time) {
	any := false
	for _, ss := range n.sessions {
		if ss.dev != nd {
			continue
		}
		any = true
		p := ss.peer.As4()
		l := ss.local.As4()
		col := func(c uint32) []uint32 {
			return cat(oidBGPPeer, c, uint32(p[0]), uint32(p[1]), uint32(p[2]), uint32(p[3]))
		}
		st := ss.effective()
		admin := int64(2) // start
		if ss.state == 1 {
			admin = 1 // an idle session is one an operator stopped
		}
		s.put(ber.TagIPAddress, p[:], col(1)...)
		s.integer(int64(st), col(2)...)
		s.integer(admin, col(3)...)
		s.integer(4, col(4)...)
		s.put(ber.TagIPAddress, l[:], col(5)...)
		s.integer(179, col(6)...)
		s.put(ber.TagIPAddress, p[:], col(7)...)
		s.integer(int64(ss.remoteAS), col(9)...)
		s.unsigned(ber.TagCounter32, 1000, col(10)...)
		s.unsigned(ber.TagCounter32, 500, col(11)...)
		s.unsigned(ber.TagCounter32, 5000, col(12)...)
		s.unsigned(ber.TagCounter32, 4000, col(13)...)
		s.unsigned(ber.TagCounter32, uint64(ss.transitions), col(15)...)
		var est uint64
		if st == 6 {
			est = uint64(max(now.Sub(ss.since), 0) / time.Second)
		}
		s.unsigned(ber.TagGauge32, est, col(16)...)
	}
	if any {
		s.integer(int64(nd.localAS), oidBGPLocalAS...)
	}
}
