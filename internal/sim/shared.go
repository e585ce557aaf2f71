package sim

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// Shared-port mode lays device i out at first+i on one port. The address
// arithmetic is here, so every platform validates Options alike; the
// server is serve_shared_linux.go.

// checkSharedLayout rejects what shared-port mode cannot serve: IPv6, and
// address ranges that leave the loopback range (when they start in it) or
// IPv4 itself.
func checkSharedLayout(first netip.Addr, devices int) error {
	if !first.Is4() {
		return fmt.Errorf("address %s: shared-port mode is IPv4-only: use an IPv4 address such as %s", first, DefaultSharedAddr)
	}
	last := uint64(ipv4Uint(first)) + uint64(devices) - 1
	limit, what := uint64(0xffff_fffe), "the IPv4 range"
	if first.IsLoopback() {
		limit, what = 0x7fff_fffe, "127.255.255.254, the end of the loopback range" // .255 is its broadcast
	}
	if last > limit {
		return fmt.Errorf("address %s + %d devices goes past %s: choose a lower --addr", first, devices, what)
	}
	return nil
}

// sharedAddr is device i's address: first + i.
func sharedAddr(first netip.Addr, i int) netip.Addr {
	return netip.AddrFrom4(ipv4Bytes(ipv4Uint(first) + uint32(i)))
}

func ipv4Uint(a netip.Addr) uint32 {
	b := a.As4()
	return binary.BigEndian.Uint32(b[:])
}

func ipv4Bytes(v uint32) (b [4]byte) {
	binary.BigEndian.PutUint32(b[:], v)
	return b
}
