package poll

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// InetAddressType values (INET-ADDRESS-MIB) and their address sizes:
// ipv4z and ipv6z carry a 4-octet zone index after the address.
var inetAddrSize = map[int]int{1: 4, 2: 16, 3: 8, 4: 20}

// inetAddress renders an InetAddress's octets: a dotted IPv4 or an IPv6
// address, with "%zone" for the zoned forms. ok is false for other sizes.
func inetAddress(b []byte) (string, bool) {
	switch len(b) {
	case 4, 16:
		a, _ := netip.AddrFromSlice(b)
		return a.String(), true
	case 8, 20:
		n := len(b) - 4
		a, _ := netip.AddrFromSlice(b[:n])
		return a.String() + "%" + strconv.FormatUint(uint64(binary.BigEndian.Uint32(b[n:])), 10), true
	}
	return "", false
}

// indexInts splits an OID index into sub-identifiers; nil if one is not a
// number.
func indexInts(idx string) []int {
	if idx == "" {
		return nil
	}
	parts := strings.Split(idx, ".")
	out := make([]int, len(parts))
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return nil
		}
		out[i] = int(n)
	}
	return out
}

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
	s, ok := inetAddress(b)
	return s, at + size, ok
}

// inetAddressIndex decodes an InetAddressType.InetAddress index
// ("1.4.a.b.c.d" or "2.16.<16 octets>") and returns the rest of the index.
func inetAddressIndex(idx string) (string, string, bool) {
	parts := indexInts(idx)
	addr, n, ok := typedAddress(parts, true)
	if !ok {
		return "", "", false
	}
	rest := strings.Split(idx, ".")[n:]
	return addr, strings.Join(rest, "."), true
}

// octets returns an OCTET STRING varbind's bytes.
func octets(v any) ([]byte, bool) {
	switch x := v.(type) {
	case []byte:
		return x, true
	case string:
		return []byte(x), true
	}
	return nil, false
}

// formatOctets renders an address-like OCTET STRING: an InetAddress or a
// 4-octet BGP identifier as an address, anything else in hex.
func formatOctets(b []byte) string {
	if s, ok := inetAddress(b); ok {
		return s
	}
	return fmt.Sprintf("%x", b)
}
