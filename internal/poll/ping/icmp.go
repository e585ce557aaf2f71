package ping

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// icmpPinger opens one ICMP socket per check: datagram ("udp4"/"udp6",
// unprivileged where net.ipv4.ping_group_range allows the process's group)
// else raw ("ip4:icmp"/"ip6:ipv6-icmp", root or CAP_NET_RAW).
type icmpPinger struct{}

func (icmpPinger) open(_ context.Context, addr netip.Addr) (echoConn, error) {
	dgram, raw, bind, proto := "udp4", "ip4:icmp", "0.0.0.0", 1
	if addr.Is6() {
		dgram, raw, bind, proto = "udp6", "ip6:ipv6-icmp", "::", 58
	}
	c := &icmpConn{dst: addr, proto: proto, id: os.Getpid() & 0xffff}
	if _, err := rand.Read(c.token[:]); err != nil {
		return nil, err
	}
	var err, rawErr error
	if c.pc, err = icmp.ListenPacket(dgram, bind); err == nil {
		c.datagram = true
		return c, nil
	}
	if c.pc, rawErr = icmp.ListenPacket(raw, bind); rawErr == nil {
		return c, nil
	}
	return nil, fmt.Errorf("open an ICMP socket: datagram: %v; raw: %v "+
		"(allow unprivileged ping with sysctl net.ipv4.ping_group_range=\"0 2147483647\", or give the binary CAP_NET_RAW)", err, rawErr)
}

// icmpConn is one socket sending echo requests to dst. Replies are matched
// by source, sequence and a random payload token, so concurrent checks on
// raw sockets (which see every ICMP packet) do not take each other's replies.
type icmpConn struct {
	pc       *icmp.PacketConn
	dst      netip.Addr
	proto    int
	id       int
	datagram bool // the kernel sets and filters the id
	token    [16]byte
}

func (c *icmpConn) Close() error { return c.pc.Close() }

func (c *icmpConn) echo(ctx context.Context, seq int, timeout time.Duration) (time.Duration, error) {
	var typ icmp.Type = ipv4.ICMPTypeEcho
	if c.dst.Is6() {
		typ = ipv6.ICMPTypeEchoRequest
	}
	msg := icmp.Message{Type: typ, Body: &icmp.Echo{ID: c.id, Seq: seq & 0xffff, Data: c.token[:]}}
	b, err := msg.Marshal(nil)
	if err != nil {
		return 0, err
	}
	var to net.Addr = &net.IPAddr{IP: c.dst.AsSlice()}
	if c.datagram {
		to = &net.UDPAddr{IP: c.dst.AsSlice()}
	}
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := c.pc.SetReadDeadline(deadline); err != nil {
		return 0, err
	}
	// A cancelled ctx ends the read at once.
	stop := context.AfterFunc(ctx, func() { _ = c.pc.SetReadDeadline(time.Now()) })
	defer stop()

	sent := time.Now()
	if _, err := c.pc.WriteTo(b, to); err != nil {
		return 0, fmt.Errorf("send echo request: %w", err)
	}
	buf := make([]byte, 1500)
	for {
		n, from, err := c.pc.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil {
				return 0, ctx.Err()
			}
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return 0, errLost
			}
			return 0, fmt.Errorf("read echo reply: %w", err)
		}
		if c.isReply(buf[:n], from, seq) {
			return time.Since(sent), nil
		}
	}
}

func (c *icmpConn) isReply(b []byte, from net.Addr, seq int) bool {
	var src net.IP
	switch a := from.(type) {
	case *net.UDPAddr:
		src = a.IP
	case *net.IPAddr:
		src = a.IP
	}
	if sa, ok := netip.AddrFromSlice(src); !ok || sa.Unmap() != c.dst.Unmap() {
		return false
	}
	m, err := icmp.ParseMessage(c.proto, b)
	if err != nil || (m.Type != ipv4.ICMPTypeEchoReply && m.Type != ipv6.ICMPTypeEchoReply) {
		return false
	}
	e, ok := m.Body.(*icmp.Echo)
	return ok && e.Seq == seq&0xffff && (c.datagram || e.ID == c.id) && bytes.Equal(e.Data, c.token[:])
}
