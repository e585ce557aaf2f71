package snmp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gosnmp/gosnmp"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/net/ipv4"
)

// A mux is one unconnected UDP socket per address family, shared by every
// native v1/v2c session of a Pool. Its reader takes up to muxBatch
// datagrams per recvmmsg and hands each to the request it answers (by
// request id, source address, version and community); its sender writes
// every request queued since its last wake-up with one sendmmsg. On a
// 2-core VM a loopback request/response costs 25 µs of CPU one datagram per
// syscall (the connected socket per session of client.go) and under 5 µs in
// batches of 32, and a session on a mux costs no socket. Request ids are
// unique per mux, so answers to any session are told apart.
type mux struct {
	m       *metrics
	log     *slog.Logger
	ids     atomic.Int32
	mu      sync.Mutex
	pending map[int32]*waiter
	socks   [2]*muxSocket // IPv4, IPv6; opened on first use
	closed  bool
	wg      sync.WaitGroup
}

// muxBatch is how many datagrams one recvmmsg or sendmmsg moves at most.
const muxBatch = 32

// muxRecvBuffer is the receive buffer asked for: one socket takes the
// answers of every device, and a burst must not overflow it while the
// reader is descheduled (the kernel caps it at net.core.rmem_max).
const muxRecvBuffer = 4 << 20

type muxSocket struct {
	mx    *mux
	sends prometheus.Counter // sendmmsg calls
	reads prometheus.Counter // recvmmsg calls
	conn  *net.UDPConn
	raw   syscall.RawConn
	batch *ipv4.PacketConn // batch I/O; ipv4's Message type serves IPv6 too

	mu      sync.Mutex
	queue   []outgoing // requests waiting for the sender
	sending bool       // the sender is awake and will look at queue again
	wake    chan struct{}
	done    chan struct{}
}

// waiter is one request in flight on a mux: a session's, reused by its
// requests (a session serves one request at a time).
type waiter struct {
	id        int32
	dst       netip.AddrPort
	addr      *net.UDPAddr // dst, as the batch writer wants it
	version   int64
	community []byte
	msg       []byte
	queued    int // entries in its socket's queue: the sender may still read msg
	// Set by whoever completes the request (under mux.mu), then ch is
	// signalled once: the answer's datagram or the error that ended it.
	pkt *[]byte
	n   int
	err error
	ch  chan struct{}
}

func newMux(m *metrics, log *slog.Logger) *mux {
	mx := &mux{m: m, log: log, pending: make(map[int32]*waiter)}
	mx.ids.Store(int32(time.Now().UnixNano() & (1<<30 - 1)))
	return mx
}

// socket returns the socket for dst's address family, opening it first.
func (mx *mux) socket(dst netip.AddrPort) (*muxSocket, error) {
	fam, network, laddr := 0, "udp4", &net.UDPAddr{IP: net.IPv4zero}
	if !dst.Addr().Is4() {
		fam, network, laddr = 1, "udp6", &net.UDPAddr{IP: net.IPv6unspecified}
	}
	mx.mu.Lock()
	defer mx.mu.Unlock()
	if mx.closed {
		return nil, ErrPoolClosed
	}
	if s := mx.socks[fam]; s != nil {
		return s, nil
	}
	conn, err := net.ListenUDP(network, laddr)
	if err != nil {
		return nil, fmt.Errorf("open shared UDP socket: %w", err)
	}
	raw, err := conn.SyscallConn()
	if err != nil {
		_ = conn.Close()
		return nil, err
	}
	if got := setRecvBuffer(raw, muxRecvBuffer); got > 0 && got < muxRecvBuffer {
		mx.log.Warn("the shared SNMP socket's receive buffer is smaller than asked: answers from many devices at once may be dropped and retried",
			"receive_buffer_bytes", got, "wanted_bytes", muxRecvBuffer,
			"fix", "raise net.core.rmem_max (sysctl -w net.core.rmem_max=8388608) or set snmp.transport: connected")
	}
	enableRecvErr(raw, fam == 1)
	s := &muxSocket{mx: mx, conn: conn, raw: raw, batch: ipv4.NewPacketConn(conn),
		sends: mx.m.muxCalls.WithLabelValues("sendmmsg"), reads: mx.m.muxCalls.WithLabelValues("recvmmsg"),
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	mx.socks[fam] = s
	mx.wg.Add(2)
	go s.readLoop()
	go s.sendLoop()
	return s, nil
}

// close stops the readers and senders. Requests in flight end with
// ErrPoolClosed.
func (mx *mux) close() {
	mx.mu.Lock()
	if mx.closed {
		mx.mu.Unlock()
		return
	}
	mx.closed = true
	socks := mx.socks
	for id, w := range mx.pending {
		delete(mx.pending, id)
		w.err = ErrPoolClosed
		w.ch <- struct{}{}
	}
	mx.mu.Unlock()
	for _, s := range socks {
		if s != nil {
			close(s.done)
			_ = s.conn.Close()
		}
	}
	mx.wg.Wait()
}

// nextID returns a request id in 1..2³¹-1: a counter put through a
// bijection (scrambleID), so ids stay unique for 2³¹ requests while those
// of consecutive requests are far apart. An agent that answers with a
// neighbouring id (the request's + 1: a buggy or hostile agent) then hits
// no other pending request, where with plain counting it answered the
// next request to the same device with this one's varbinds.
func (mx *mux) nextID() int32 {
	for {
		if id := scrambleID(uint32(mx.ids.Add(1)) & (1<<31 - 1)); id != 0 {
			return int32(id)
		}
	}
}

// scrambleID is a bijection of 0..2³¹-1: odd multipliers are invertible
// modulo 2³¹, and so is x ^ x>>16.
func scrambleID(x uint32) uint32 {
	const mask = 1<<31 - 1
	x = x * 0x5bd1e995 & mask
	x ^= x >> 16
	return x * 0x27d4eb2d & mask
}

// register makes w pending under its id and queues it for sending.
func (mx *mux) register(s *muxSocket, w *waiter) error {
	mx.mu.Lock()
	if mx.closed {
		mx.mu.Unlock()
		return ErrPoolClosed
	}
	if _, taken := mx.pending[w.id]; taken { // 2³¹ requests ago: not this one's answer
		mx.mu.Unlock()
		return errors.New("request id in use")
	}
	mx.pending[w.id] = w
	mx.mu.Unlock()
	s.enqueue(w)
	return nil
}

// withdraw takes w out of the pending requests; false when it was already
// completed (its ch is then signalled or about to be).
func (mx *mux) withdraw(w *waiter) bool {
	mx.mu.Lock()
	defer mx.mu.Unlock()
	if mx.pending[w.id] != w {
		return false
	}
	delete(mx.pending, w.id)
	return true
}

// fail completes w's request id with err unless it is already completed.
func (mx *mux) fail(w *waiter, id int32, err error) {
	mx.mu.Lock()
	if mx.pending[id] != w {
		mx.mu.Unlock()
		return
	}
	delete(mx.pending, id)
	w.err = err
	mx.mu.Unlock()
	w.ch <- struct{}{}
}

// deliver hands pkt, from src, to the request it answers; false when it
// answers none (a late duplicate, another community, a stray datagram).
func (mx *mux) deliver(pkt []byte, src netip.AddrPort) bool {
	var h header
	if !parseHeaderSafely(pkt, &h) || h.pdu != 0xA2 || h.id <= 0 || h.id >= 1<<31 {
		return false
	}
	mx.mu.Lock()
	w := mx.pending[int32(h.id)]
	if w == nil || w.dst != src || w.version != h.version || string(w.community) != string(h.community) {
		mx.mu.Unlock()
		return false
	}
	delete(mx.pending, w.id)
	mx.mu.Unlock()
	bp := getAnswerBuf(len(pkt))
	w.pkt, w.n, w.err = bp, copy(*bp, pkt), nil
	w.ch <- struct{}{}
	return true
}

// answerBufs hold delivered answers until their requests decode them, in
// size classes: an answer is usually 1-3 KB, and a loaded node has hundreds
// delivered and not yet decoded at once (their goroutines wait for a CPU).
// In buffers of maxDatagram each they held 63 MB at 10,000 devices (heap
// profile, a node behind its schedule); the pools keep what a peak took.
var answerBufs = [...]struct {
	size int
	pool sync.Pool
}{{size: 2 << 10}, {size: 8 << 10}, {size: maxDatagram}}

// getAnswerBuf returns a buffer of at least n bytes (n <= maxDatagram).
func getAnswerBuf(n int) *[]byte {
	c := &answerBufs[len(answerBufs)-1]
	for i := range answerBufs {
		if n <= answerBufs[i].size {
			c = &answerBufs[i]
			break
		}
	}
	if bp, ok := c.pool.Get().(*[]byte); ok {
		return bp
	}
	b := make([]byte, c.size)
	return &b
}

// putAnswerBuf returns a getAnswerBuf buffer to its class.
func putAnswerBuf(bp *[]byte) {
	for i := range answerBufs {
		if len(*bp) == answerBufs[i].size {
			answerBufs[i].pool.Put(bp)
			return
		}
	}
}

// failDestination completes every request to dst with err: the kernel
// reported an ICMP error (port unreachable) for a datagram sent there.
func (mx *mux) failDestination(dst netip.AddrPort, err error) {
	var hit []*waiter
	mx.mu.Lock()
	for id, w := range mx.pending {
		if w.dst == dst {
			delete(mx.pending, id)
			w.err = err
			hit = append(hit, w)
		}
	}
	mx.mu.Unlock()
	for _, w := range hit {
		w.ch <- struct{}{}
	}
}

// outgoing is a queued datagram. It is taken from its waiter when queued:
// the waiter may give up and go on while the sender still holds it.
type outgoing struct {
	w    *waiter
	id   int32
	msg  []byte
	addr *net.UDPAddr
}

func (s *muxSocket) enqueue(w *waiter) {
	s.mu.Lock()
	w.queued++
	s.queue = append(s.queue, outgoing{w: w, id: w.id, msg: w.msg, addr: w.addr})
	wake := !s.sending
	s.sending = true
	s.mu.Unlock()
	if wake {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// sendLoop writes the queued requests, muxBatch per sendmmsg.
func (s *muxSocket) sendLoop() {
	defer s.mx.wg.Done()
	var batch []outgoing
	msgs := make([]ipv4.Message, muxBatch)
	for i := range msgs {
		msgs[i].Buffers = make([][]byte, 1)
	}
	for {
		select {
		case <-s.done:
			return
		case <-s.wake:
		}
		// Let the goroutines that are ready to run (checks about to send
		// their requests) queue them first: a bigger batch is fewer
		// system calls and fewer wake-ups of the receiving side.
		runtime.Gosched()
		for {
			s.mu.Lock()
			batch, s.queue = s.queue, batch[:0]
			if len(batch) == 0 {
				s.sending = false
				s.mu.Unlock()
				break
			}
			s.mu.Unlock()
			s.write(batch, msgs)
			s.mu.Lock()
			for _, o := range batch {
				o.w.queued--
			}
			s.mu.Unlock()
			clear(batch)
		}
	}
}

// write sends batch; a datagram the kernel refuses fails its request.
func (s *muxSocket) write(batch []outgoing, msgs []ipv4.Message) {
	for len(batch) > 0 {
		k := min(len(batch), len(msgs))
		for i, o := range batch[:k] {
			msgs[i].Buffers[0], msgs[i].Addr = o.msg, o.addr
		}
		n, err := s.batch.WriteBatch(msgs[:k], 0)
		s.sends.Inc()
		s.mx.m.packetsSent.Add(float64(max(n, 0)))
		if err != nil {
			if n < 0 {
				n = 0
			}
			if n < k { // the first unsent one is the one the kernel refused
				o := batch[n]
				s.mx.fail(o.w, o.id, &net.OpError{Op: "write", Net: "udp", Addr: o.addr, Err: unwrapSyscall(err)})
				n++
			}
		}
		for i := range msgs[:k] {
			msgs[i].Buffers[0], msgs[i].Addr = nil, nil
		}
		batch = batch[n:]
	}
}

// readLoop hands every datagram to its request until the socket closes.
func (s *muxSocket) readLoop() {
	defer s.mx.wg.Done()
	msgs := make([]ipv4.Message, muxBatch)
	for i := range msgs {
		msgs[i].Buffers = [][]byte{make([]byte, maxDatagram)}
	}
	for {
		n, err := s.batch.ReadBatch(msgs, 0)
		s.reads.Inc()
		if err != nil {
			select {
			case <-s.done:
				return
			default:
			}
			if isICMPError(err) {
				s.drainErrors()
				continue
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(time.Millisecond) // not expected: do not spin
			continue
		}
		s.mx.m.muxReceived.Add(float64(n))
		for i := range msgs[:n] {
			ua, _ := msgs[i].Addr.(*net.UDPAddr)
			if ua == nil {
				continue
			}
			src := ua.AddrPort()
			src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
			if !s.mx.deliver(msgs[i].Buffers[0][:msgs[i].N], src) {
				s.mx.m.strays.Inc()
			}
			msgs[i].Addr = nil
		}
	}
}

// unwrapSyscall turns a batch writer's error into the errno as net.Conn
// reports it (an *os.SyscallError), so that Status maps it as before.
func unwrapSyscall(err error) error {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return os.NewSyscallError("write", errno)
	}
	return err
}

// muxConn is a native v1/v2c session on a mux: the roundTripper of
// client.go's v2conn without a socket of its own. It keeps v2conn's
// behaviour: the same attempts, timeouts and errors, and answers that do
// not answer the request in flight are dropped.
type muxConn struct {
	mx      *mux
	sock    *muxSocket
	timeout time.Duration
	retries int
	m       *metrics
	w       waiter
	buf     []byte      // the request's encoding; nil when the sender may still hold it
	timer   *time.Timer // an attempt's timeout, reused by the session's requests
}

func dialMux(ctx context.Context, mx *mux, t Target, v1 bool, m *metrics) (*muxConn, error) {
	dst, err := resolveUDP(ctx, t)
	if err != nil {
		return nil, fmt.Errorf("error establishing connection to host: %w", err)
	}
	s, err := mx.socket(dst)
	if err != nil {
		return nil, err
	}
	c := &muxConn{mx: mx, sock: s, timeout: t.Timeout, retries: max(t.Retries, 0), m: m}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	c.w = waiter{dst: dst, addr: net.UDPAddrFromAddrPort(dst), version: 1,
		community: []byte(t.Credential.Community), ch: make(chan struct{}, 1)}
	if v1 {
		c.w.version = 0
	}
	return c, nil
}

// resolveUDP resolves t's host as net.Dial("udp", ...) would.
func resolveUDP(ctx context.Context, t Target) (netip.AddrPort, error) {
	if ip, err := netip.ParseAddr(t.Host); err == nil {
		return netip.AddrPortFrom(ip.Unmap(), uint16(t.Port)), nil
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", t.Host)
	if err != nil {
		return netip.AddrPort{}, &net.OpError{Op: "dial", Net: "udp", Err: err}
	}
	if len(ips) == 0 {
		return netip.AddrPort{}, &net.OpError{Op: "dial", Net: "udp", Err: &net.DNSError{Err: "no such host", Name: t.Host, IsNotFound: true}}
	}
	for _, ip := range ips { // prefer IPv4, as Go's dialer does for "udp"
		if ip.Unmap().Is4() {
			return netip.AddrPortFrom(ip.Unmap(), uint16(t.Port)), nil
		}
	}
	return netip.AddrPortFrom(ips[0], uint16(t.Port)), nil
}

// watch and unwatch have nothing to do: a wait selects on ctx itself and
// cancellation never closes a shared socket.
func (c *muxConn) watch(context.Context) {}
func (c *muxConn) unwatch() bool         { return true }
func (c *muxConn) close()                {}

func (c *muxConn) reusableAfter(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, gosnmp.ErrMaxRetriesExceeded)
}

func (c *muxConn) roundTrip(ctx context.Context, req *request, dst []Varbind) ([]Varbind, response, error) {
	if err := ctx.Err(); err != nil {
		return dst, response{}, context.Cause(ctx)
	}
	w := &c.w
	w.id = c.mx.nextID()
	msg, buf, err := encodeRequest(c.buf, w.version, w.community, w.id, req)
	c.buf = buf
	if err != nil {
		return dst, response{}, fmt.Errorf("marshal: %w", err)
	}
	w.msg = msg
	dst, resp, err := c.attempts(ctx, req.dec, dst)
	w.msg = nil
	return dst, resp, err
}

// attempts sends the request up to 1+retries times, as v2conn.attempts.
func (c *muxConn) attempts(ctx context.Context, d *decoder, dst []Varbind) ([]Varbind, response, error) {
	w := &c.w
	var err error
	timer := c.timer
	defer func() {
		if timer != nil {
			timer.Stop() // since Go 1.23 no stale tick is left for the next Reset
		}
	}()
	for attempt := 0; attempt <= c.retries; attempt++ {
		if ctx.Err() != nil {
			return dst, response{}, context.Cause(ctx)
		}
		wait := c.timeout
		ctxDeadline := false
		if dl, ok := ctx.Deadline(); ok {
			if left := time.Until(dl); left < wait {
				wait, ctxDeadline = max(left, 0), true
			}
		}
		if err = c.mx.register(c.sock, w); err != nil {
			return dst, response{}, err
		}
		if attempt > 0 {
			c.m.retries.Inc()
		}
		if timer == nil {
			timer = time.NewTimer(wait)
			c.timer = timer
		} else {
			timer.Reset(wait)
		}
		var done bool
		select {
		case <-w.ch:
			done = true
		case <-timer.C:
		case <-ctx.Done():
		}
		if !done && !c.mx.withdraw(w) {
			<-w.ch // completed meanwhile: take the result
			done = true
		}
		if !done {
			c.abandonBuf()
			switch cerr := ctx.Err(); {
			case cerr != nil && cerr != context.DeadlineExceeded:
				return dst, response{}, context.Cause(ctx)
			case cerr != nil || ctxDeadline: // the ctx's deadline, or our timer set to it
				return dst, response{}, context.DeadlineExceeded
			}
			err = errAttemptTimeout
			continue
		}
		if w.err != nil {
			err, w.err = w.err, nil
			continue // as a read error on a connected socket: send again
		}
		var resp response
		if dst, resp, err = c.decode(d, dst); err == nil {
			return dst, resp, nil
		}
	}
	if err == errAttemptTimeout {
		err = fmt.Errorf("request timeout (after %d retries): %w", c.retries, gosnmp.ErrMaxRetriesExceeded)
	}
	return dst, response{}, err
}

// abandonBuf leaves the request's buffer to the sender if it may still be
// reading it; the next request encodes into a new one.
func (c *muxConn) abandonBuf() {
	c.sock.mu.Lock()
	queued := c.w.queued > 0
	c.sock.mu.Unlock()
	if queued {
		c.buf = nil
	}
}

// decode appends the delivered answer's varbinds to dst, decoded by d
// (nil: a new decoder).
func (c *muxConn) decode(d *decoder, dst []Varbind) ([]Varbind, response, error) {
	w := &c.w
	pkt := (*w.pkt)[:w.n]
	defer func() { putAnswerBuf(w.pkt); w.pkt = nil }()
	var h header
	if !parseHeader(pkt, &h) { // checked by the reader; cannot fail
		return dst, response{}, errors.New("malformed response")
	}
	if d == nil {
		d = new(decoder)
	}
	mark := len(dst)
	dst, err := d.decodeVarbinds(h.vbl, dst)
	if err != nil {
		if errors.Is(err, errDecoderFault) {
			c.m.decoderFaults.Inc()
		}
		return dst[:mark], response{}, fmt.Errorf("malformed response: %w", err)
	}
	return dst, h.outcome(), nil
}
