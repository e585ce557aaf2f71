package snmp

import (
	"context"
	"errors"
	"fmt"

	"github.com/gosnmp/gosnmp"

	"github.com/panoptes-go/panoptes/internal/ber"
)

// goSNMPConn is the gosnmp transport, used for SNMPv3 (USM). The engine ID,
// boots and time discovered by a session's first request stay in its
// security parameters and are reused by its later requests.
type goSNMPConn struct {
	g        *gosnmp.GoSNMP
	retrying bool // set by gosnmp's OnRetry, consumed by OnSent
}

func dialGoSNMP(ctx context.Context, t Target, m *metrics) (*goSNMPConn, error) {
	g, err := newGoSNMP(t)
	if err != nil {
		return nil, err
	}
	c := &goSNMPConn{g: g}
	// gosnmp calls OnRetry also when it gives up, so count a retry only
	// when the packet is actually re-sent.
	g.OnRetry = func(*gosnmp.GoSNMP) { c.retrying = true }
	g.OnSent = func(*gosnmp.GoSNMP) {
		m.packetsSent.Inc()
		if c.retrying {
			c.retrying = false
			m.retries.Inc()
		}
	}
	g.Context = ctx
	if err := g.Connect(); err != nil {
		return nil, err
	}
	return c, nil
}

// engineID is the SNMPv3 authoritative engine ID learnt by discovery ("" for
// v1/v2c and before the first request).
func (c *goSNMPConn) engineID() string {
	if usm, ok := c.g.SecurityParameters.(*gosnmp.UsmSecurityParameters); ok {
		return usm.AuthoritativeEngineID
	}
	return ""
}

func (c *goSNMPConn) close() { _ = c.g.Close() }

// gosnmp's calls are watched one by one (see request).
func (c *goSNMPConn) watch(context.Context) {}
func (c *goSNMPConn) unwatch() bool         { return true }

func (c *goSNMPConn) roundTrip(ctx context.Context, req *request, dst []Varbind) ([]Varbind, response, error) {
	pkt, err := c.request(ctx, func() (*gosnmp.SnmpPacket, error) {
		switch req.pdu {
		case ber.PDUGet:
			return c.g.Get(req.oids)
		case ber.PDUGetNext:
			return c.g.GetNext(req.oids)
		}
		return c.g.GetBulk(req.oids, 0, uint32(req.maxReps))
	})
	if err != nil {
		return dst, response{}, err
	}
	return append(dst, pkt.Variables...), response{status: pkt.Error, index: int(pkt.ErrorIndex)}, nil
}

// request runs one gosnmp call under ctx. gosnmp only checks its Context
// between retries, so cancellation closes the socket to unblock the read
// (the session then fails and is not reused).
func (c *goSNMPConn) request(ctx context.Context, call func() (*gosnmp.SnmpPacket, error)) (*gosnmp.SnmpPacket, error) {
	if err := ctx.Err(); err != nil {
		return nil, context.Cause(ctx)
	}
	c.g.Context = ctx
	conn := c.g.Conn
	discovering := c.g.Version == gosnmp.Version3 && c.engineID() == ""
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	pkt, err := call()
	if !stop() && ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}
	if err != nil {
		if discovering && c.engineID() != "" && c.g.MsgFlags&gosnmp.AuthPriv == gosnmp.AuthPriv && errors.Is(err, gosnmp.ErrMaxRetriesExceeded) {
			// The agent answered engine discovery a moment ago but not the
			// encrypted request: net-snmp silently drops what it cannot
			// decrypt, so this is a wrong priv passphrase or protocol.
			return nil, fmt.Errorf("%w: agent answered engine discovery but not the encrypted request "+
				"(wrong priv_passphrase or priv_protocol?): %w", ErrAuth, err)
		}
		return nil, err
	}
	if pkt == nil {
		return nil, fmt.Errorf("no response packet")
	}
	return pkt, nil
}
