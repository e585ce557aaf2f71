package sim

import (
	"bytes"

	"github.com/panoptes-go/panoptes/internal/ber"
)

// SNMP error-status values the agent answers with.
const (
	errTooBig        = 1
	errNoSuchName    = 2
	errNotWritable   = 17
	errAuthorization = 16
)

// scratch is one request's working memory. It is pooled, so the v1/v2c
// path allocates nothing once the pool is warm.
type scratch struct {
	arcs  []uint32
	vbs   []reqVB
	reps  []repeater
	out   []byte // response buffer
	plain []byte // SNMPv3: the decrypted scoped PDU
	enc   []byte // SNMPv3: the encrypted scoped PDU
}

// reqVB is one varbind of a request: its OID TLV and decoded arcs.
type reqVB struct {
	oid      []byte
	off, end int32 // arcs in scratch.arcs
}

// repeater is a GETBULK repeater's position in the recording.
type repeater struct {
	pos   int
	moved bool // an entry was returned (the EOM name is then the last one)
	vb    int  // its request varbind
}

// pdu is a parsed request PDU; slices point into the request.
type pdu struct {
	typ     byte
	reqID   []byte // INTEGER content, echoed
	errStat int64  // GETBULK: non-repeaters
	errIdx  int64  // GETBULK: max-repetitions
	vbl     []byte // varbind list content, echoed with an error
}

func (s *scratch) arcsOf(v *reqVB) []uint32 { return s.arcs[v.off:v.end] }

// parsePDU parses the PDU at b[i:] into p, s.vbs and s.arcs.
func (s *scratch) parsePDU(b []byte, i int, p *pdu) bool {
	tag, start, end, ok := ber.ReadTLV(b, i)
	if !ok || tag < ber.PDUGet || tag > ber.PDUReport {
		return false
	}
	p.typ = tag
	rs, re, ok := ber.Expect(b, start, ber.TagInteger)
	if !ok || re-rs < 1 || re-rs > 8 {
		return false
	}
	p.reqID = b[rs:re]
	if p.errStat, i, ok = ber.ReadInt(b, re); !ok {
		return false
	}
	if p.errIdx, i, ok = ber.ReadInt(b, i); !ok {
		return false
	}
	ls, le, ok := ber.Expect(b, i, ber.TagSequence)
	if !ok || le > end {
		return false
	}
	p.vbl = b[ls:le]
	s.arcs, s.vbs = s.arcs[:0], s.vbs[:0]
	for j := ls; j < le; {
		vs, ve, ok := ber.Expect(b, j, ber.TagSequence)
		if !ok || ve > le {
			return false
		}
		os, oe, ok := ber.Expect(b, vs, ber.TagOID)
		if !ok || oe > ve {
			return false
		}
		if _, _, valEnd, ok := ber.ReadTLV(b, oe); !ok || valEnd != ve { // echoed on errors: must be sound
			return false
		}
		off := len(s.arcs)
		if s.arcs, ok = ber.DecodeOID(s.arcs, b[os:oe]); !ok {
			return false
		}
		s.vbs = append(s.vbs, reqVB{oid: b[vs:oe], off: int32(off), end: int32(len(s.arcs))})
		j = ve
	}
	return true
}

// answer is the outcome of a PDU: varbinds written to buf[start:end], or an
// error status (the caller echoes the request's varbinds), or drop.
type answer struct {
	buf             []byte
	end             int
	errStat, errIdx int
	count           int // varbinds answered
	drop            bool
}

// answerPDU writes the response varbinds for p into buf from start on,
// within limit bytes. v1 selects SNMPv1 semantics: missing objects and the
// end of the MIB are noSuchName errors, and Counter64 objects do not exist
// (GETNEXT skips them), as net-snmp and snmpsim do.
func (d *Device) answerPDU(s *scratch, p *pdu, v1 bool, now int64, buf []byte, start, limit int, hint *int) answer {
	if ov := d.over.Load(); ov != nil && (p.typ == ber.PDUGet || p.typ == ber.PDUGetNext || p.typ == ber.PDUGetBulk) {
		return d.answerMerged(s, p, v1, now, buf, start, limit, ov)
	}
	r := d.rec
	n := len(r.entries)
	l := d.life.Load()
	dst := buf[:start]
	switch p.typ {
	case ber.PDUGet:
		for k := range s.vbs {
			v := &s.vbs[k]
			i := r.exact(s.arcsOf(v))
			if i >= 0 && !(v1 && r.entries[i].tag == ber.TagCounter64) {
				dst = d.putEntry(dst, i, l, now)
			} else if v1 {
				return answer{buf: dst, errStat: errNoSuchName, errIdx: k + 1}
			} else {
				dst = putException(dst, v.oid, r.missingTag(s.arcsOf(v)))
			}
			if len(dst)-start > limit {
				return answer{buf: dst, errStat: errTooBig}
			}
		}
	case ber.PDUGetNext:
		for k := range s.vbs {
			v := &s.vbs[k]
			i := d.nextFor(s.arcsOf(v), *hint, v1)
			if i < n {
				dst = d.putEntry(dst, i, l, now)
				*hint = i
			} else if v1 {
				return answer{buf: dst, errStat: errNoSuchName, errIdx: k + 1}
			} else {
				dst = putException(dst, v.oid, ber.TagEndOfMibView)
			}
			if len(dst)-start > limit {
				return answer{buf: dst, errStat: errTooBig}
			}
		}
	case ber.PDUGetBulk:
		if v1 {
			return answer{drop: true}
		}
		return d.bulk(s, p, l, now, dst, start, limit, hint)
	case ber.PDUSet:
		if v1 {
			return answer{buf: dst, errStat: errNoSuchName, errIdx: 1}
		}
		return answer{buf: dst, errStat: errNotWritable, errIdx: 1}
	default: // responses, traps, reports: not for an agent
		return answer{drop: true}
	}
	return answer{buf: dst, end: len(dst), count: len(s.vbs)}
}

// nextFor is the index of the successor of arcs (skipping Counter64 for v1).
func (d *Device) nextFor(arcs []uint32, hint int, v1 bool) int {
	r := d.rec
	i := r.next(arcs, hint)
	for v1 && i < len(r.entries) && r.entries[i].tag == ber.TagCounter64 {
		i++
	}
	return i
}

// bulk answers a GETBULK (RFC 3416 4.2.3): non-repeaters as GETNEXT, then
// up to max-repetitions rows of the repeaters, stopping after a row where
// every repeater is at endOfMibView or when the next varbind would not fit.
func (d *Device) bulk(s *scratch, p *pdu, l *life, now int64, dst []byte, start, limit int, hint *int) answer {
	r := d.rec
	n := len(r.entries)
	nonRep := int(min(max(p.errStat, 0), int64(len(s.vbs))))
	maxRep := int(min(max(p.errIdx, 0), 1<<16))
	count := 0
	for k := 0; k < nonRep; k++ {
		v := &s.vbs[k]
		mark := len(dst)
		if i := d.nextFor(s.arcsOf(v), *hint, false); i < n {
			dst = d.putEntry(dst, i, l, now)
		} else {
			dst = putException(dst, v.oid, ber.TagEndOfMibView)
		}
		if len(dst)-start > limit {
			return answer{buf: dst[:mark], end: mark, count: count}
		}
		count++
	}
	if nonRep == len(s.vbs) || maxRep == 0 {
		return answer{buf: dst, end: len(dst), count: count}
	}
	s.reps = s.reps[:0]
	for k := nonRep; k < len(s.vbs); k++ {
		s.reps = append(s.reps, repeater{pos: d.nextFor(s.arcsOf(&s.vbs[k]), *hint, false), vb: k})
	}
	for row := 0; row < maxRep; row++ {
		allEnd := true
		for j := range s.reps {
			rp := &s.reps[j]
			mark := len(dst)
			if rp.pos < n {
				dst = d.putEntry(dst, rp.pos, l, now)
				allEnd = false
			} else if rp.moved {
				dst = putException(dst, r.oidTLV(&r.entries[n-1]), ber.TagEndOfMibView)
			} else {
				dst = putException(dst, s.vbs[rp.vb].oid, ber.TagEndOfMibView)
			}
			if len(dst)-start > limit {
				d.bulkHint(s, hint)
				return answer{buf: dst[:mark], end: mark, count: count}
			}
			count++
			if rp.pos < n {
				rp.pos++
				rp.moved = true
			}
		}
		if allEnd {
			break
		}
	}
	d.bulkHint(s, hint)
	return answer{buf: dst, end: len(dst), count: count}
}

// bulkHint remembers the last entry the first repeater returned: a walk's
// next request starts from it.
func (d *Device) bulkHint(s *scratch, hint *int) {
	if len(s.reps) > 0 && s.reps[0].moved {
		*hint = s.reps[0].pos - 1
	}
}

// putEntry appends entry i's varbind with its value now.
func (d *Device) putEntry(dst []byte, i int, l *life, now int64) []byte {
	return d.putFrom(dst, d.rec, i, l, now)
}

// putFrom appends entry i of r (the device's template or its overlay).
func (d *Device) putFrom(dst []byte, r *Recording, i int, l *life, now int64) []byte {
	e := &r.entries[i]
	oid := r.oidTLV(e)
	switch {
	case i == r.nameIdx:
		dst = ber.AppendHeader(dst, ber.TagSequence, len(oid)+ber.LenSize(len(d.Name))+1+len(d.Name))
		dst = append(dst, oid...)
		dst = ber.AppendHeader(dst, ber.TagOctetString, len(d.Name))
		return append(dst, d.Name...)
	case e.class == classStatic:
		val := r.valueTLV(e)
		dst = ber.AppendHeader(dst, ber.TagSequence, len(oid)+len(val))
		dst = append(dst, oid...)
		return append(dst, val...)
	}
	elapsed := now - l.epoch
	var v uint64
	if e.class == classUptime {
		base := e.base
		if l.restarted {
			base = 0
		}
		v = uint64(uint32(base + uint64(max(elapsed, 0))/1e7))
	} else {
		v = d.counter(e, l, elapsed)
	}
	dst = ber.AppendHeader(dst, ber.TagSequence, len(oid)+2+ber.UintSize(v))
	dst = append(dst, oid...)
	return ber.AppendUint(dst, e.tag, v)
}

// putException appends a varbind with an exception value (noSuchObject,
// noSuchInstance, endOfMibView) for the OID TLV oid.
func putException(dst, oid []byte, tag byte) []byte {
	dst = ber.AppendHeader(dst, ber.TagSequence, len(oid)+2)
	dst = append(dst, oid...)
	return append(dst, tag, 0)
}

// finishPDU turns the varbinds in buf[start:a.end] (or, on error, the
// request's echoed varbinds) into a Response PDU and returns its start.
// buf must have room for the PDU header before start.
func finishPDU(a *answer, p *pdu, start int) (buf []byte, pos, end int) {
	buf, end = a.buf, a.end
	if a.errStat != 0 {
		buf = buf[:start]
		if a.errStat != errTooBig {
			buf = append(buf, p.vbl...)
		}
		end = len(buf)
	}
	pos = ber.PrependHeader(buf, start, ber.TagSequence, end-start)
	pos = ber.PrependInt(buf, pos, int64(a.errIdx))
	pos = ber.PrependInt(buf, pos, int64(a.errStat))
	pos = ber.PrependBytes(buf, pos, ber.TagInteger, p.reqID)
	pos = ber.PrependHeader(buf, pos, ber.PDUResponse, end-pos)
	return buf, pos, end
}

// dropReason says why a request got no answer.
type dropReason uint8

const (
	answered dropReason = iota
	dropMalformed
	dropCommunity
	dropUSM // SNMPv3: undecryptable or unsupported; reports are answers
)

// serveCommunity answers a v1/v2c request message whose community starts
// at req[i:].
func (d *Device) serveCommunity(s *scratch, req []byte, version int64, i int, hint *int, now int64) ([]byte, int, dropReason) {
	cs, ce, ok := ber.Expect(req, i, ber.TagOctetString)
	if !ok {
		return nil, 0, dropMalformed
	}
	community := req[cs:ce]
	if !bytes.Equal(community, d.farm.community) {
		return nil, 0, dropCommunity
	}
	var p pdu
	if !s.parsePDU(req, ce, &p) {
		return nil, 0, dropMalformed
	}
	start := 64 + len(community)
	s.grow(start + d.farm.maxMsg)
	h := d.hostile.Load()
	var a answer
	if h != nil && h.rewritesWalks() && version == 1 && (p.typ == ber.PDUGetNext || p.typ == ber.PDUGetBulk) {
		a = d.hostileAnswer(s, &p, h, now, s.out, start, d.farm.maxMsg-start)
	} else {
		a = d.answerPDU(s, &p, version == 0, now, s.out, start, d.farm.maxMsg-start, hint)
	}
	if a.drop {
		return nil, 0, dropMalformed
	}
	if h != nil && h.WrongRequestID {
		p.reqID = otherID(p.reqID)
	}
	buf, pos, end := finishPDU(&a, &p, start)
	pos = ber.PrependBytes(buf, pos, ber.TagOctetString, community)
	pos = ber.PrependInt(buf, pos, version)
	pos = ber.PrependHeader(buf, pos, ber.TagSequence, end-pos)
	s.keep(buf)
	if h != nil && h.Truncate {
		end = pos + (end-pos)/2
	}
	return buf[pos:end], a.count, answered
}

// grow makes s.out at least n bytes long (plus room for one large varbind).
func (s *scratch) grow(n int) {
	if len(s.out) < n+1024 {
		s.out = make([]byte, n+1024)
	}
}

// keep adopts buf when append had to reallocate it (a huge value).
func (s *scratch) keep(buf []byte) {
	if cap(buf) > len(s.out) {
		s.out = buf[:cap(buf)]
	}
}
