//go:build unix

package snmp

import (
	"os"
	"syscall"
)

// On Unix the receive buffer is taken from the pool only once the socket is
// readable: a session waiting for a slow agent holds no buffer.

func (r *reader) init() { r.fn = r.recv }

// read returns the next datagram, valid until r.done.
func (r *reader) read(c *v2conn) ([]byte, error) {
	if err := c.raw.Read(r.fn); err != nil {
		r.done()
		return nil, err
	}
	if r.err != nil {
		r.done()
		return nil, os.NewSyscallError("read", r.err)
	}
	return (*r.buf)[:r.n], nil
}

// recv is the RawConn callback: false asks to wait for readability.
func (r *reader) recv(fd uintptr) bool {
	b := recvBufs.Get().(*[]byte)
	var n int
	var err error
	for {
		if n, err = syscall.Read(int(fd), *b); err != syscall.EINTR {
			break
		}
	}
	if err == syscall.EAGAIN || err == syscall.EWOULDBLOCK {
		recvBufs.Put(b)
		return false
	}
	r.buf, r.n, r.err = b, max(n, 0), err
	return true
}
