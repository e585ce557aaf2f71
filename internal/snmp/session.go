package snmp

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/panoptes-go/panoptes/internal/ber"
)

// session is one connection (a connected UDP socket) for one target, with
// the pool's bookkeeping. SNMPv1/v2c use the native transport (client.go),
// SNMPv3 gosnmp's (gosnmp.go); the operations below are the same for both.
type session struct {
	target   Target
	rt       roundTripper
	v1       bool
	maxReps  int
	lastUsed time.Time
	dev      *device  // while idle: the device holding it
	lruPrev  *session // while idle: its neighbours in the pool's LRU
	lruNext  *session
	broken   bool      // a request failed: the session is not reused
	req      request   // the request in flight, kept here not to allocate one
	root     [1]string // a walk's OID or a single GET's in flight
	dec      decoder   // a walk's decoder, for all its responses
	cols     columns   // a column walk's state, kept between walks
	// narrow walks columns one a request (the pool knows the device needs
	// it); a column walk sets it when it had to fall back to that.
	narrow bool
	// retainGen is the Pool.Retain whose credentials it was last found in.
	retainGen uint64
}

// roundTripper sends one request PDU and appends its response's varbinds.
// An operation (a get or a walk: one or more requests under one ctx) is
// bracketed by watch and unwatch, which make a cancelled ctx end a wait.
type roundTripper interface {
	roundTrip(ctx context.Context, req *request, dst []Varbind) ([]Varbind, response, error)
	watch(ctx context.Context)
	unwatch() bool // false: the connection was closed by a cancellation
	close()
}

// openSession connects to t: natively for v1/v2c unless useGosnmp, on mx's
// shared socket when mx is not nil.
func openSession(ctx context.Context, t Target, m *metrics, useGosnmp bool, mx *mux) (*session, error) {
	if t.Credential == nil {
		return nil, fmt.Errorf("credential %q: %w", t.CredentialName, ErrNoCredential)
	}
	if err := t.Credential.Validate(); err != nil {
		return nil, fmt.Errorf("credential %q: %w", t.CredentialName, err)
	}
	// The session keeps a copy of the credential it authenticates with, so
	// that the pool matches later targets against what it was opened with
	// (sameSession) even if the caller's Credential were changed in place.
	cred := *t.Credential
	t.Credential = &cred
	v := cred.Version
	s := &session{target: t, v1: v == "1", maxReps: t.MaxRepetitions}
	if s.maxReps <= 0 {
		s.maxReps = DefaultMaxRepetitions
	}
	var err error
	switch {
	case v == "3" || useGosnmp:
		s.rt, err = dialGoSNMP(ctx, t, m)
	case mx != nil:
		s.rt, err = dialMux(ctx, mx, t, s.v1, m)
	default:
		s.rt, err = dialV2(ctx, t, s.v1, m)
	}
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	return s, nil
}

func (s *session) close() { s.rt.close() }

func (s *session) roundTrip(ctx context.Context, req *request, dst []Varbind) ([]Varbind, response, error) {
	dst, resp, err := s.rt.roundTrip(ctx, req, dst)
	if err != nil && !s.reusableAfter(err) {
		s.broken = true
	}
	return dst, resp, err
}

// reusableAfter reports whether the session can be reused after its
// operation failed with err: a native v1/v2c connection after a timeout;
// any other failure closes the session.
func (s *session) reusableAfter(err error) bool {
	switch c := s.rt.(type) {
	case *v2conn:
		return c.reusableAfter(err)
	case *muxConn:
		return c.reusableAfter(err)
	}
	return false
}

// get fetches oids in chunks of MaxOIDsPerGet.
func (s *session) get(ctx context.Context, oids []string) ([]Varbind, error) {
	out := make([]Varbind, 0, len(oids))
	var chunk []string
	if len(oids) == 1 { // a light check's GET: the walk's slot is free
		chunk = s.root[:0]
	} else {
		chunk = make([]string, 0, min(MaxOIDsPerGet, len(oids)))
	}
	var err error
	for start := 0; start < len(oids); start += MaxOIDsPerGet {
		chunk = chunk[:0]
		for _, o := range oids[start:min(start+MaxOIDsPerGet, len(oids))] {
			chunk = append(chunk, normOID(o))
		}
		if out, err = s.getChunk(ctx, chunk, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// getChunk appends the values of oids to dst. tooBig splits the chunk; an
// SNMPv1 noSuchName removes the offending OID and returns it as
// NoSuchObject.
func (s *session) getChunk(ctx context.Context, oids []string, dst []Varbind) ([]Varbind, error) {
	if len(oids) == 0 {
		return dst, nil
	}
	mark := len(dst)
	s.req = request{pdu: ber.PDUGet, oids: oids}
	dst, resp, err := s.roundTrip(ctx, &s.req, dst)
	if err != nil {
		return dst[:mark], err
	}
	switch {
	case resp.status == gosnmp.NoError:
		if n := len(dst) - mark; n != len(oids) {
			return dst[:mark], fmt.Errorf("agent returned %d varbinds for %d OIDs", n, len(oids))
		}
		return dst, nil
	case resp.status == gosnmp.TooBig && len(oids) > 1:
		half := len(oids) / 2
		if dst, err = s.getChunk(ctx, oids[:half], dst[:mark]); err != nil {
			return dst, err
		}
		return s.getChunk(ctx, oids[half:], dst)
	case resp.status == gosnmp.NoSuchName && s.v1 && resp.index >= 1 && resp.index <= len(oids):
		// SNMPv1 fails the whole PDU for one missing object: retry without it.
		i := resp.index - 1
		rest := append(append(make([]string, 0, len(oids)-1), oids[:i]...), oids[i+1:]...)
		if dst, err = s.getChunk(ctx, rest, dst[:mark]); err != nil {
			return dst, err
		}
		return slices.Insert(dst, mark+i, Varbind{Name: oids[i], Type: gosnmp.NoSuchObject}), nil
	}
	return dst[:mark], &SNMPStatusError{Status: resp.status, Index: resp.index}
}

// walk implements Walk on this session. Each response's varbinds are
// decoded straight into the result, then cut back to the subtree. size is
// the caller's expectation (see Pool.WalkSized; 0: none): the result is
// allocated once for it, then grown by doubling if the table is larger.
// The result is appended to buf[:0] when buf has room for it.
func (s *session) walk(ctx context.Context, root string, size int, buf []Varbind) ([]Varbind, error) {
	root = normOID(root)
	s.root[0] = root
	// A walk expected to take several responses decodes them into shared
	// slabs and arenas sized for several packets; one expected to fit in a
	// response (a counter column with max-repetitions fitted to it) or of
	// unknown size sizes them per packet, which wastes nothing.
	s.dec = decoder{walk: size > s.maxReps}
	req := &s.req
	*req = request{pdu: ber.PDUGetBulk, oids: s.root[:], maxReps: s.maxReps, dec: &s.dec}
	if s.v1 {
		req.pdu = ber.PDUGetNext
	}
	limit := walkLimitOf(ctx)
	out := buf[:0]
	// Room for the responses as they come: whole ones until the last,
	// which may end past the subtree.
	if need := (size/s.maxReps + 1) * s.maxReps; size > 0 && cap(out) < need {
		out = make([]Varbind, 0, need)
	}
	for {
		if cap(out)-len(out) < s.maxReps { // grow by doubling: append's 1.25 copies a large table more
			out = slices.Grow(out, max(len(out), s.maxReps))
		}
		mark := len(out)
		var resp response
		var err error
		if out, resp, err = s.roundTrip(ctx, req, out); err != nil {
			return nil, err
		}
		if resp.status != gosnmp.NoError {
			out = out[:mark]
			if resp.status == gosnmp.NoSuchName && s.v1 { // v1 end of MIB view
				break
			}
			return nil, &SNMPStatusError{Status: resp.status, Index: resp.index}
		}
		if len(out) == mark {
			break
		}
		cur, n, done := req.oids[0], mark, false
		for _, vb := range out[mark:] {
			if vb.Type == gosnmp.EndOfMibView || vb.Type == gosnmp.NoSuchObject || vb.Type == gosnmp.NoSuchInstance {
				done = true
				break
			}
			// Before the subtree test: an agent that jumps back out of the
			// subtree is in a loop, not at the table's end.
			if compareOID(cur, vb.Name) >= 0 {
				return nil, fmt.Errorf("%w: %s after %s", ErrNotIncrease, vb.Name, cur)
			}
			if !inSubtree(root, vb.Name) {
				done = true
				break
			}
			cur = vb.Name
			n++
		}
		clear(out[n:])
		out, req.oids[0] = out[:n], cur
		if !limit.take(n - mark) {
			return nil, fmt.Errorf("%w: the walks of this check returned more than %d varbinds (a table this large, or an agent that never ends it): walk stopped at %s",
				ErrWalkLimit, limit.limit, cur)
		}
		if done {
			break
		}
	}
	if len(out) == 0 {
		// Like snmpwalk: an empty subtree may be a scalar instance itself.
		vbs, err := s.getChunk(ctx, []string{root}, nil)
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
	// A walk compares neighbours, which share all but their last arcs:
	// start at the arc where their bytes first differ (the usual case,
	// a's last arc alone, is one vectorised comparison of the rest).
	k := strings.LastIndexByte(a, '.') + 1
	if len(b) < k || a[:k] != b[:k] {
		k = 0
		for k < len(a) && k < len(b) && a[k] == b[k] {
			k++
		}
		for k > 0 && a[k-1] != '.' {
			k--
		}
	}
	i, j := k, k
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
