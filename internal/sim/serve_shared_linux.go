package sim

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

const sharedSupported = true

// sharedBatch is how many datagrams one recvmmsg or sendmmsg moves at
// most: enough to amortise the system call under load (a loopback
// request/response costs ~25 µs of CPU one datagram per syscall, under
// 5 µs in batches of 32-64), small enough that a worker's buffers stay
// under 300 kB.
const sharedBatch = 64

// sharedRecvBuffer is the receive buffer asked for per socket: a few
// sockets take every device's requests, and a burst must not overflow
// them while a worker is descheduled. SO_RCVBUFFORCE (root) gets it in
// full, else the kernel caps it at net.core.rmem_max.
const sharedRecvBuffer = 4 << 20

// Room for control messages: an in_pktinfo (32 bytes on 64-bit Linux)
// and, when receiving, SO_RXQ_OVFL's uint32 too.
var (
	pktinfoSpace = unix.CmsgSpace(unix.SizeofInet4Pktinfo)
	recvCtlSpace = pktinfoSpace + unix.CmsgSpace(4)
)

// sharedServer serves every device from GOMAXPROCS-1 sockets (at least
// one) bound with SO_REUSEPORT to the wildcard address and one port; the
// kernel spreads flows (source and destination address and port) across
// them. Each
// socket has one worker that reads up to sharedBatch datagrams per
// recvmmsg, learns each one's destination address, hence its device, from
// IP_PKTINFO, and answers the batch with one sendmmsg whose IP_PKTINFO
// sets each answer's source address to the device's: a manager's
// connected socket accepts only answers from the address it sent to.
type sharedServer struct {
	f       *Farm
	port    int
	base    uint32 // device 0's IPv4 address
	workers []*sharedWorker
	wg      sync.WaitGroup
	closing atomic.Bool
}

type sharedWorker struct {
	s     *sharedServer
	fd    int
	drops uint32 // the socket's SO_RXQ_OVFL count last seen

	msgs  [sharedBatch]unix.Mmsghdr
	iov   [sharedBatch]unix.Iovec
	peers [sharedBatch]peer // msg_name points into each peer's sa
	ctl   [sharedBatch][64]byte
	bufs  [sharedBatch][readBufSize]byte
	out   sendBatch
}

// sendBatch is a worker's answers waiting for one sendmmsg.
type sendBatch struct {
	fd   int
	n    int
	msgs [sharedBatch]unix.Mmsghdr
	iov  [sharedBatch]unix.Iovec
	to   [sharedBatch][unix.SizeofSockaddrInet4]byte // sockaddr_in
	ctl  [sharedBatch][32]byte                       // a cmsghdr and in_pktinfo (the source address)
	ends [sharedBatch]int                            // answer i is data[ends[i-1]:ends[i]]
	data []byte
}

func newSharedServer(f *Farm) (server, error) {
	d0 := f.devices[0]
	first, err := netip.ParseAddr(d0.Host)
	if err != nil || !first.Is4() {
		return nil, fmt.Errorf("address %q: shared-port mode is IPv4-only", d0.Host)
	}
	s := &sharedServer{f: f, base: ipv4Uint(first)}
	loopback := first.IsLoopback() // then every device's is (checkSharedLayout)
	// One P fewer than GOMAXPROCS: a worker spends its life in blocking
	// system calls, and while a P is idle the runtime's sysmon leaves a P
	// in a system call alone; with every P in one it takes them over and
	// back constantly (measured: +30% CPU at 14,000 requests/s on 2 CPUs).
	n := max(1, min(runtime.GOMAXPROCS(0)-1, len(f.devices)))
	port, err := claimPort(d0.Port)
	if err != nil {
		return nil, err
	}
	s.port = port
	for range n {
		fd, err := openShared(port, loopback, f)
		if err != nil {
			_ = s.closeSockets()
			return nil, err
		}
		w := &sharedWorker{s: s, fd: fd}
		s.workers = append(s.workers, w)
		w.init()
	}
	return s, nil
}

// claimPort checks that no socket holds port on any address (0: finds a
// free one) by binding it without SO_REUSEPORT: a second farm on the
// same port would otherwise join this one's SO_REUSEPORT group silently
// and take part of its traffic.
func claimPort(port int) (int, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, sysErr("socket", err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrInet4{Port: port}); err != nil {
		return 0, sysErr("bind 0.0.0.0:"+strconv.Itoa(port), err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return 0, sysErr("getsockname", err)
	}
	return sa.(*unix.SockaddrInet4).Port, nil
}

// openShared opens one socket of the group: blocking (see run), with
// SO_REUSEPORT, IP_PKTINFO and SO_RXQ_OVFL on receive, a large receive
// buffer and a receive timeout, bound to 0.0.0.0:port.
func openShared(port int, loopback bool, f *Farm) (int, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, sysErr("socket", err)
	}
	fail := func(op string, err error) (int, error) {
		_ = unix.Close(fd)
		return -1, sysErr(op, err)
	}
	for _, o := range []struct {
		level, name int
		what        string
	}{
		{unix.SOL_SOCKET, unix.SO_REUSEPORT, "SO_REUSEPORT"},
		{unix.IPPROTO_IP, unix.IP_PKTINFO, "IP_PKTINFO"},
		{unix.SOL_SOCKET, unix.SO_RXQ_OVFL, "SO_RXQ_OVFL"},
	} {
		if err := unix.SetsockoptInt(fd, o.level, o.name, 1); err != nil {
			return fail("setsockopt "+o.what, err)
		}
	}
	// stop wakes a blocked worker with shutdown(2); the timeout bounds the
	// wait should that ever not wake it
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Sec: 1}); err != nil {
		return fail("setsockopt SO_RCVTIMEO", err)
	}
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, sharedRecvBuffer) != nil {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, sharedRecvBuffer) // capped, never refused
	}
	if loopback {
		// The wildcard bind would accept datagrams from the network too;
		// binding to "lo" keeps a loopback farm local. It needs CAP_NET_RAW
		// before Linux 5.7: without it the farm still works (datagrams to
		// other addresses are dropped as no device's), so errors are ignored.
		if err := unix.BindToDevice(fd, "lo"); err != nil {
			f.log.Debug("SO_BINDTODEVICE lo refused; serving on every interface", "err", err)
		}
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Port: port}); err != nil {
		return fail("bind 0.0.0.0:"+strconv.Itoa(port), err)
	}
	return fd, nil
}

// init points the message headers at the worker's buffers once.
func (w *sharedWorker) init() {
	for i := range w.msgs {
		w.iov[i].Base = &w.bufs[i][0]
		w.iov[i].SetLen(readBufSize)
		h := &w.msgs[i].Hdr
		h.Iov = &w.iov[i]
		h.SetIovlen(1)
		h.Name = &w.peers[i].sa[0]
		h.Control = &w.ctl[i][0]
		w.peers[i].batch = &w.out
	}
	w.out.fd = w.fd
	w.out.init()
}

func (s *sharedServer) listen(d *Device) error {
	d.Port = s.port
	d.Addr = net.JoinHostPort(d.Host, strconv.Itoa(d.Port))
	return nil
}

func (s *sharedServer) start() {
	for _, w := range s.workers {
		s.wg.Add(1)
		go s.run(w)
	}
}

// sharedCoalesce is how long a worker waits after answering a small batch
// (2-31 requests) before it reads again, so that the next batch is
// larger: every wake-up costs context switches (dear on a VM: 30-60 µs of
// CPU each here), so under load answers wait up to this much more. A
// worker that received one request (a lightly loaded farm) or a
// half-full batch reads again at once.
const sharedCoalesce = 2 * time.Millisecond

// sharedYieldEvery is how often a worker passes through the scheduler:
// a goroutine that only leaves Go for system calls never does otherwise,
// and after 10 ms sysmon takes its P away at the next system call.
const sharedYieldEvery = 5 * time.Millisecond

// run serves w's socket: a goroutine blocked in recvmmsg (MSG_WAITFORONE:
// it waits for one datagram, then takes what else is queued), hence on a
// thread of its own. The kernel wakes that thread directly when a request
// arrives. Go's netpoller costs more per wake-up: its thread wakes, readies
// the goroutine, and wakes other threads to look for work (measured: 0.23
// against 0.13 cores at 14,000 requests/s, before coalescing).
func (s *sharedServer) run(w *sharedWorker) {
	defer s.wg.Done()
	sc := new(scratch)
	rng := rand.New(rand.NewPCG(uint64(w.fd), 0x5a7ed))
	coalesce := unix.NsecToTimespec(int64(sharedCoalesce))
	yielded := time.Now()
	for {
		n, err := w.recv()
		if s.closing.Load() {
			return
		}
		switch err {
		case 0:
		case unix.EINTR, unix.EAGAIN: // EAGAIN: SO_RCVTIMEO expired
			continue
		default:
			s.f.log.Warn("recvmmsg failed", "err", err)
			time.Sleep(10 * time.Millisecond) // don't spin on a persistent error
			continue
		}
		for i := range n {
			w.serveMsg(i, sc, rng)
		}
		w.out.flush(s.f)
		if now := time.Now(); now.Sub(yielded) >= sharedYieldEvery {
			runtime.Gosched()
			yielded = now
		}
		if n > 1 && n < sharedBatch/2 { // a half-full batch is cheap enough already
			_ = unix.Nanosleep(&coalesce, nil) // EINTR: read early, harmless
		}
	}
}

// recv waits for a datagram and reads up to sharedBatch.
func (w *sharedWorker) recv() (int, syscall.Errno) {
	for i := range w.msgs {
		h := &w.msgs[i].Hdr
		h.Namelen = uint32(len(w.peers[i].sa))
		h.SetControllen(recvCtlSpace)
		h.Flags = 0
	}
	r, _, errno := unix.Syscall6(unix.SYS_RECVMMSG, uintptr(w.fd), uintptr(unsafe.Pointer(&w.msgs[0])),
		sharedBatch, unix.MSG_WAITFORONE, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(r), 0
}

// serveMsg finds datagram i's device by its destination address and
// serves it; answers join the worker's batch (peer.batch).
func (w *sharedWorker) serveMsg(i int, sc *scratch, rng *rand.Rand) {
	f := w.s.f
	m := &w.msgs[i]
	dst, ok, drops := w.control(w.ctl[i][:min(int(m.Hdr.Controllen), recvCtlSpace)])
	if drops != w.drops {
		f.queueFull.Add(uint64(drops - w.drops)) // a cumulative count; wraps like it
		w.drops = drops
	}
	idx := dst - w.s.base
	if !ok || idx >= uint32(len(f.devices)) || m.Hdr.Namelen != unix.SizeofSockaddrInet4 {
		f.noDevice.Add(1)
		return
	}
	p := &w.peers[i]
	p.saLen = m.Hdr.Namelen
	f.serveOne(f.devices[idx], sc, rng, w.bufs[i][:m.Len], m.Hdr.Flags&unix.MSG_TRUNC != 0, p)
}

// control reads a datagram's control messages: its destination address
// (IP_PKTINFO) and the socket's drop count (SO_RXQ_OVFL, present once the
// kernel has dropped any). Without a drop count it returns the last seen.
func (w *sharedWorker) control(b []byte) (dst uint32, ok bool, drops uint32) {
	drops = w.drops
	for len(b) >= unix.SizeofCmsghdr {
		c := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
		l := int(c.Len)
		if l < unix.SizeofCmsghdr || l > len(b) {
			break
		}
		data := b[unix.CmsgLen(0):l]
		switch {
		case c.Level == unix.IPPROTO_IP && c.Type == unix.IP_PKTINFO && len(data) >= unix.SizeofInet4Pktinfo:
			pi := (*unix.Inet4Pktinfo)(unsafe.Pointer(&data[0]))
			dst, ok = binary.BigEndian.Uint32(pi.Addr[:]), true
		case c.Level == unix.SOL_SOCKET && c.Type == unix.SO_RXQ_OVFL && len(data) >= 4:
			drops = *(*uint32)(unsafe.Pointer(&data[0]))
		}
		b = b[min(unix.CmsgSpace(l-unix.CmsgLen(0)), len(b)):]
	}
	return dst, ok, drops
}

// send queues b, from d's address to to, in the worker's batch, or sends
// it at once when to has no batch (a delayed answer, from a timer).
func (s *sharedServer) send(d *Device, b []byte, to *peer) {
	if len(b) == 0 || to.saLen != unix.SizeofSockaddrInet4 {
		return
	}
	src := ipv4Bytes(s.base + uint32(d.Index))
	if q := to.batch; q != nil {
		q.add(s.f, b, to, src)
		return
	}
	// the timer's own datagram: any socket of the group will do, and
	// Close stops timers before it closes sockets
	fd := s.workers[d.Index%len(s.workers)].fd
	var ctl [32]byte
	setPktinfo(ctl[:], src)
	var dst [unix.SizeofSockaddrInet4]byte
	copy(dst[:], to.sa[:])
	iov := unix.Iovec{Base: &b[0]}
	iov.SetLen(len(b))
	h := unix.Msghdr{Name: &dst[0], Namelen: unix.SizeofSockaddrInet4, Iov: &iov, Control: &ctl[0]}
	h.SetIovlen(1)
	h.SetControllen(pktinfoSpace)
	for {
		_, _, errno := unix.Syscall(unix.SYS_SENDMSG, uintptr(fd), uintptr(unsafe.Pointer(&h)), 0)
		if errno != unix.EINTR {
			if errno != 0 {
				s.f.log.Debug("sendmsg failed; answer dropped", "device", d.Name, "err", errno)
			}
			return
		}
	}
}

// setPktinfo writes an IP_PKTINFO control message setting the source
// address; b holds pktinfoSpace bytes.
func setPktinfo(b []byte, src [4]byte) {
	c := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	c.Level, c.Type = unix.IPPROTO_IP, unix.IP_PKTINFO
	c.SetLen(unix.CmsgLen(unix.SizeofInet4Pktinfo))
	pi := (*unix.Inet4Pktinfo)(unsafe.Pointer(&b[unix.CmsgLen(0)]))
	pi.Spec_dst = src
}

func (q *sendBatch) init() {
	for i := range q.msgs {
		h := &q.msgs[i].Hdr
		h.Iov = &q.iov[i]
		h.SetIovlen(1)
		h.Name = &q.to[i][0]
		h.Namelen = unix.SizeofSockaddrInet4
		h.Control = &q.ctl[i][0]
		h.SetControllen(pktinfoSpace)
	}
}

// add appends an answer; a full batch is sent first.
func (q *sendBatch) add(f *Farm, b []byte, to *peer, src [4]byte) {
	if q.n == sharedBatch {
		q.flush(f)
	}
	i := q.n
	copy(q.to[i][:], to.sa[:])
	setPktinfo(q.ctl[i][:], src) // the answer comes from the device's address
	q.data = append(q.data, b...)
	q.ends[i] = len(q.data)
	q.n++
}

// flush sends the queued answers with sendmmsg. A datagram the kernel
// refuses is logged and skipped.
func (q *sendBatch) flush(f *Farm) {
	if q.n == 0 {
		return
	}
	start := 0
	for i := range q.n { // data may have moved while growing: point now
		q.iov[i].Base = &q.data[start]
		q.iov[i].SetLen(q.ends[i] - start)
		start = q.ends[i]
	}
	for sent := 0; sent < q.n; {
		r, _, errno := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(q.fd), uintptr(unsafe.Pointer(&q.msgs[sent])),
			uintptr(q.n-sent), 0, 0, 0)
		switch {
		case errno == unix.EINTR:
		case errno != 0:
			f.log.Debug("sendmmsg failed; answer dropped", "err", errno)
			sent++
		default:
			sent += int(r)
		}
	}
	q.n, q.data = 0, q.data[:0]
}

// stop wakes the workers blocked in recvmmsg with shutdown(2) (on an
// unconnected socket it fails with ENOTCONN but still wakes readers), and
// waits for them.
func (s *sharedServer) stop() {
	s.closing.Store(true)
	for _, w := range s.workers {
		_ = unix.Shutdown(w.fd, unix.SHUT_RD)
	}
	s.wg.Wait()
}

func (s *sharedServer) closeSockets() error {
	var errs []error
	for i, w := range s.workers {
		if err := unix.Close(w.fd); err != nil {
			errs = append(errs, fmt.Errorf("shared socket %d: close: %w", i, err))
		}
	}
	s.workers = nil
	return errors.Join(errs...)
}
