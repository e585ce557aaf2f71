package snmp

import (
	"context"
	"fmt"
	"sync"

	"github.com/gosnmp/gosnmp"

	"github.com/panoptes-go/panoptes/internal/ber"
)

// maxColumnVarbinds bounds the varbinds one GETBULK of a column walk asks
// for (columns × max-repetitions): the columns of a table are asked for
// together up to it, the others join as the first ones end. 512 Counter64
// varbinds are about 14 KB: an agent whose messages are smaller returns
// fewer (RFC 3416 4.2.3: GETBULK answers what fits), so the bound is on
// one answer's size, not a requirement of the agent.
const maxColumnVarbinds = 512

// columns is a column walk's state, kept in its session: the columns'
// names, where each is, and which are asked for in the request in flight.
type columns struct {
	roots []string // normalised
	cur   []string // the last name returned in each column (its root at first)
	done  []bool   // the column has ended
	asked []int    // the columns of the request in flight, in its order
	oids  []string // the request's names: cur of the asked columns
}

// reset forgets the last walk's names: an idle session must not keep a
// response alive.
func (c *columns) reset() {
	clear(c.roots)
	clear(c.cur)
	clear(c.oids)
	c.roots, c.cur, c.done, c.asked, c.oids = c.roots[:0], c.cur[:0], c.done[:0], c.asked[:0], c.oids[:0]
}

// answers hold a column walk's answer before it is dealt to the columns:
// up to maxColumnVarbinds, shared by all sessions (the node's pool closes
// a session idle for 10 s, so most polls open new ones).
var answers = sync.Pool{New: func() any { b := make([]Varbind, 0, maxColumnVarbinds+64); return &b }}

// walkColumns walks roots together, the result of roots[i] in out[i]
// (appended to out[i][:0] when it has room): each GETBULK asks for the
// next rows of every column not yet ended (up to maxColumnVarbinds
// varbinds), and the answer's varbinds, row by row, go to their columns.
// A column's result is what walk(ctx, roots[i], ...) returns: the agent
// answers each name of a GETBULK with its successors as it answers a
// GETBULK of that name alone, so the same checks apply to each column (the
// order, the subtree's end, endOfMibView, the walk limit, the scalar
// fallback). One request carries many columns, so the 13 counter columns
// of a 48-port ifTable take 2 round trips instead of 13. An agent that
// answers tooBig instead of fewer varbinds is asked for fewer columns.
// SNMPv1 (GETNEXT, whose noSuchName fails the whole PDU) and a single root
// walk one root at a time. size is the varbinds expected per column (0:
// unknown). It returns the varbinds walked in all.
//
// With a, the answers are decoded into a's memory (see Arena).
func (s *session) walkColumns(ctx context.Context, roots []string, size int, out [][]Varbind, a *Arena) (int, error) {
	total := 0
	if s.v1 || len(roots) == 1 {
		for i, root := range roots {
			vbs, err := s.walk(ctx, root, size, out[i])
			if err != nil {
				return 0, err
			}
			out[i] = vbs
			total += len(vbs)
		}
		return total, nil
	}
	c := &s.cols
	c.roots, c.cur, c.done = c.roots[:0], c.cur[:0], c.done[:0]
	for i, root := range roots {
		root = normOID(root)
		c.roots = append(c.roots, root)
		c.cur = append(c.cur, root)
		c.done = append(c.done, false)
		out[i] = out[i][:0]
		if size > 0 && cap(out[i]) < size+1 {
			out[i] = make([]Varbind, 0, size+1)
		}
	}
	perRequest := min(max(1, maxColumnVarbinds/s.maxReps), MaxOIDsPerGet) // gosnmp's (v3) limit on names
	if s.narrow {
		perRequest = 1
	}
	fellBack := false
	// One decoder for every answer, with slabs for several packets when
	// the walk expects more than one.
	s.dec = decoder{walk: size*len(roots) > s.maxReps*min(perRequest, len(roots))}
	if a != nil {
		a.lend(&s.dec)
		defer a.take(&s.dec)
	}
	req := &s.req
	limit := walkLimitOf(ctx)
	bp := answers.Get().(*[]Varbind)
	scratch := (*bp)[:0]
	defer func() {
		if cap(scratch) > 4*maxColumnVarbinds { // an agent that answered far more than asked
			return
		}
		clear(scratch[:cap(scratch)]) // its values point into the decoder's memory
		*bp = scratch[:0]
		answers.Put(bp)
	}()
	for {
		c.asked, c.oids = c.asked[:0], c.oids[:0]
		for i := range c.roots {
			if !c.done[i] && len(c.asked) < perRequest {
				c.asked = append(c.asked, i)
				c.oids = append(c.oids, c.cur[i])
			}
		}
		if len(c.asked) == 0 {
			break
		}
		*req = request{pdu: ber.PDUGetBulk, oids: c.oids, maxReps: s.maxReps, dec: &s.dec}
		var resp response
		var err error
		if scratch, resp, err = s.roundTrip(ctx, req, scratch[:0]); err != nil {
			if len(c.asked) > 1 && ctx.Err() == nil && KindOf(err) == KindTimeout {
				// No answer to a request of several columns: most often an
				// answer larger than the path's MTU whose fragments a
				// firewall or tunnel drops. One column a request, as a
				// walk of one column. A device really gone fails that too
				// (and is not remembered); its check's GET, timing out at
				// the same time, has usually ended the check already.
				perRequest, fellBack = 1, true
				continue
			}
			return 0, err
		}
		if fellBack {
			s.narrow = true // the narrow request was answered: the pool remembers the device
		}
		if resp.status == gosnmp.TooBig && len(c.asked) > 1 {
			// An agent that does not cut a GETBULK's answer to its size
			// (RFC 3416 says it should): fewer columns a request, down to
			// one, which is the walk of one column.
			perRequest = len(c.asked) / 2
			continue
		}
		if resp.status != gosnmp.NoError {
			return 0, &SNMPStatusError{Status: resp.status, Index: resp.index}
		}
		if len(scratch) == 0 { // nothing more under any of them, as walk's empty answer
			for _, i := range c.asked {
				c.done[i] = true
			}
			continue
		}
		// Varbind j answers the column asked for at j mod len(asked); a
		// column's varbinds after its end are its successors' (the next
		// column's, the next table's): not its own.
		n := 0
		for j, vb := range scratch {
			i := c.asked[j%len(c.asked)]
			if c.done[i] {
				continue
			}
			if vb.Type == gosnmp.EndOfMibView || vb.Type == gosnmp.NoSuchObject || vb.Type == gosnmp.NoSuchInstance {
				c.done[i] = true
				continue
			}
			if compareOID(c.cur[i], vb.Name) >= 0 {
				return 0, fmt.Errorf("%w: %s after %s", ErrNotIncrease, vb.Name, c.cur[i])
			}
			if !inSubtree(c.roots[i], vb.Name) {
				c.done[i] = true
				continue
			}
			out[i] = append(out[i], vb)
			c.cur[i] = vb.Name
			n++
		}
		total += n
		if !limit.take(n) {
			return 0, fmt.Errorf("%w: the walks of this check returned more than %d varbinds (a table this large, or an agent that never ends it): walk stopped at %s",
				ErrWalkLimit, limit.limit, c.cur[c.asked[0]])
		}
	}
	// Like snmpwalk: an empty subtree may be a scalar instance itself. One
	// GET asks for every empty root (a table the device lacks is a dozen).
	c.oids, c.asked = c.oids[:0], c.asked[:0]
	for i, root := range c.roots {
		if len(out[i]) == 0 {
			c.oids, c.asked = append(c.oids, root), append(c.asked, i)
		}
	}
	if len(c.oids) > 0 {
		vbs, err := s.get(ctx, c.oids)
		if err != nil {
			return 0, err
		}
		for j, i := range c.asked {
			if j < len(vbs) && isValue(vbs[j]) {
				out[i] = append(out[i], vbs[j])
				total++
			}
		}
	}
	return total, nil
}
