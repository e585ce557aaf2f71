//go:build !unix

package snmp

func (r *reader) init() {}

// read returns the next datagram, valid until r.done. Without Unix's raw
// reads the pooled buffer is held while waiting.
func (r *reader) read(c *v2conn) ([]byte, error) {
	r.buf = recvBufs.Get().(*[]byte)
	n, err := c.conn.Read(*r.buf)
	if err != nil {
		r.done()
		return nil, err
	}
	return (*r.buf)[:n], nil
}
