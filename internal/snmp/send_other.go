//go:build !unix

package snmp

// sendRead sends msg and returns the next datagram, valid until r.done;
// r.sent tells whether msg was sent.
func (r *reader) sendRead(c *v2conn, msg []byte) ([]byte, error) {
	r.sent = false
	if _, err := c.conn.Write(msg); err != nil {
		return nil, err
	}
	r.sent = true
	return r.read(c)
}
