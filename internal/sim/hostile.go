package sim

import (
	"strconv"

	"github.com/panoptes-go/panoptes/internal/ber"
)

// Hostile makes a device misbehave the way broken or hostile agents do, so
// that tests can show a poller survives them. It applies to SNMPv1/v2c
// requests (the walk modes to v2c GETNEXT and GETBULK); SNMPv3 requests are
// answered normally. The zero value is a well-behaved agent. Combine it
// with SetFault's latency, loss and silence.
type Hostile struct {
	// AnswerEvery answers one request in AnswerEvery (the first, then every
	// AnswerEvery-th) and drops the others, counted as Lost; 0 and 1
	// answer every request.
	AnswerEvery int
	// WrongRequestID answers with another request id (the request's + 1).
	WrongRequestID bool
	// Truncate sends the first half of each answer only.
	Truncate bool
	// Oversize answers a GETBULK with as many repetitions as fit the
	// farm's largest message (65,507 octets by default), whatever
	// max-repetitions the request asked for.
	Oversize bool
	// Stuck answers GETNEXT and GETBULK with the entry the request names,
	// when it exists, instead of its successor: a walk's OIDs stop
	// increasing.
	Stuck bool
	// LoopEvery makes the successor of every LoopEvery-th entry of the
	// recording the entry LoopEvery-1 before it: a walk goes round a loop
	// of LoopEvery entries (its OIDs go back).
	LoopEvery int
	// TableRows replaces the recording's ifTable by one of TableRows rows
	// (all 22 columns, plausible values), generated per request: a table
	// of any size that costs the simulator no memory.
	TableRows int
	// DropAbove drops every answer longer than DropAbove octets, counted as
	// Lost: a path that drops fragmented UDP (a firewall, a tunnel) never
	// delivers an answer larger than its MTU.
	DropAbove int
}

// SetHostile sets the device's hostile behaviour; the zero Hostile restores
// a well-behaved agent.
func (d *Device) SetHostile(h Hostile) {
	if h == (Hostile{}) {
		d.hostile.Store(nil)
		return
	}
	d.hostile.Store(&h)
}

// rewritesWalks reports whether GETNEXT and GETBULK take the hostile path.
func (h *Hostile) rewritesWalks() bool {
	return h.Oversize || h.Stuck || h.LoopEvery > 1 || h.TableRows > 0
}

// admit counts a request and reports whether the device answers it.
func (d *Device) admit(h *Hostile) bool {
	if h.AnswerEvery <= 1 {
		return true
	}
	return (d.hostileN.Add(1)-1)%uint64(h.AnswerEvery) == 0
}

// otherID is reqID's INTEGER content plus one.
func otherID(reqID []byte) []byte {
	id, _ := ber.DecodeInt(reqID)
	return ber.AppendInt(nil, ber.TagInteger, int64(int32(id+1)))[2:]
}

// tableColumns is the number of ifTable columns the synthetic table has.
const tableColumns = 22

// tableEnd is the first OID after the ifTable subtree.
var tableEnd = []uint32{1, 3, 6, 1, 2, 1, 2, 2, 2}

// cursor is a position in a hostile device's view: a recording entry, a
// row of the synthetic table, or the end of the MIB.
type cursor struct {
	end  bool
	virt bool
	i    int      // recording entry (virt false)
	arcs []uint32 // synthetic OID (virt true)
}

// virtualArcs is the synthetic table's OID of column col, row row.
func virtualArcs(col, row uint64) []uint32 {
	return append(append(make([]uint32, 0, len(oidIfEntry)+2), oidIfEntry...), uint32(col), uint32(row))
}

// virtualNext is the first synthetic OID after arcs, if any.
func virtualNext(arcs []uint32, rows int) ([]uint32, bool) {
	if rows <= 0 {
		return nil, false
	}
	if !ber.HasPrefix(arcs, oidIfEntry) {
		if ber.CompareArcs(arcs, oidIfEntry) < 0 {
			return virtualArcs(1, 1), true
		}
		return nil, false
	}
	rest := arcs[len(oidIfEntry):]
	if len(rest) == 0 || rest[0] == 0 {
		return virtualArcs(1, 1), true
	}
	col, row := uint64(rest[0]), uint64(0)
	if len(rest) >= 2 {
		row = uint64(rest[1])
	}
	switch {
	case col > tableColumns:
		return nil, false
	case row+1 <= uint64(rows):
		return virtualArcs(col, row+1), true
	case col < tableColumns:
		return virtualArcs(col+1, 1), true
	}
	return nil, false
}

// virtualExact reports whether arcs names a synthetic entry.
func virtualExact(arcs []uint32, rows int) bool {
	if rows <= 0 || len(arcs) != len(oidIfEntry)+2 || !ber.HasPrefix(arcs, oidIfEntry) {
		return false
	}
	col, row := arcs[len(oidIfEntry)], arcs[len(oidIfEntry)+1]
	return col >= 1 && col <= tableColumns && row >= 1 && uint64(row) <= uint64(rows)
}

// hostileNext is what a hostile device answers a GETNEXT of arcs with.
func (d *Device) hostileNext(h *Hostile, arcs []uint32) cursor {
	r := d.rec
	if h.Stuck {
		if i := r.exact(arcs); i >= 0 && !(h.TableRows > 0 && ber.HasPrefix(arcs, oidIfEntry)) {
			return cursor{i: i}
		}
		if virtualExact(arcs, h.TableRows) {
			return cursor{virt: true, arcs: append([]uint32(nil), arcs...)}
		}
	}
	if h.LoopEvery > 1 {
		if i := r.exact(arcs); i >= 0 && (i+1)%h.LoopEvery == 0 {
			return cursor{i: i + 1 - h.LoopEvery}
		}
	}
	i := r.next(arcs, -1)
	if h.TableRows > 0 {
		if i < len(r.entries) && ber.HasPrefix(r.oidArcs(&r.entries[i]), oidIfEntry) {
			i = r.search(tableEnd) // the synthetic table replaces the recorded one
		}
		if v, ok := virtualNext(arcs, h.TableRows); ok && (i >= len(r.entries) || ber.CompareArcs(v, r.oidArcs(&r.entries[i])) < 0) {
			return cursor{virt: true, arcs: v}
		}
	}
	if i >= len(r.entries) {
		return cursor{end: true}
	}
	return cursor{i: i}
}

// arcsAt is the OID at c.
func (d *Device) arcsAt(c cursor) []uint32 {
	if c.virt {
		return c.arcs
	}
	return d.rec.oidArcs(&d.rec.entries[c.i])
}

// putCursor appends c's varbind.
func (d *Device) putCursor(dst []byte, c cursor, l *life, now int64) []byte {
	if !c.virt {
		return d.putEntry(dst, c.i, l, now)
	}
	oid := ber.AppendOID(nil, c.arcs)
	col, row := c.arcs[len(oidIfEntry)], uint64(c.arcs[len(oidIfEntry)+1])
	var val []byte
	switch col {
	case 1:
		val = ber.AppendInt(nil, ber.TagInteger, int64(row))
	case 2:
		name := strconv.AppendUint([]byte("synthetic"), row, 10)
		val = append(ber.AppendHeader(nil, ber.TagOctetString, len(name)), name...)
	case 3:
		val = ber.AppendInt(nil, ber.TagInteger, 6) // ethernetCsmacd
	case 4:
		val = ber.AppendInt(nil, ber.TagInteger, 1500)
	case 5:
		val = ber.AppendUint(nil, ber.TagGauge32, 1e9)
	case 6:
		val = ber.AppendHeader(nil, ber.TagOctetString, 0)
	case 7, 8:
		val = ber.AppendInt(nil, ber.TagInteger, 1) // up
	case 9, 21:
		val = ber.AppendUint(nil, ber.TagTimeTicks, 0)
		if col == 21 {
			val[0] = ber.TagGauge32
		}
	case 22:
		val = append(ber.AppendHeader(nil, ber.TagOID, 1), 0) // .0.0
	default:
		val = ber.AppendUint(nil, ber.TagCounter32, uint64(uint32(row*uint64(col))))
	}
	dst = ber.AppendHeader(dst, ber.TagSequence, 1+ber.LenSize(len(oid))+len(oid)+len(val))
	dst = append(ber.AppendHeader(dst, ber.TagOID, len(oid)), oid...)
	return append(dst, val...)
}

// hostileAnswer answers a v2c GETNEXT or GETBULK through the hostile view
// (see Hostile), within limit octets from start.
func (d *Device) hostileAnswer(s *scratch, p *pdu, h *Hostile, now int64, buf []byte, start, limit int) answer {
	l := d.life.Load()
	dst := buf[:start]
	if p.typ == ber.PDUGetNext {
		for k := range s.vbs {
			v := &s.vbs[k]
			if c := d.hostileNext(h, s.arcsOf(v)); c.end {
				dst = putException(dst, v.oid, ber.TagEndOfMibView)
			} else {
				dst = d.putCursor(dst, c, l, now)
			}
			if len(dst)-start > limit {
				return answer{buf: dst, errStat: errTooBig}
			}
		}
		return answer{buf: dst, end: len(dst), count: len(s.vbs)}
	}
	nonRep := int(min(max(p.errStat, 0), int64(len(s.vbs))))
	maxRep := int(min(max(p.errIdx, 0), 1<<16))
	if h.Oversize {
		maxRep = 1 << 16
	}
	count := 0
	cur := make([][]uint32, len(s.vbs))
	ended := make([]bool, len(s.vbs))
	for k := range s.vbs {
		cur[k] = s.arcsOf(&s.vbs[k])
	}
	// put answers varbind k from its current position; false when full.
	put := func(k int) bool {
		mark := len(dst)
		if c := d.hostileNext(h, cur[k]); c.end || ended[k] {
			ended[k] = true
			oid := ber.AppendOID(nil, cur[k])
			dst = putException(dst, append(ber.AppendHeader(nil, ber.TagOID, len(oid)), oid...), ber.TagEndOfMibView)
		} else {
			dst = d.putCursor(dst, c, l, now)
			cur[k] = d.arcsAt(c)
		}
		if len(dst)-start > limit {
			dst = dst[:mark]
			return false
		}
		count++
		return true
	}
	for k := 0; k < nonRep; k++ {
		if !put(k) {
			return answer{buf: dst, end: len(dst), count: count}
		}
	}
	for row := 0; row < maxRep && nonRep < len(s.vbs); row++ {
		allEnd := true
		for k := nonRep; k < len(s.vbs); k++ {
			if !put(k) {
				return answer{buf: dst, end: len(dst), count: count}
			}
			allEnd = allEnd && ended[k]
		}
		if allEnd {
			break
		}
	}
	return answer{buf: dst, end: len(dst), count: count}
}
