package lldp

import (
	"encoding/hex"
	"fmt"
	"net/netip"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Names of LLDP's subtypes and capabilities: OpenConfig's identities
// (openconfig-lldp-types), so that a neighbor group reads the same whether
// SNMP or gNMI brought it.
var (
	chassisTypes = map[int]string{1: "CHASSIS_COMPONENT", 2: "INTERFACE_ALIAS", 3: "PORT_COMPONENT",
		4: "MAC_ADDRESS", 5: "NETWORK_ADDRESS", 6: "INTERFACE_NAME", 7: "LOCAL"}
	portTypes = map[int]string{1: "INTERFACE_ALIAS", 2: "PORT_COMPONENT", 3: "MAC_ADDRESS",
		4: "NETWORK_ADDRESS", 5: "INTERFACE_NAME", 6: "AGENT_CIRCUIT_ID", 7: "LOCAL"}
	capabilityNames = []string{"OTHER", "REPEATER", "MAC_BRIDGE", "WLAN_ACCESS_POINT", "ROUTER",
		"TELEPHONE", "DOCSIS_CABLE_DEVICE", "STATION_ONLY", "C_VLAN", "S_VLAN", "TWO_PORT_MAC_RELAY"}
)

// Port and chassis id subtypes the rendering depends on.
const (
	chassisMAC     = 4
	chassisNetwork = 5
	portMAC        = 3
	portNetwork    = 4
	portIfName     = 5
)

// renderChassisID renders a chassis id by its subtype: a MAC address as
// aa:bb:cc:dd:ee:ff, a network address (an IANA address family octet, 1
// IPv4 or 2 IPv6, then the address) as the address, the other subtypes as
// text. An id its subtype cannot hold (a MAC of 5 octets) or that is not
// text is rendered as hex digits, which no well-formed id of those
// subtypes looks like: the topology app reports it as malformed.
func renderChassisID(subtype int, id []byte) string {
	switch subtype {
	case chassisMAC:
		return renderMAC(id)
	case chassisNetwork:
		return renderNetworkAddress(id)
	}
	return renderText(id)
}

// renderPortID renders a port id by its subtype, like renderChassisID.
func renderPortID(subtype int, id []byte) string {
	switch subtype {
	case portMAC:
		return renderMAC(id)
	case portNetwork:
		return renderNetworkAddress(id)
	}
	return renderText(id)
}

func renderMAC(b []byte) string {
	if len(b) != 6 {
		return hex.EncodeToString(b)
	}
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5])
}

func renderNetworkAddress(b []byte) string {
	switch {
	case len(b) == 5 && b[0] == 1:
		return netip.AddrFrom4([4]byte(b[1:])).String()
	case len(b) == 17 && b[0] == 2:
		return netip.AddrFrom16([16]byte(b[1:])).String()
	}
	return hex.EncodeToString(b)
}

// renderText is b as text when it is printable UTF-8 (trailing NULs and
// spaces cut), else its hex digits.
func renderText(b []byte) string {
	s := strings.TrimRight(string(b), "\x00 ")
	if !utf8.ValidString(s) {
		return hex.EncodeToString(b)
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return hex.EncodeToString(b)
		}
	}
	return s
}

// capabilities names the bits set in an LldpSystemCapabilitiesMap (BITS:
// bit 0 is the first octet's most significant bit), comma-separated.
func capabilities(b []byte) string {
	var names []string
	for i, n := range capabilityNames {
		if i/8 < len(b) && b[i/8]&(0x80>>(i%8)) != 0 {
			names = append(names, n)
		}
	}
	return strings.Join(names, ",")
}

// cdpCapabilities names the CDP capability flags (cdpCacheCapabilities:
// four octets, big-endian) with LLDP's names.
func cdpCapabilities(b []byte) string {
	if len(b) != 4 {
		return ""
	}
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	var names []string
	for _, f := range []struct {
		bit  uint32
		name string
	}{{0x40, "REPEATER"}, {0x02 | 0x04 | 0x08, "MAC_BRIDGE"}, {0x01, "ROUTER"}, {0x80, "TELEPHONE"}, {0x10, "STATION_ONLY"}} {
		if v&f.bit != 0 {
			names = append(names, f.name)
		}
	}
	return strings.Join(names, ",")
}

// inetAddress renders the address of an AddressFamilyNumbers subtype (1
// IPv4, 2 IPv6) and its octets; ok is false for other families or sizes.
func inetAddress(family int, b []byte) (string, bool) {
	switch {
	case family == 1 && len(b) == 4:
		return netip.AddrFrom4([4]byte(b)).String(), true
	case family == 2 && len(b) == 16:
		return netip.AddrFrom16([16]byte(b)).String(), true
	}
	return "", false
}

// cdpDeviceName is a CDP device id as a system name: Cisco devices send
// "name(serial)" or "name.domain(serial)" in some releases; the serial is
// cut, the domain kept (the topology app compares names with and without).
func cdpDeviceName(id string) string {
	if i := strings.IndexByte(id, '('); i > 0 && strings.HasSuffix(id, ")") {
		return id[:i]
	}
	return id
}
