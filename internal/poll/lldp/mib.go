package lldp

import (
	"strconv"
	"strings"

	"github.com/gosnmp/gosnmp"

	"github.com/panoptes-go/panoptes/internal/snmp"
)

// mib is one of the two LLDP MIBs: the column numbers of its tables and
// how many index arcs precede a remote entry's own (LLDP-V2-MIB adds the
// destination MAC address table's index).
type mib struct {
	name     string
	root     string // lldpObjects / lldpV2Objects
	remFirst int    // column of ChassisIdSubtype in the remote table
	remIndex int    // index arcs of a remote entry: TimeMark, port[, dest], RemIndex
}

var (
	lldpV1 = mib{name: "LLDP-MIB", root: ".1.0.8802.1.1.2.1", remFirst: 4, remIndex: 3}
	lldpV2 = mib{name: "LLDP-V2-MIB", root: ".1.3.111.2.802.1.1.13.1", remFirst: 5, remIndex: 4}
)

func (m mib) localData() string    { return m.root + ".3" }     // scalars, lldpLocPortTable, lldpLocManAddrTable
func (m mib) remTable() string     { return m.root + ".4.1.1" } // lldpRemEntry
func (m mib) manTable() string     { return m.root + ".4.2.1" } // lldpRemManAddrEntry
func (m mib) locPortEntry() string { return m.root + ".3.7.1" }

// Remote table columns, relative to remFirst.
const (
	remChassisSubtype = iota
	remChassisID
	remPortSubtype
	remPortID
	remPortDesc
	remSysName
	remSysDesc
	remCapSupported
	remCapEnabled
)

// CISCO-CDP-MIB cdpCacheEntry and its columns.
const (
	oidCDPCacheEntry = ".1.3.6.1.4.1.9.9.23.1.2.1.1"

	cdpAddressType     = 3
	cdpAddress         = 4
	cdpDeviceID        = 6
	cdpDevicePort      = 7
	cdpPlatform        = 8
	cdpCaps            = 9
	cdpSysName         = 17
	cdpPrimaryAddrType = 19
	cdpPrimaryAddr     = 20
)

// IF-MIB ifName and ifDescr: CDP names local ports by ifIndex.
const (
	oidIfName  = ".1.3.6.1.2.1.31.1.1.1.1"
	oidIfDescr = ".1.3.6.1.2.1.2.2.1.2"
)

// localSystem is what a device says about itself in lldpLocalSystemData.
type localSystem struct {
	chassisSubtype int
	chassisID      []byte
	sysName        string
	ports          map[int]*localPort // by lldpLocPortNum (V2: ifIndex)
}

type localPort struct {
	num         int
	subtype     int
	id          []byte
	description string
}

// name is the port's name as the neighbour tables report it: the port id
// when it is an interface name, else its description, else the rendered
// id, else "port N". Both ends of a link apply the same rule to the same
// advertisement, so a remote port's name matches the local name its own
// device reports.
func (p *localPort) name() string {
	return portName(p.subtype, p.id, p.description, p.num)
}

func portName(subtype int, id []byte, description string, num int) string {
	switch {
	case subtype == portIfName && len(id) > 0:
		return renderText(id)
	case strings.TrimSpace(description) != "":
		return description
	case len(id) > 0:
		return renderPortID(subtype, id)
	}
	return "port " + strconv.Itoa(num)
}

// remote is one neighbour of a local port, from LLDP or CDP.
type remote struct {
	protocol       string // "lldp" or "cdp"
	port           int    // local port number (LLDP) or ifIndex (CDP)
	index          string // lldpRemIndex, cdpCacheDeviceIndex
	chassisSubtype int
	chassisID      []byte
	portSubtype    int
	portID         []byte
	portDesc       string
	sysName        string
	capabilities   string
	addresses      []string // management addresses, IPv4 first
}

// cell is a varbind of a table walk: its column and index arcs.
type cell struct {
	col int
	idx []int
	vb  *snmp.Varbind
}

// cells splits the varbinds under entry into columns and index arcs,
// skipping exceptions and malformed names.
func cells(vbs []snmp.Varbind, entry string) []cell {
	out := make([]cell, 0, len(vbs))
	prefix := strings.TrimPrefix(entry, ".") + "."
	for i := range vbs {
		vb := &vbs[i]
		if vb.Type == gosnmp.NoSuchObject || vb.Type == gosnmp.NoSuchInstance || vb.Type == gosnmp.EndOfMibView {
			continue
		}
		rest, ok := strings.CutPrefix(strings.TrimPrefix(vb.Name, "."), prefix)
		if !ok {
			continue
		}
		arcs := snmp.IndexInts(rest)
		if len(arcs) < 2 {
			continue
		}
		out = append(out, cell{col: arcs[0], idx: arcs[1:], vb: vb})
	}
	return out
}

func octets(vb *snmp.Varbind) []byte {
	b, _ := snmp.Octets(vb)
	return append([]byte(nil), b...)
}

func text(vb *snmp.Varbind) string {
	s, _ := snmp.Text(vb)
	return s
}

func integer(vb *snmp.Varbind) int {
	v, _ := snmp.Int(vb)
	return int(v)
}

// parseLocal reads lldpLocalSystemData (a walk of m.localData()).
func parseLocal(m mib, vbs []snmp.Varbind) *localSystem {
	ls := &localSystem{ports: map[int]*localPort{}}
	scalar := strings.TrimPrefix(m.localData(), ".") + "."
	for i := range vbs {
		vb := &vbs[i]
		switch strings.TrimPrefix(vb.Name, ".") {
		case scalar + "1.0":
			ls.chassisSubtype = integer(vb)
		case scalar + "2.0":
			ls.chassisID = octets(vb)
		case scalar + "3.0":
			ls.sysName = text(vb)
		}
	}
	for _, c := range cells(vbs, m.locPortEntry()) {
		if len(c.idx) != 1 {
			continue
		}
		p := ls.ports[c.idx[0]]
		if p == nil {
			p = &localPort{num: c.idx[0]}
			ls.ports[c.idx[0]] = p
		}
		switch c.col {
		case 2:
			p.subtype = integer(c.vb)
		case 3:
			p.id = octets(c.vb)
		case 4:
			p.description = text(c.vb)
		}
	}
	return ls
}

// parseRemotes reads lldpRemTable and lldpRemManAddrTable into remotes in
// table order.
func parseRemotes(m mib, rem, man []snmp.Varbind) []*remote {
	byKey := map[string]*remote{}
	var order []*remote
	key := func(idx []int) string { // the index without TimeMark
		var b strings.Builder
		for _, a := range idx[1:] {
			b.WriteString(strconv.Itoa(a))
			b.WriteByte('.')
		}
		return b.String()
	}
	for _, c := range cells(rem, m.remTable()) {
		if len(c.idx) != m.remIndex {
			continue
		}
		k := key(c.idx)
		r := byKey[k]
		if r == nil {
			r = &remote{protocol: "lldp", port: c.idx[1], index: strconv.Itoa(c.idx[len(c.idx)-1])}
			byKey[k] = r
			order = append(order, r)
		}
		switch c.col - m.remFirst {
		case remChassisSubtype:
			r.chassisSubtype = integer(c.vb)
		case remChassisID:
			r.chassisID = octets(c.vb)
		case remPortSubtype:
			r.portSubtype = integer(c.vb)
		case remPortID:
			r.portID = octets(c.vb)
		case remPortDesc:
			r.portDesc = text(c.vb)
		case remSysName:
			r.sysName = text(c.vb)
		case remCapEnabled:
			b, _ := snmp.Octets(c.vb)
			r.capabilities = capabilities(b)
		}
	}
	// lldpRemManAddrEntry: remote entry index, then AddrSubtype, and the
	// address as a length-prefixed octet string.
	seen := map[string]bool{}
	for _, c := range cells(man, m.manTable()) {
		if len(c.idx) < m.remIndex+2 {
			continue
		}
		r := byKey[key(c.idx[:m.remIndex])]
		rest := c.idx[m.remIndex:]
		if r == nil || len(rest) < 2 || rest[1] != len(rest)-2 {
			continue
		}
		b := make([]byte, len(rest)-2)
		for i, a := range rest[2:] {
			if a > 255 {
				b = nil
				break
			}
			b[i] = byte(a)
		}
		addr, ok := inetAddress(rest[0], b)
		if !ok || seen[key(c.idx[:m.remIndex])+addr] {
			continue
		}
		seen[key(c.idx[:m.remIndex])+addr] = true
		if rest[0] == 1 {
			r.addresses = append([]string{addr}, r.addresses...)
		} else {
			r.addresses = append(r.addresses, addr)
		}
	}
	return order
}

// parseCDP reads cdpCacheTable into remotes in table order.
func parseCDP(vbs []snmp.Varbind) []*remote {
	byKey := map[[2]int]*remote{}
	var order []*remote
	type addr struct {
		family int
		b      []byte
	}
	cache, primary := map[*remote]*addr{}, map[*remote]*addr{}
	for _, c := range cells(vbs, oidCDPCacheEntry) {
		if len(c.idx) != 2 {
			continue
		}
		k := [2]int{c.idx[0], c.idx[1]}
		r := byKey[k]
		if r == nil {
			r = &remote{protocol: "cdp", port: c.idx[0], index: strconv.Itoa(c.idx[1])}
			byKey[k] = r
			order = append(order, r)
			cache[r], primary[r] = &addr{}, &addr{}
		}
		switch c.col {
		case cdpAddressType:
			cache[r].family = integer(c.vb)
		case cdpAddress:
			cache[r].b = octets(c.vb)
		case cdpPrimaryAddrType:
			primary[r].family = integer(c.vb)
		case cdpPrimaryAddr:
			primary[r].b = octets(c.vb)
		case cdpDeviceID:
			if r.sysName == "" {
				r.sysName = cdpDeviceName(text(c.vb))
			}
		case cdpSysName:
			if s := text(c.vb); s != "" {
				r.sysName = s
			}
		case cdpDevicePort:
			r.portID, r.portSubtype = octets(c.vb), portIfName
		case cdpCaps:
			b, _ := snmp.Octets(c.vb)
			r.capabilities = cdpCapabilities(b)
		}
	}
	for _, r := range order {
		// CiscoNetworkProtocol ip(1) and ipv6(20) hold the address octets.
		for _, a := range []*addr{primary[r], cache[r]} {
			fam := map[int]int{1: 1, 20: 2}[a.family]
			if s, ok := inetAddress(fam, a.b); ok {
				r.addresses = append(r.addresses, s)
				break
			}
		}
	}
	return order
}
