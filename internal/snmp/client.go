package snmp

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gosnmp/gosnmp"
)

// v2conn is the native SNMPv1/v2c transport: one connected UDP socket and
// nothing else per session. Buffers come from pools and are held only while
// a request is encoded or a datagram is read and decoded, not while waiting
// for the agent, so idle and waiting sessions cost a socket and this struct.
// It behaves as gosnmp did (same retries, timeouts and errors, so polling
// statuses do not change) and also drops responses that do not answer the
// request in flight: another request id (a late answer to an earlier
// request), another community or version, or a PDU that is not a Response.
type v2conn struct {
	conn      *net.UDPConn
	raw       syscall.RawConn
	version   int64 // 0 for v1, 1 for v2c
	community []byte
	timeout   time.Duration
	retries   int
	id        int32 // the last request id, 1..2³¹-1
	m         *metrics
	rd        reader
	// The watch of the operation's ctx: stop ends it, onDoneFn is
	// c.onDone bound once (no allocation per watch), done receives when
	// onDone has run, cancelled records that it closed the socket.
	ctx       context.Context
	stop      func() bool
	onDoneFn  func()
	done      chan struct{}
	cancelled atomic.Bool
}

// maxDatagram is more than any UDP payload (65,527 octets over IPv6
// without jumbograms): a datagram is never cut short.
const maxDatagram = 1 << 16

var (
	recvBufs = sync.Pool{New: func() any { b := make([]byte, maxDatagram); return &b }}
	sendBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}
)

func dialV2(ctx context.Context, t Target, v1 bool, m *metrics) (*v2conn, error) {
	timeout := t.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	d := net.Dialer{Timeout: timeout}
	nc, err := d.DialContext(ctx, "udp", t.Addr())
	if err != nil {
		return nil, fmt.Errorf("error establishing connection to host: %w", err)
	}
	uc := nc.(*net.UDPConn)
	raw, err := uc.SyscallConn()
	if err != nil {
		_ = uc.Close()
		return nil, err
	}
	c := &v2conn{
		conn: uc, raw: raw, version: 1, community: []byte(t.Credential.Community),
		timeout: timeout, retries: max(t.Retries, 0), m: m,
		id: rand.Int32N(1 << 30),
	}
	if v1 {
		c.version = 0
	}
	c.onDoneFn, c.done = c.onDone, make(chan struct{}, 1)
	c.rd.init()
	return c, nil
}

func (c *v2conn) close() { _ = c.conn.Close() }

// watch makes a cancellation of ctx close the socket, which ends a wait at
// once (the session is then discarded, as after a failure), until unwatch.
// It is set once per operation, not per request: a walk makes many.
func (c *v2conn) watch(ctx context.Context) {
	if ctx.Done() != nil {
		c.ctx = ctx
		c.stop = context.AfterFunc(ctx, c.onDoneFn)
	}
}

// onDone runs when the watched ctx ends. A cancellation closes the socket;
// a deadline does not: every read's deadline is at most ctx's, so the wait
// ends by itself, and the connection stays usable (a late answer is told
// apart by its request id), sparing an overloaded poller a socket per
// timed-out check.
func (c *v2conn) onDone() {
	if c.ctx.Err() != context.DeadlineExceeded {
		c.cancelled.Store(true)
		c.close()
	}
	c.done <- struct{}{}
}

// unwatch ends the watch; false means ctx was cancelled and the socket is
// closed.
func (c *v2conn) unwatch() bool {
	if c.stop == nil {
		return true
	}
	if !c.stop() {
		<-c.done // onDone has started: wait for it to decide
	}
	c.stop, c.ctx = nil, nil
	return !c.cancelled.Load()
}

// reusableAfter reports whether the connection can serve another request
// after err: after a timeout it can, since answers to earlier requests are
// dropped by their request id.
func (c *v2conn) reusableAfter(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, gosnmp.ErrMaxRetriesExceeded)
}

// roundTrip sends req and appends the varbinds of its response to dst.
func (c *v2conn) roundTrip(ctx context.Context, req *request, dst []Varbind) ([]Varbind, response, error) {
	if err := ctx.Err(); err != nil {
		return dst, response{}, context.Cause(ctx)
	}
	c.id = c.id%(1<<31-1) + 1
	bp := sendBufs.Get().(*[]byte)
	defer sendBufs.Put(bp)
	msg, buf, err := encodeRequest(*bp, c.version, c.community, c.id, req)
	*bp = buf[:0]
	if err != nil {
		return dst, response{}, fmt.Errorf("marshal: %w", err)
	}
	dst, resp, err := c.attempts(ctx, msg, req.dec, dst)
	if err != nil && ctx.Err() != nil { // the socket was closed under the wait
		err = context.Cause(ctx)
	}
	return dst, resp, err
}

// errAttemptTimeout marks an attempt that got no answer in time.
var errAttemptTimeout = errors.New("timeout")

// attempts sends msg up to 1+retries times, as gosnmp does: a read error or
// an undecodable answer re-sends at once, a silent agent after the timeout;
// the last error is returned, "request timeout" when every attempt timed out.
func (c *v2conn) attempts(ctx context.Context, msg []byte, d *decoder, dst []Varbind) ([]Varbind, response, error) {
	var err error
	for attempt := 0; attempt <= c.retries; attempt++ {
		if ctx.Err() != nil {
			return dst, response{}, context.Cause(ctx)
		}
		deadline := time.Now().Add(c.timeout)
		ctxDeadline := false
		if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
			deadline, ctxDeadline = d, true
		}
		if err = c.conn.SetReadDeadline(deadline); err != nil {
			return dst, response{}, err
		}
		var resp response
		var sent bool
		dst, resp, sent, err = c.await(d, dst, msg)
		if !sent {
			continue // err says why; the next attempt sends again
		}
		c.m.packetsSent.Inc()
		if attempt > 0 {
			c.m.retries.Inc()
		}
		if err == nil {
			return dst, resp, nil
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			if ctxDeadline {
				return dst, response{}, context.DeadlineExceeded
			}
			err = errAttemptTimeout
		}
	}
	if err == errAttemptTimeout {
		err = fmt.Errorf("request timeout (after %d retries): %w", c.retries, gosnmp.ErrMaxRetriesExceeded)
	}
	return dst, response{}, err
}

// await sends msg, then reads datagrams until the response to request c.id
// arrives, and decodes it into dst with d (nil: a new decoder). sent is
// false when msg could not be sent (err says why).
func (c *v2conn) await(d *decoder, dst []Varbind, msg []byte) (_ []Varbind, _ response, sent bool, _ error) {
	pkt, err := c.rd.sendRead(c, msg)
	if err != nil {
		return dst, response{}, c.rd.sent, err
	}
	for {
		if pkt == nil {
			if pkt, err = c.rd.read(c); err != nil {
				return dst, response{}, true, err
			}
		}
		var h header
		if !parseHeaderSafely(pkt, &h) || h.pdu != 0xA2 || h.id != int64(c.id) ||
			h.version != c.version || string(h.community) != string(c.community) {
			c.rd.done()
			pkt = nil
			continue // not the answer to this request
		}
		if d == nil {
			d = new(decoder)
		}
		mark := len(dst)
		dst, err = d.decodeVarbinds(h.vbl, dst)
		c.rd.done()
		if err != nil {
			if errors.Is(err, errDecoderFault) {
				c.m.decoderFaults.Inc()
			}
			return dst[:mark], response{}, true, fmt.Errorf("malformed response: %w", err)
		}
		return dst, h.outcome(), true, nil
	}
}

// writeError is the error net.Conn.Write returns for errno.
func (c *v2conn) writeError(errno error) error {
	return &net.OpError{Op: "write", Net: "udp", Source: c.conn.LocalAddr(), Addr: c.conn.RemoteAddr(),
		Err: os.NewSyscallError("write", errno)}
}

// reader reads one datagram at a time into a pooled buffer, which the
// caller hands back with done.
type reader struct {
	buf *[]byte
	n   int
	err error
	fn  func(fd uintptr) bool // r.recv, bound once: no allocation per read
	// sendRead's state: the message to send, whether it was sent, the
	// write's error, and r.sendRecv bound once.
	msg     []byte
	sent    bool
	sendErr error
	sendFn  func(fd uintptr) bool
}

// done returns the buffer of the last read to the pool.
func (r *reader) done() {
	if r.buf != nil {
		recvBufs.Put(r.buf)
		r.buf = nil
	}
}
