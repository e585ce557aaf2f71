package sim

import (
	"github.com/panoptes-go/panoptes/internal/ber"
)

// A device's overlay is a small Recording of objects that belong to that
// device alone (its LLDP and CDP neighbours, BGP sessions, interfaces taken
// down), served over its shared template: an overlay object adds to the
// template or replaces the template's object of the same OID. It is
// replaced as a whole (copy on write) when the simulated network changes,
// so a request reads one consistent overlay. Devices without one answer on
// the template's fast path, unchanged.

// ref names an object of the merged view: base index i as i, overlay index
// j as -(j+1); noRef is past the end.
type ref int

const noRef ref = -1 << 62

func ovRef(j int) ref { return ref(-(j + 1)) }

// merged is a device's template with its overlay on top.
type merged struct {
	base, ov *Recording
}

// entry returns the recording and index of r.
func (m merged) at(r ref) (*Recording, int) {
	if r >= 0 {
		return m.base, int(r)
	}
	return m.ov, int(-r) - 1
}

func (m merged) arcs(r ref) []uint32 {
	rec, i := m.at(r)
	return rec.oidArcs(&rec.entries[i])
}

func (m merged) tag(r ref) byte {
	rec, i := m.at(r)
	return rec.entries[i].tag
}

// exact returns the object named arcs, or noRef.
func (m merged) exact(arcs []uint32) ref {
	if j := m.ov.exact(arcs); j >= 0 {
		return ovRef(j)
	}
	if i := m.base.exact(arcs); i >= 0 {
		return ref(i)
	}
	return noRef
}

// next returns the first object after arcs (skipping Counter64 objects for
// SNMPv1), or noRef. An overlay object hides the template's of the same OID.
func (m merged) next(arcs []uint32, v1 bool) ref {
	for {
		i, j := m.base.next(arcs, -1), m.ov.next(arcs, -1)
		var r ref
		switch {
		case i >= len(m.base.entries) && j >= len(m.ov.entries):
			return noRef
		case j >= len(m.ov.entries):
			r = ref(i)
		case i >= len(m.base.entries):
			r = ovRef(j)
		case ber.CompareArcs(m.base.oidArcs(&m.base.entries[i]), m.ov.oidArcs(&m.ov.entries[j])) < 0:
			r = ref(i)
		default:
			r = ovRef(j)
		}
		if v1 && m.tag(r) == ber.TagCounter64 {
			arcs = m.arcs(r)
			continue
		}
		return r
	}
}

// last is the merged view's last object.
func (m merged) last() ref {
	i, j := len(m.base.entries)-1, len(m.ov.entries)-1
	if ber.CompareArcs(m.base.oidArcs(&m.base.entries[i]), m.ov.oidArcs(&m.ov.entries[j])) > 0 {
		return ref(i)
	}
	return ovRef(j)
}

func (m merged) missingTag(arcs []uint32) byte {
	if m.ov.missingTag(arcs) == ber.TagNoSuchInstance {
		return ber.TagNoSuchInstance
	}
	return m.base.missingTag(arcs)
}

// answerMerged is answerPDU for a device with an overlay: the same
// semantics over the merged view, without the walk hint (an overlay device
// pays a binary search per varbind).
func (d *Device) answerMerged(s *scratch, p *pdu, v1 bool, now int64, buf []byte, start, limit int, ov *Recording) answer {
	m := merged{base: d.rec, ov: ov}
	l := d.life.Load()
	dst := buf[:start]
	put := func(dst []byte, r ref) []byte {
		rec, i := m.at(r)
		return d.putFrom(dst, rec, i, l, now)
	}
	switch p.typ {
	case ber.PDUGet:
		for k := range s.vbs {
			v := &s.vbs[k]
			r := m.exact(s.arcsOf(v))
			if r != noRef && !(v1 && m.tag(r) == ber.TagCounter64) {
				dst = put(dst, r)
			} else if v1 {
				return answer{buf: dst, errStat: errNoSuchName, errIdx: k + 1}
			} else {
				dst = putException(dst, v.oid, m.missingTag(s.arcsOf(v)))
			}
			if len(dst)-start > limit {
				return answer{buf: dst, errStat: errTooBig}
			}
		}
	case ber.PDUGetNext:
		for k := range s.vbs {
			v := &s.vbs[k]
			if r := m.next(s.arcsOf(v), v1); r != noRef {
				dst = put(dst, r)
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
		return d.bulkMerged(s, p, m, put, dst, start, limit)
	default: // SET and non-requests: as answerPDU
		return d.answerPDU(s, p, v1, now, buf, start, limit, new(int))
	}
	return answer{buf: dst, end: len(dst), count: len(s.vbs)}
}

// bulkMerged is bulk over the merged view.
func (d *Device) bulkMerged(s *scratch, p *pdu, m merged, put func([]byte, ref) []byte, dst []byte, start, limit int) answer {
	nonRep := int(min(max(p.errStat, 0), int64(len(s.vbs))))
	maxRep := int(min(max(p.errIdx, 0), 1<<16))
	count := 0
	for k := 0; k < nonRep; k++ {
		v := &s.vbs[k]
		mark := len(dst)
		if r := m.next(s.arcsOf(v), false); r != noRef {
			dst = put(dst, r)
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
	type rep struct {
		pos   ref
		moved bool
		vb    int
	}
	reps := make([]rep, 0, len(s.vbs)-nonRep)
	for k := nonRep; k < len(s.vbs); k++ {
		reps = append(reps, rep{pos: m.next(s.arcsOf(&s.vbs[k]), false), vb: k})
	}
	for row := 0; row < maxRep; row++ {
		allEnd := true
		for j := range reps {
			rp := &reps[j]
			mark := len(dst)
			switch {
			case rp.pos != noRef:
				dst = put(dst, rp.pos)
				allEnd = false
			case rp.moved:
				rec, i := m.at(m.last())
				dst = putException(dst, rec.oidTLV(&rec.entries[i]), ber.TagEndOfMibView)
			default:
				dst = putException(dst, s.vbs[rp.vb].oid, ber.TagEndOfMibView)
			}
			if len(dst)-start > limit {
				return answer{buf: dst[:mark], end: mark, count: count}
			}
			count++
			if rp.pos != noRef {
				rp.pos = m.next(m.arcs(rp.pos), false)
				rp.moved = true
			}
		}
		if allEnd {
			break
		}
	}
	return answer{buf: dst, end: len(dst), count: count}
}

// overlayValue returns the overlay's INTEGER at arcs, if the device has an
// overlay holding one (interface statuses the network changed).
func (d *Device) overlayInt(arcs []uint32) (int64, bool) {
	ov := d.over.Load()
	if ov == nil {
		return 0, false
	}
	j := ov.exact(arcs)
	if j < 0 || ov.entries[j].tag != ber.TagInteger {
		return 0, false
	}
	tlv := ov.valueTLV(&ov.entries[j])
	_, s, e, ok := ber.ReadTLV(tlv, 0)
	if !ok {
		return 0, false
	}
	return ber.DecodeInt(tlv[s:e])
}
