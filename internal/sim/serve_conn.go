package sim

import (
	"errors"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"time"
)

// connServer serves each device with its own goroutine blocked on a
// net.UDPConn: portable, but a goroutine stack and a read buffer per device.
type connServer struct {
	f     *Farm
	conns map[*Device]*net.UDPConn
	mu    sync.Mutex
	wg    sync.WaitGroup
	stopC chan struct{}
}

func newConnServer(f *Farm) *connServer {
	return &connServer{f: f, conns: map[*Device]*net.UDPConn{}, stopC: make(chan struct{})}
}

func (c *connServer) listen(d *Device) error {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(d.Host), Port: d.Port})
	if err != nil {
		return err
	}
	d.Port = conn.LocalAddr().(*net.UDPAddr).Port
	d.Addr = net.JoinHostPort(d.Host, strconv.Itoa(d.Port))
	c.mu.Lock()
	c.conns[d] = conn
	c.mu.Unlock()
	return nil
}

func (c *connServer) start() {
	for d, conn := range c.conns {
		c.wg.Add(1)
		go c.serve(d, conn)
	}
}

func (c *connServer) serve(d *Device, conn *net.UDPConn) {
	defer c.wg.Done()
	buf := make([]byte, readBufSize+1)
	rng := rand.New(rand.NewPCG(d.seed, 0x1055))
	var from peer
	for {
		n, ap, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			select {
			case <-c.stopC:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			c.f.log.Debug("read failed", "device", d.Name, "err", err)
			time.Sleep(time.Millisecond) // don't spin on a persistent error
			continue
		}
		from.ap = ap
		s := c.f.scratch.Get().(*scratch)
		c.f.serveOne(d, s, rng, buf[:n], n > readBufSize, &from)
		c.f.scratch.Put(s)
	}
}

func (c *connServer) send(d *Device, b []byte, to *peer) {
	if _, err := c.conns[d].WriteToUDPAddrPort(b, to.ap); err != nil && !errors.Is(err, net.ErrClosed) {
		c.f.log.Debug("write failed", "device", d.Name, "to", to.ap, "err", err)
	}
}

// stop unblocks the readers by expiring their deadline, then waits.
func (c *connServer) stop() {
	close(c.stopC)
	for _, conn := range c.conns {
		_ = conn.SetReadDeadline(time.Now())
	}
	c.wg.Wait()
}

func (c *connServer) closeSockets() error {
	var errs []error
	for d, conn := range c.conns {
		if err := conn.Close(); err != nil {
			errs = append(errs, errors.New("device "+d.Name+": close: "+err.Error()))
		}
	}
	return errors.Join(errs...)
}
