package snmp

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"os"
	"syscall"
)

// setRecvBuffer asks for n bytes of receive buffer: SO_RCVBUFFORCE where
// permitted (root, CAP_NET_ADMIN), else SO_RCVBUF, which the kernel caps at
// net.core.rmem_max. It returns the usable size obtained (Linux reports
// twice the usable size, the rest being its bookkeeping), 0 if unknown.
func setRecvBuffer(raw syscall.RawConn, n int) (got int) {
	_ = raw.Control(func(fd uintptr) {
		if syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, n) != nil {
			_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, n)
		}
		if v, err := syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF); err == nil {
			got = v / 2
		}
	})
	return got
}

// enableRecvErr makes ICMP errors (port unreachable: nothing listens on the
// device's port) reach an unconnected socket, through its error queue, so
// that a closed port fails at once as on a connected socket.
func enableRecvErr(raw syscall.RawConn, v6 bool) {
	_ = raw.Control(func(fd uintptr) {
		if v6 {
			_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IPV6, syscall.IPV6_RECVERR, 1)
		} else {
			_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, syscall.IP_RECVERR, 1)
		}
	})
}

// isICMPError reports whether a read failed for a queued ICMP error.
func isICMPError(err error) bool {
	for _, errno := range []syscall.Errno{syscall.ECONNREFUSED, syscall.EHOSTUNREACH, syscall.ENETUNREACH, syscall.EHOSTDOWN, syscall.ENETDOWN} {
		if errors.Is(err, errno) {
			return true
		}
	}
	return false
}

// drainErrors reads the socket's error queue and fails the requests to
// each destination that an ICMP error names.
func (s *muxSocket) drainErrors() {
	var buf [512]byte
	var oob [512]byte
	type report struct {
		dst   netip.AddrPort
		errno syscall.Errno
	}
	var reports []report
	_ = s.raw.Control(func(fd uintptr) {
		for {
			_, oobn, _, from, err := syscall.Recvmsg(int(fd), buf[:], oob[:], syscall.MSG_ERRQUEUE|syscall.MSG_DONTWAIT)
			if err != nil {
				return
			}
			errno := syscall.ECONNREFUSED
			if cmsgs, err := syscall.ParseSocketControlMessage(oob[:oobn]); err == nil {
				for _, c := range cmsgs {
					if (c.Header.Level == syscall.IPPROTO_IP && c.Header.Type == syscall.IP_RECVERR ||
						c.Header.Level == syscall.IPPROTO_IPV6 && c.Header.Type == syscall.IPV6_RECVERR) && len(c.Data) >= 4 {
						errno = syscall.Errno(binary.NativeEndian.Uint32(c.Data))
					}
				}
			}
			var dst netip.AddrPort
			switch sa := from.(type) {
			case *syscall.SockaddrInet4:
				dst = netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port))
			case *syscall.SockaddrInet6:
				dst = netip.AddrPortFrom(netip.AddrFrom16(sa.Addr).Unmap(), uint16(sa.Port))
			default:
				continue
			}
			reports = append(reports, report{dst, errno})
		}
	})
	for _, r := range reports {
		s.mx.failDestination(r.dst, &net.OpError{Op: "read", Net: "udp", Addr: net.UDPAddrFromAddrPort(r.dst),
			Err: os.NewSyscallError("read", r.errno)})
	}
}
