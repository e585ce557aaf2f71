package bgp

import (
	"fmt"
	"strings"

	"github.com/panoptes-go/panoptes/internal/snmp"
)

// InetAddressType values (INET-ADDRESS-MIB) and their address sizes:
// ipv4z and ipv6z carry a 4-octet zone index after the address.
var inetAddrSize = map[int]int{1: 4, 2: 16, 3: 8, 4: 20}

// typedAddress decodes an InetAddressType.InetAddress pair at the start of
// parts: with a length sub-identifier (the SMI rule for a variable-length
// index) when withLen, else with the length the type implies (Junos'
// jnxBgpM2PeerTable). It returns the address and how many parts it used.
func typedAddress(parts []int, withLen bool) (string, int, bool) {
	if len(parts) < 1 {
		return "", 0, false
	}
	size, ok := inetAddrSize[parts[0]]
	if !ok {
		return "", 0, false
	}
	at := 1
	if withLen {
		if len(parts) < 2 || parts[1] != size {
			return "", 0, false
		}
		at = 2
	}
	if len(parts) < at+size {
		return "", 0, false
	}
	b := make([]byte, size)
	for i := range size {
		v := parts[at+i]
		if v > 255 {
			return "", 0, false
		}
		b[i] = byte(v)
	}
	s, ok := snmp.InetAddress(b)
	return s, at + size, ok
}

// inetAddressIndex decodes an InetAddressType.InetAddress index
// ("1.4.a.b.c.d" or "2.16.<16 octets>") and returns the rest of the index.
func inetAddressIndex(idx string) (string, string, bool) {
	parts := snmp.IndexInts(idx)
	addr, n, ok := typedAddress(parts, true)
	if !ok {
		return "", "", false
	}
	rest := strings.Split(idx, ".")[n:]
	return addr, strings.Join(rest, "."), true
}

// formatOctets renders an address-like OCTET STRING: an InetAddress or a
// 4-octet BGP identifier as an address, anything else in hex.
func formatOctets(b []byte) string {
	if s, ok := snmp.InetAddress(b); ok {
		return s
	}
	return fmt.Sprintf("%x", b)
}
