// Package tcpproxy forwards a loopback TCP port to a target and can cut
// the link (a WAN outage) and restore it, for tests of reconnection.
package tcpproxy

import (
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/testutil/freeport"
)

// Proxy forwards connections from Addr to the target while it is up.
type Proxy struct {
	addr, target string

	mu       sync.Mutex
	ln       net.Listener // nil while cut
	conns    map[net.Conn]struct{}
	accepted int
	wg       sync.WaitGroup // accept loop and pipes
}

// Start listens on a free loopback port (below the ephemeral range, so the
// port is still free when Restore binds it again) and forwards to target.
// The proxy is closed with the test.
func Start(t testing.TB, target string) *Proxy {
	t.Helper()
	p := &Proxy{target: target, conns: map[net.Conn]struct{}{}}
	var err error
	for range 5 {
		p.addr = freeport.Addr(freeport.TCP(t))
		if err = p.listen(); err == nil {
			t.Cleanup(p.Close)
			return p
		}
	}
	t.Fatalf("tcpproxy: %v", err)
	return nil
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.addr }

// Accepted counts the connections forwarded since Start.
func (p *Proxy) Accepted() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepted
}

func (p *Proxy) listen() error {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", p.addr, err)
	}
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	p.wg.Add(1)
	go p.accept(ln)
	return nil
}

func (p *Proxy) accept(ln net.Listener) {
	defer p.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		d, err := net.DialTimeout("tcp", p.target, 2*time.Second)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		if p.ln != ln { // cut while dialing
			p.mu.Unlock()
			c.Close()
			d.Close()
			continue
		}
		p.conns[c], p.conns[d] = struct{}{}, struct{}{}
		p.accepted++
		p.wg.Add(2)
		p.mu.Unlock()
		go p.pipe(c, d)
		go p.pipe(d, c)
	}
}

func (p *Proxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	_, _ = io.Copy(dst, src)
	dst.Close()
	src.Close()
	p.mu.Lock()
	delete(p.conns, dst)
	delete(p.conns, src)
	p.mu.Unlock()
}

// Cut closes the listener (new connections are refused) and every
// forwarded connection, and waits until they are gone.
func (p *Proxy) Cut() {
	p.mu.Lock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// Restore listens again on the same address.
func (p *Proxy) Restore() error {
	p.mu.Lock()
	up := p.ln != nil
	p.mu.Unlock()
	if up {
		return nil
	}
	return p.listen()
}

// Close cuts the link for good.
func (p *Proxy) Close() { p.Cut() }
