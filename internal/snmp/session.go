package snmp

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gosnmp/gosnmp"
)

// session is one gosnmp connection (a connected UDP socket) for one target.
// For SNMPv3 the engine ID, boots and time discovered by the first request
// stay in the session's security parameters and are reused by later requests.
type session struct {
	target   Target
	g        *gosnmp.GoSNMP
	lastUsed time.Time
	dev      *device       // while idle: the device holding it
	elem     *list.Element // while idle: its place in the pool's LRU
	broken   bool          // the socket was closed under a request (ctx cancelled)
	sent     int           // packets sent, engine discovery and retries included
	retrying bool          // set by gosnmp's OnRetry, consumed by OnSent
}

func openSession(ctx context.Context, t Target, m *metrics) (*session, error) {
	g, err := newGoSNMP(t)
	if err != nil {
		return nil, err
	}
	s := &session{target: t, g: g}
	// gosnmp calls OnRetry also when it gives up, so count a retry only
	// when the packet is actually re-sent.
	g.OnRetry = func(*gosnmp.GoSNMP) { s.retrying = true }
	g.OnSent = func(*gosnmp.GoSNMP) {
		s.sent++
		m.packetsSent.Inc()
		if s.retrying {
			s.retrying = false
			m.retries.Inc()
		}
	}
	g.Context = ctx
	if err := g.Connect(); err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	return s, nil
}

// engineID is the SNMPv3 authoritative engine ID learnt by discovery ("" for
// v1/v2c and before the first request).
func (s *session) engineID() string {
	if usm, ok := s.g.SecurityParameters.(*gosnmp.UsmSecurityParameters); ok {
		return usm.AuthoritativeEngineID
	}
	return ""
}

func (s *session) close() { _ = s.g.Close() }

// request runs one gosnmp call under ctx. gosnmp only checks its Context
// between retries, so cancellation closes the socket to unblock the read;
// the session is then broken and is not reused.
func (s *session) request(ctx context.Context, call func() (*gosnmp.SnmpPacket, error)) (*gosnmp.SnmpPacket, error) {
	if err := ctx.Err(); err != nil {
		return nil, context.Cause(ctx)
	}
	s.g.Context = ctx
	conn := s.g.Conn
	discovering := s.g.Version == gosnmp.Version3 && s.engineID() == ""
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	pkt, err := call()
	if !stop() {
		s.broken = true
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
	}
	if err != nil {
		s.broken = true
		if discovering && s.engineID() != "" && s.g.MsgFlags&gosnmp.AuthPriv == gosnmp.AuthPriv && errors.Is(err, gosnmp.ErrMaxRetriesExceeded) {
			// The agent answered engine discovery a moment ago but not the
			// encrypted request: net-snmp silently drops what it cannot
			// decrypt, so this is a wrong priv passphrase or protocol.
			return nil, fmt.Errorf("%w: agent answered engine discovery but not the encrypted request "+
				"(wrong priv_passphrase or priv_protocol?): %w", ErrAuth, err)
		}
		return nil, err
	}
	if pkt == nil {
		s.broken = true
		return nil, fmt.Errorf("no response packet")
	}
	return pkt, nil
}

// get fetches oids in chunks of MaxOIDsPerGet. tooBig splits a chunk; an
// SNMPv1 noSuchName removes the offending OID and returns it as NoSuchName.
func (s *session) get(ctx context.Context, oids []string) ([]Varbind, error) {
	out := make([]Varbind, 0, len(oids))
	for start := 0; start < len(oids); start += MaxOIDsPerGet {
		chunk := make([]string, 0, min(MaxOIDsPerGet, len(oids)-start))
		for _, o := range oids[start:min(start+MaxOIDsPerGet, len(oids))] {
			chunk = append(chunk, normOID(o))
		}
		vbs, err := s.getChunk(ctx, chunk)
		if err != nil {
			return nil, err
		}
		out = append(out, vbs...)
	}
	return out, nil
}

func (s *session) getChunk(ctx context.Context, oids []string) ([]Varbind, error) {
	if len(oids) == 0 {
		return nil, nil
	}
	pkt, err := s.request(ctx, func() (*gosnmp.SnmpPacket, error) { return s.g.Get(oids) })
	if err != nil {
		return nil, err
	}
	switch {
	case pkt.Error == gosnmp.NoError:
		if len(pkt.Variables) != len(oids) {
			return nil, fmt.Errorf("agent returned %d varbinds for %d OIDs", len(pkt.Variables), len(oids))
		}
		return pkt.Variables, nil
	case pkt.Error == gosnmp.TooBig && len(oids) > 1:
		half := len(oids) / 2
		a, err := s.getChunk(ctx, oids[:half])
		if err != nil {
			return nil, err
		}
		b, err := s.getChunk(ctx, oids[half:])
		if err != nil {
			return nil, err
		}
		return append(a, b...), nil
	case pkt.Error == gosnmp.NoSuchName && s.g.Version == gosnmp.Version1 &&
		pkt.ErrorIndex >= 1 && int(pkt.ErrorIndex) <= len(oids):
		// SNMPv1 fails the whole PDU for one missing object: retry without it.
		i := int(pkt.ErrorIndex) - 1
		rest := append(append(make([]string, 0, len(oids)-1), oids[:i]...), oids[i+1:]...)
		vbs, err := s.getChunk(ctx, rest)
		if err != nil {
			return nil, err
		}
		missing := Varbind{Name: oids[i], Type: gosnmp.NoSuchObject}
		return append(vbs[:i:i], append([]Varbind{missing}, vbs[i:]...)...), nil
	}
	return nil, &SNMPStatusError{Status: pkt.Error, Index: int(pkt.ErrorIndex)}
}

// walk implements Walk on this session.
func (s *session) walk(ctx context.Context, root string) ([]Varbind, error) {
	root = normOID(root)
	bulk := s.g.Version != gosnmp.Version1
	var out []Varbind
	cur := root
	for {
		pkt, err := s.request(ctx, func() (*gosnmp.SnmpPacket, error) {
			if bulk {
				return s.g.GetBulk([]string{cur}, 0, s.g.MaxRepetitions)
			}
			return s.g.GetNext([]string{cur})
		})
		if err != nil {
			return nil, err
		}
		if pkt.Error != gosnmp.NoError {
			if pkt.Error == gosnmp.NoSuchName && !bulk { // v1 end of MIB view
				break
			}
			return nil, &SNMPStatusError{Status: pkt.Error, Index: int(pkt.ErrorIndex)}
		}
		if len(pkt.Variables) == 0 {
			break
		}
		done := false
		for _, vb := range pkt.Variables {
			if vb.Type == gosnmp.EndOfMibView || vb.Type == gosnmp.NoSuchObject || vb.Type == gosnmp.NoSuchInstance ||
				!inSubtree(root, vb.Name) {
				done = true
				break
			}
			if compareOID(cur, vb.Name) >= 0 {
				return nil, fmt.Errorf("%w: %s after %s", ErrNotIncrease, vb.Name, cur)
			}
			out = append(out, vb)
			cur = vb.Name
		}
		if done {
			break
		}
	}
	if len(out) == 0 {
		// Like snmpwalk: an empty subtree may be a scalar instance itself.
		vbs, err := s.getChunk(ctx, []string{root})
		if err != nil {
			return nil, err
		}
		if len(vbs) == 1 && isValue(vbs[0]) {
			out = vbs
		}
	}
	return out, nil
}

func isValue(vb Varbind) bool {
	return vb.Type != gosnmp.NoSuchObject && vb.Type != gosnmp.NoSuchInstance &&
		vb.Type != gosnmp.EndOfMibView && vb.Type != gosnmp.Null
}

// normOID gives an OID gosnmp's form: a leading dot, no trailing dot.
func normOID(o string) string {
	o = strings.TrimSpace(o)
	o = strings.TrimSuffix(o, ".")
	if !strings.HasPrefix(o, ".") {
		o = "." + o
	}
	return o
}

// inSubtree reports whether oid is strictly below root (both normalised).
func inSubtree(root, oid string) bool {
	return len(oid) > len(root) && oid[len(root)] == '.' && oid[:len(root)] == root
}

// compareOID compares numeric OIDs arc by arc, as net-snmp's snmp_oid_compare.
func compareOID(a, b string) int {
	i, j := 0, 0
	for {
		x, ni, okA := nextArc(a, i)
		y, nj, okB := nextArc(b, j)
		switch {
		case !okA && !okB:
			return 0
		case !okA:
			return -1
		case !okB:
			return 1
		case x < y:
			return -1
		case x > y:
			return 1
		}
		i, j = ni, nj
	}
}

func nextArc(s string, i int) (uint64, int, bool) {
	for i < len(s) && s[i] == '.' {
		i++
	}
	if i >= len(s) {
		return 0, i, false
	}
	var v uint64
	for i < len(s) && s[i] != '.' {
		v = v*10 + uint64(s[i]-'0')
		i++
	}
	return v, i, true
}

func opGet(oids []string) string {
	switch len(oids) {
	case 0:
		return "get (no OIDs)"
	case 1:
		return "get " + normOID(oids[0])
	}
	return fmt.Sprintf("get %d OIDs from %s", len(oids), normOID(oids[0]))
}
