package sim

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"
)

// The simulated network (Options.Topology): the farm's devices cabled
// together, a deterministic function of the device list (templates in
// order), so a test knows the ground truth from the farm alone:
//
//   - Core devices (100 or more usable ports: router400) form a ring
//     (two cores: one link).
//   - Every other device is an access device with two uplinks, to core
//     j mod C and (j+1) mod C (one uplink when there is one core); with no
//     core the access devices form a tree, device j under device (j-1)/2.
//   - Every third access device has an IP phone on an access port and the
//     first core a transit router: neighbours outside the farm (candidates
//     for discovery).
//   - Cores run eBGP over their ring links (10.255.0.0/16 /31s) and to the
//     transit router (203.0.113.0/24).
//
// A usable port is an up physical Ethernet port that is not a management
// port (fxp*, em*, me*, mgmt*). Uplinks and tree links take an access
// device's last usable ports, phones its first; cores allocate from their
// first port on. A link a device has no port left for is left out.
//
// Devices answer LLDP-MIB (Cisco and other vendors: lldpLoc*, lldpRem*,
// lldpRemManAddrTable), or LLDP-V2-MIB (Juniper), and Cisco devices also
// CISCO-CDP-MIB's cdpCacheTable for Cisco neighbours and phones; cores
// answer BGP4-MIB bgpPeerTable. All of it lives in each device's overlay
// (overlay.go), rebuilt when SetInterface or SetBGPSession changes the
// network.

// Network is the simulated network at one moment: the ground truth a
// topology or event test compares with.
type Network struct {
	Links    []Link              `json:"links"`
	External []ExternalNeighbor  `json:"external"`
	Sessions []BGPSession        `json:"bgp_sessions"`
	Chassis  map[string]string   `json:"chassis"` // device name → chassis id as the LLDP plugin renders it
	Down     map[string][]string `json:"interfaces_down"`
}

// Port is one end of a link: the device and the local port name the LLDP
// plugin reports for it (the interface's ifName).
type Port struct {
	Device  string `json:"device"`
	Port    string `json:"port"`
	IfIndex uint32 `json:"if_index"`
}

// Link is a cable between two farm devices; Up is false while either
// port is down (SetInterface), when neither end sees the other.
type Link struct {
	ID int  `json:"id"`
	A  Port `json:"a"`
	B  Port `json:"b"`
	Up bool `json:"up"`
}

// ExternalNeighbor is a neighbour outside the farm seen on Port.
type ExternalNeighbor struct {
	Port      Port   `json:"port"`
	SysName   string `json:"sys_name"`
	ChassisID string `json:"chassis_id"`
	Address   string `json:"address"`
	Kind      string `json:"kind"` // "phone", "transit"
}

// BGPSession is one BGP peer of a device. State is the BGP4-MIB state name
// (idle, connect, active, opensent, openconfirm, established): what was
// set, or active while the session's link is down.
type BGPSession struct {
	Device      string `json:"device"`
	Peer        string `json:"peer_address"`
	Local       string `json:"local_address"`
	RemoteAS    int    `json:"remote_as"`
	State       string `json:"state"`
	Transitions int    `json:"established_transitions"`
	Link        int    `json:"link"` // -1: a peer outside the farm
}

// BGPStates are the BGP4-MIB bgpPeerState names, 1-based.
var BGPStates = []string{"idle", "connect", "active", "opensent", "openconfirm", "established"}

// network is the farm's mutable network state.
type network struct {
	mu       sync.Mutex
	devs     []*netDevice
	byName   map[string]*netDevice
	links    []*netLink
	external []*netExternal
	sessions []*netSession
}

// netDevice is what the network knows of one farm device.
type netDevice struct {
	d        *Device
	core     bool
	style    lldpStyle
	chassis  chassisID
	mgmt     netip.Addr
	sysDescr string
	ports    []*netPort // physical Ethernet ports (lldpLocPortTable), ifIndex order
	byName   map[string]*netPort
	free     []*netPort // usable ports not yet cabled
	localAS  int
}

type netPort struct {
	ifIndex     uint32
	name, descr string
	adminDown   bool          // SetInterface(false)
	link        *netLink      // nil: not cabled to a farm device
	ext         *netExternal  // a neighbour outside the farm
	sessions    []*netSession // BGP sessions over the link
}

type netLink struct {
	id   int
	a, b *netDevice
	pa   *netPort
	pb   *netPort
}

func (l *netLink) up() bool { return !l.pa.adminDown && !l.pb.adminDown }

type netExternal struct {
	dev     *netDevice
	port    *netPort
	ident   remoteIdent
	address netip.Addr
	kind    string
}

type netSession struct {
	dev         *netDevice
	peer, local netip.Addr
	remoteAS    int
	link        *netLink // nil: external peer
	state       int      // set state, 1-6
	transitions int
	since       time.Time // last change to established
}

// state is the session's state: active while its link is down.
func (s *netSession) effective() int {
	if s.link != nil && !s.link.up() {
		return 3
	}
	return s.state
}

// lldpStyle is how a device presents LLDP: which MIB, port ids, CDP.
type lldpStyle struct {
	v2         bool // LLDP-V2-MIB instead of LLDP-MIB
	portLocal  bool // port id subtype local(7) = ifIndex, description = ifName; else interfaceName(5) = ifName
	cdp        bool
	caps       uint16 // LLDP capability bits, enabled = supported
	cdpCaps    uint32
	platform   string
	vendorName string
}

// chassisID is a device's LLDP chassis id: subtype and octets.
type chassisID struct {
	subtype int
	id      []byte
}

// remoteIdent is what a neighbour advertises about itself and its port.
type remoteIdent struct {
	chassis     chassisID
	sysName     string
	sysDescr    string
	portSubtype int
	portID      []byte
	portDescr   string
	caps        uint16
	cdpCaps     uint32
	cdpPort     string // CDP's port id: the interface's full name
	platform    string
	address     netip.Addr
	cdp         bool // speaks CDP
}

// LLDP capability bits (LldpSystemCapabilitiesMap: bit 0 is the first
// octet's most significant bit) and CDP capability flags.
const (
	capBridge    = 1 << (15 - 2)
	capRouter    = 1 << (15 - 4)
	capTelephone = 1 << (15 - 5)
	cdpRouter    = 0x01
	cdpSwitch    = 0x08
	cdpHost      = 0x10
	cdpIGMP      = 0x20
	cdpPhone     = 0x80
)

// newNetwork cables the farm's devices (see the top of this file).
func newNetwork(devs []*Device, now time.Time) *network {
	n := &network{byName: map[string]*netDevice{}}
	for _, d := range devs {
		nd := newNetDevice(d, now)
		n.devs = append(n.devs, nd)
		n.byName[d.Name] = nd
	}
	var cores, access []*netDevice
	for _, nd := range n.devs {
		if nd.core {
			cores = append(cores, nd)
		} else {
			access = append(access, nd)
		}
	}
	nc := len(cores)
	for k := 0; nc >= 2 && k < nc; k++ {
		if nc == 2 && k == 1 {
			break
		}
		n.cable(cores[k], cores[(k+1)%nc], false, false)
	}
	for j, a := range access {
		switch {
		case nc == 0 && j > 0:
			n.cable(a, access[(j-1)/2], true, true)
		case nc == 1:
			n.cable(a, cores[0], true, false)
		case nc >= 2:
			n.cable(a, cores[j%nc], true, false)
			n.cable(a, cores[(j+1)%nc], true, false)
		}
	}
	for j, a := range access {
		if j%3 == 0 {
			n.addPhone(a, j)
		}
	}
	if nc > 0 {
		n.addTransit(cores[0], now)
	}
	for i, l := range n.links {
		if l.a.core && l.b.core {
			n.peer(l, i, now)
		}
	}
	return n
}

func newNetDevice(d *Device, now time.Time) *netDevice {
	nd := &netDevice{d: d, byName: map[string]*netPort{}, sysDescr: d.rec.sysDescr()}
	var usable []*netPort
	for _, f := range d.Interfaces(now) {
		if !physical(f.Type) {
			continue
		}
		p := &netPort{ifIndex: f.Index, name: f.Name, descr: f.Descr}
		nd.ports = append(nd.ports, p)
		nd.byName[p.name] = p
		if f.OperStatus == 1 && f.AdminStatus == 1 && !managementPort(f.Name) {
			usable = append(usable, p)
		}
	}
	nd.free = usable
	nd.core = len(usable) >= 100
	i := uint32(d.Index) + 1
	nd.mgmt, _ = netip.ParseAddr(d.Host)
	switch d.Index % 7 {
	case 3: // a network address: the device's router id
		nd.chassis = chassisID{subtype: 5, id: []byte{1, 10, 254, byte(i >> 8), byte(i)}}
	case 5:
		nd.chassis = chassisID{subtype: 7, id: []byte(d.Name)}
	default:
		nd.chassis = chassisID{subtype: 4, id: []byte{0x02, 0x00, byte(i >> 16), byte(i >> 8), byte(i), 0x00}}
	}
	nd.style.caps = capBridge
	nd.style.cdpCaps = cdpSwitch | cdpIGMP
	if nd.core {
		nd.style.caps |= capRouter
		nd.style.cdpCaps |= cdpRouter
		nd.localAS = 65000 + d.Index
	}
	nd.style.vendorName = d.rec.Vendor()
	nd.style.platform = d.rec.Model()
	switch nd.style.vendorName {
	case "cisco":
		nd.style.cdp = true
		nd.style.platform = "cisco " + nd.style.platform
	case "juniper":
		nd.style.v2, nd.style.portLocal = true, true
	}
	return nd
}

// physical reports whether an IANAifType is an Ethernet port.
func physical(t uint64) bool { return t == 6 || t == 62 || t == 69 || t == 117 }

func managementPort(name string) bool {
	for _, p := range []string{"fxp", "em", "me", "mgmt", "Management", "Fa0"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// take allocates a free port: the last one for an uplink, else the first.
func (nd *netDevice) take(last bool) *netPort {
	if len(nd.free) == 0 {
		return nil
	}
	var p *netPort
	if last {
		p, nd.free = nd.free[len(nd.free)-1], nd.free[:len(nd.free)-1]
	} else {
		p, nd.free = nd.free[0], nd.free[1:]
	}
	return p
}

// cable links a (port taken from its end when aLast) to b.
func (n *network) cable(a, b *netDevice, aLast, bLast bool) {
	if len(a.free) == 0 || len(b.free) == 0 {
		return
	}
	l := &netLink{id: len(n.links), a: a, b: b, pa: a.take(aLast), pb: b.take(bLast)}
	l.pa.link, l.pb.link = l, l
	n.links = append(n.links, l)
}

func (n *network) addPhone(a *netDevice, j int) {
	p := a.take(false)
	if p == nil {
		return
	}
	mac := []byte{0x00, 0x1b, 0x54, byte(j >> 16), byte(j >> 8), byte(j)}
	name := fmt.Sprintf("SEP%X", mac)
	addr := netip.AddrFrom4([4]byte{10, 200, byte(j >> 8), byte(j)})
	e := &netExternal{dev: a, port: p, address: addr, kind: "phone", ident: remoteIdent{
		chassis: chassisID{subtype: 4, id: mac}, sysName: name, sysDescr: "Cisco IP Phone 8845, SIP 14-2-1",
		portSubtype: 7, portID: []byte("Port 1"), portDescr: "SW PORT", caps: capBridge | capTelephone,
		cdpCaps: cdpHost | cdpPhone, cdpPort: "Port 1", platform: "Cisco IP Phone 8845", address: addr, cdp: true,
	}}
	p.ext = e
	n.external = append(n.external, e)
}

func (n *network) addTransit(c *netDevice, now time.Time) {
	p := c.take(false)
	if p == nil {
		return
	}
	addr := netip.MustParseAddr("198.51.100.1")
	e := &netExternal{dev: c, port: p, address: addr, kind: "transit", ident: remoteIdent{
		chassis: chassisID{subtype: 4, id: []byte{0x00, 0x05, 0x86, 0x71, 0x0a, 0x01}}, sysName: "transit1.isp.example.net",
		sysDescr: "Juniper Networks, Inc. mx204 internet router", portSubtype: 5, portID: []byte("et-0/0/1"),
		portDescr: "to customer", caps: capBridge | capRouter, address: addr,
	}}
	p.ext = e
	n.external = append(n.external, e)
	s := &netSession{dev: c, peer: netip.MustParseAddr("203.0.113.1"), local: netip.MustParseAddr("203.0.113.2"),
		remoteAS: 64496, state: 6, transitions: 1, since: now}
	n.sessions = append(n.sessions, s)
}

// peer adds the eBGP sessions of core link l (index i): a /31 each.
func (n *network) peer(l *netLink, i int, now time.Time) {
	a := netip.AddrFrom4([4]byte{10, 255, byte(i >> 7), byte(i&127) * 2})
	b := a.Next()
	sa := &netSession{dev: l.a, peer: b, local: a, remoteAS: l.b.localAS, link: l, state: 6, transitions: 1, since: now}
	sb := &netSession{dev: l.b, peer: a, local: b, remoteAS: l.a.localAS, link: l, state: 6, transitions: 1, since: now}
	l.pa.sessions = append(l.pa.sessions, sa)
	l.pb.sessions = append(l.pb.sessions, sb)
	n.sessions = append(n.sessions, sa, sb)
}

// ident is what nd advertises about itself from port p.
func (nd *netDevice) ident(p *netPort) remoteIdent {
	r := remoteIdent{chassis: nd.chassis, sysName: nd.d.Name, sysDescr: nd.sysDescr, caps: nd.style.caps,
		cdpCaps: nd.style.cdpCaps, cdpPort: p.descr, platform: nd.style.platform, address: nd.mgmt, cdp: nd.style.cdp}
	if nd.style.portLocal {
		r.portSubtype, r.portID, r.portDescr = 7, []byte(fmt.Sprint(p.ifIndex)), p.name
	} else {
		r.portSubtype, r.portID, r.portDescr = 5, []byte(p.name), p.descr
	}
	return r
}

// neighbor is one row of a device's neighbour tables.
type neighbor struct {
	port *netPort
	r    remoteIdent
}

// neighbors are nd's neighbours now: the far ends of its up links and
// the external neighbours of its up ports, in port order.
func (nd *netDevice) neighbors() []neighbor {
	var out []neighbor
	for _, p := range nd.ports {
		switch {
		case p.link != nil && p.link.up():
			far, fp := p.link.b, p.link.pb
			if p.link.pb == p {
				far, fp = p.link.a, p.link.pa
			}
			out = append(out, neighbor{port: p, r: far.ident(fp)})
		case p.ext != nil && !p.adminDown:
			out = append(out, neighbor{port: p, r: p.ext.ident})
		}
	}
	return out
}

// snapshot is the network as a Network.
func (n *network) snapshot() Network {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := Network{Chassis: map[string]string{}, Down: map[string][]string{}}
	for _, l := range n.links {
		out.Links = append(out.Links, Link{ID: l.id, Up: l.up(),
			A: Port{Device: l.a.d.Name, Port: l.pa.name, IfIndex: l.pa.ifIndex},
			B: Port{Device: l.b.d.Name, Port: l.pb.name, IfIndex: l.pb.ifIndex}})
	}
	for _, e := range n.external {
		out.External = append(out.External, ExternalNeighbor{
			Port:    Port{Device: e.dev.d.Name, Port: e.port.name, IfIndex: e.port.ifIndex},
			SysName: e.ident.sysName, ChassisID: RenderChassisID(e.ident.chassis.subtype, e.ident.chassis.id),
			Address: e.address.String(), Kind: e.kind})
	}
	for _, s := range n.sessions {
		link := -1
		if s.link != nil {
			link = s.link.id
		}
		out.Sessions = append(out.Sessions, BGPSession{Device: s.dev.d.Name, Peer: s.peer.String(), Local: s.local.String(),
			RemoteAS: s.remoteAS, State: BGPStates[s.effective()-1], Transitions: s.transitions, Link: link})
	}
	for _, nd := range n.devs {
		out.Chassis[nd.d.Name] = RenderChassisID(nd.chassis.subtype, nd.chassis.id)
		for _, p := range nd.ports {
			if p.adminDown {
				out.Down[nd.d.Name] = append(out.Down[nd.d.Name], p.name)
			}
		}
	}
	return out
}

// RenderChassisID renders an LLDP chassis id as the lldp polling plugin
// does: a MAC address as aa:bb:cc:dd:ee:ff, a network address (IANA family
// octet and address) as the address, any other subtype as its text.
func RenderChassisID(subtype int, id []byte) string {
	switch {
	case subtype == 4 && len(id) == 6:
		return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", id[0], id[1], id[2], id[3], id[4], id[5])
	case subtype == 5 && len(id) == 5 && id[0] == 1:
		return netip.AddrFrom4([4]byte(id[1:])).String()
	case subtype == 5 && len(id) == 17 && id[0] == 2:
		return netip.AddrFrom16([16]byte(id[1:])).String()
	}
	return string(id)
}

// Network returns the simulated network's current state; ok is false when
// the farm was started without Options.Topology.
func (f *Farm) Network() (Network, bool) {
	if f.net == nil {
		return Network{}, false
	}
	return f.net.snapshot(), true
}

// ErrNoTopology is returned by the network controls of a farm started
// without Options.Topology.
var ErrNoTopology = fmt.Errorf("the farm has no simulated network (start it with Topology, or panoptes sim --topology)")

// SetInterface takes a physical port of a device down (admin and oper
// status down) or brings it back up. A cabled port takes its link down
// with it: the far end's port goes oper down too, both ends lose the
// other from their LLDP and CDP tables, and BGP sessions over the link go
// to active until it is back.
func (f *Farm) SetInterface(device, port string, up bool) error {
	n := f.net
	if n == nil {
		return ErrNoTopology
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	nd, ok := n.byName[device]
	if !ok {
		return fmt.Errorf("no device %q", device)
	}
	p, ok := nd.byName[port]
	if !ok {
		names := make([]string, 0, len(nd.ports))
		for _, p := range nd.ports {
			names = append(names, p.name)
		}
		return fmt.Errorf("device %s has no physical port %q (ports: %s)", device, port, strings.Join(names, ", "))
	}
	if p.adminDown == !up {
		return nil
	}
	p.adminDown = !up
	now := f.now()
	if p.link != nil {
		for _, s := range n.linkSessions(p.link) {
			if s.state == 6 && p.link.up() {
				s.transitions++
				s.since = now
			}
		}
		n.rebuild(p.link.a, now)
		n.rebuild(p.link.b, now)
		return nil
	}
	n.rebuild(nd, now)
	return nil
}

func (n *network) linkSessions(l *netLink) []*netSession {
	return append(slices.Clone(l.pa.sessions), l.pb.sessions...)
}

// SetBGPSession sets the state of a device's BGP session with peer (one of
// BGPStates, or its number 1-6). Entering established counts a transition
// (bgpPeerFsmEstablishedTransitions) and restarts the established time.
// While the session's link is down the device reports active whatever
// was set.
func (f *Farm) SetBGPSession(device, peer, state string) error {
	n := f.net
	if n == nil {
		return ErrNoTopology
	}
	st := slices.Index(BGPStates, strings.ToLower(state)) + 1
	if st == 0 {
		if _, err := fmt.Sscan(state, &st); err != nil || st < 1 || st > 6 {
			return fmt.Errorf("BGP state %q: want one of %s (or 1-6)", state, strings.Join(BGPStates, ", "))
		}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	nd, ok := n.byName[device]
	if !ok {
		return fmt.Errorf("no device %q", device)
	}
	var peers []string
	for _, s := range n.sessions {
		if s.dev != nd {
			continue
		}
		if s.peer.String() != peer {
			peers = append(peers, s.peer.String())
			continue
		}
		if s.state != st {
			now := f.now()
			if st == 6 && s.effective() != 6 {
				s.transitions++
				s.since = now
			}
			s.state = st
			n.rebuild(nd, now)
		}
		return nil
	}
	if len(peers) == 0 {
		return fmt.Errorf("device %s has no BGP sessions", device)
	}
	return fmt.Errorf("device %s has no BGP session with %q (peers: %s)", device, peer, strings.Join(peers, ", "))
}
