//go:build unix

package snmp

import (
	"os"
	"syscall"
)

// sendRead sends msg and returns the next datagram, valid until r.done;
// r.sent tells whether msg was sent. The write happens inside the raw read,
// after the socket's readiness was reset and before the wait: the answer's
// arrival then wakes the wait, and the read that would only have found the
// socket empty (one syscall per request) is not made.
func (r *reader) sendRead(c *v2conn, msg []byte) ([]byte, error) {
	if r.sendFn == nil {
		r.sendFn = r.sendRecv
	}
	r.msg, r.sent, r.sendErr = msg, false, nil
	err := c.raw.Read(r.sendFn)
	r.msg = nil
	switch {
	case r.sendErr == syscall.EAGAIN: // no room to send: wait for it as net.Conn.Write does
		r.sendErr = nil
		if _, err := c.conn.Write(msg); err != nil {
			return nil, err
		}
		r.sent = true
		return r.read(c)
	case r.sendErr != nil:
		err, r.sendErr = c.writeError(r.sendErr), nil
		return nil, err
	case err != nil:
		r.done()
		return nil, err
	case r.err != nil:
		r.done()
		return nil, os.NewSyscallError("read", r.err)
	}
	return (*r.buf)[:r.n], nil
}

// sendRecv is sendRead's RawConn callback: it sends r.msg on its first
// call and asks to wait for readability, then reads as recv.
func (r *reader) sendRecv(fd uintptr) bool {
	if r.msg == nil {
		return r.recv(fd)
	}
	msg := r.msg
	r.msg = nil
	var err error
	for {
		if _, err = syscall.Write(int(fd), msg); err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		r.sendErr = err
		return true
	}
	r.sent = true
	return false
}
