package rate

import (
	"math"
	"slices"
	"strings"
	"sync"
	"weak"
)

// positional is one resource's previous samples by position, 2, 4 or 8
// bytes a series (as its values need): a poll of a device produces the
// same groups in the same order with the same counters each time, so the
// state is the groups' order
// (slots: a group's identity and its shape, the names of its rated
// counters in order, shared by every group and device with the same
// ones), the previous value of each series in that order, and for each
// slot a row: the index of each of its series' stamp among the resource's
// few distinct ones (timestamp, sysUpTime, flags). A
// poll stamps a column with one time and a device with one sysUpTime, so
// the slots of one shape mostly have the same row, held once. A poll
// whose groups match walks the values by index: no series hash, no
// search. The sorted table by series hash it replaced as the main store
// (issue 15) held 20.6 bytes a series, most of it the 8-byte hash.
//
// A group not where the slots expect it is searched for among them (a
// reordered poll; the slots then take the poll's order), a new group gets
// a slot at the end, a group with a counter its shape lacks gets a wider
// shape (the missing counters keep their samples, at the end), and a
// group missing some counters of its shape updates the others by name.
// The discontinuity time is the slot's (one per interface: in the stamps,
// a device with a counter discontinuity time per port had stamps ×
// ports). A stamp index is 16 bits: a gNMI target stamps each interface
// with its own time, hundreds of stamps a poll. Series whose stamp cannot
// be held (more than 65,534 distinct ones) or whose discontinuity time is
// not their group's live in the resource's table by hash instead, as do
// the series read from a version 1 or 2 KV entry until their group is
// next polled.
type positional struct {
	slots    []slot
	rows     []sidx // the rows: index in stamps of each series' sample (absent: none)
	vals     values // by position: a slot's series follow the previous slots', in its shape's order
	stamps   []pstamp
	live     int // len(stamps) after the last compaction
	liveRows int // len(rows) likewise
	hot      [stampCache]sidx
	full     bool // a compaction freed no stamp: until tidy, new stamps go to the table
	lastRow  int  // where the row interned last starts (-1: none)
	next     int  // the slot an Apply expects next
	nextOff  int  // where its series start
}

// slot is one group of a resource: its identity (groupHash) and its
// shape. Where its values start in vals is the sum of the previous slots'
// shapes' units: an Apply walking the slots in order carries it along.
type slot struct {
	hash  uint64
	shape *shape
	disc  uint32 // the group's discontinuity time (read only with flagDisc)
	ri    uint32 // where its row starts in rows (its length is its shape's)
}

// shape is the names of a group's rated counters in order and the width
// of each one's value, interned (see internShape): immutable once made. A
// value is held in as many 2-byte units as it needs, 1, 2 or 4: a
// switch's errors, discards and dot3 counters (~60 % of its series) are
// mostly small, its octets and packets large. A counter's width is the
// widest its values needed in that group: a shape only widens.
type shape struct {
	names []string
	rates []string // each name's rate gauge: name + Suffix
	width []uint8  // each name's value's units: 1, 2 or 4
	uoff  []uint32 // where each name's value starts among the slot's units
	units int      // the slot's units
}

// widthOf is the units v needs.
func widthOf(v uint64) uint8 {
	switch {
	case v <= math.MaxUint16:
		return 1
	case v <= math.MaxUint32:
		return 2
	}
	return 4
}

// value is series j of a slot of shape sh whose units start at off.
func (p *positional) value(sh *shape, j, off int) uint64 {
	u := off + int(sh.uoff[j])
	switch sh.width[j] {
	case 1:
		return uint64(p.vals.at(u))
	case 2:
		return uint64(p.vals.at(u))<<16 | uint64(p.vals.at(u+1))
	}
	return uint64(p.vals.at(u))<<48 | uint64(p.vals.at(u+1))<<32 | uint64(p.vals.at(u+2))<<16 | uint64(p.vals.at(u+3))
}

// appendValue appends v to units as a series of width w holds it.
func appendValue(units []uint16, w uint8, v uint64) []uint16 {
	for i := int(w) - 1; i >= 0; i-- {
		units = append(units, uint16(v>>(16*i)))
	}
	return units
}

// flatValue is series j of a slot of shape sh at off in flat (units).
func flatValue(flat []uint16, sh *shape, j, off int) uint64 {
	u, v := off+int(sh.uoff[j]), uint64(0)
	for _, x := range flat[u : u+int(sh.width[j])] {
		v = v<<16 | uint64(x)
	}
	return v
}

// pstamp is what a poll's series share: a column's timestamp, the
// device's sysUpTime and the sample's flags.
type pstamp struct {
	at     float64
	uptime uint32
	flags  uint8
}

// sidx is the index of a stamp.
type sidx = uint16

// absent marks a series with no sample (never stored, evicted, stale
// since its slot was added, or kept in the table by hash).
const absent = math.MaxUint16

// maxStamps bounds stamps (a variable so a test can make it small).
var maxStamps = absent

// row is slot k's row (in rows: read only; copy it to change it).
func (p *positional) row(k int) []sidx {
	o := int(p.slots[k].ri)
	return p.rows[o : o+len(p.slots[k].shape.names) : o+len(p.slots[k].shape.names)]
}

// find returns the slot of the group with hash h and where its series
// start: the one expected next, else a search (-1: none, off the end). It
// sets missed when it had to search.
func (p *positional) find(h uint64) (k, off int, missed bool) {
	if p.next < len(p.slots) && p.slots[p.next].hash == h {
		return p.next, p.nextOff, false
	}
	for i := range p.slots {
		if p.slots[i].hash == h {
			return i, off, true
		}
		off += p.slots[i].shape.units
	}
	return -1, off, true
}

// get returns the sample of series j of a slot of shape sh (row: its row,
// or a copy being changed) whose values start at off, disc being the
// slot's discontinuity time.
func (p *positional) get(row []sidx, sh *shape, j, off int, disc uint32) (sample, bool) {
	x := row[j]
	if x == absent {
		return sample{}, false
	}
	st := &p.stamps[x]
	s := sample{value: p.value(sh, j, off), at: st.at, uptime: st.uptime, flags: st.flags}
	if st.flags&flagDisc != 0 {
		s.disc = disc
	}
	return s, true
}

// set stores s as series j of a slot of shape sh whose values start at
// off, row being a copy of the slot's row that commit then puts in place;
// false when its stamp or its value does not fit (the series is then
// absent: the caller keeps s by hash). s's discontinuity time is the
// caller's to put in the slot.
func (p *positional) set(row []sidx, sh *shape, j, off int, s sample) bool {
	row[j] = absent                     // its old stamp is free for a compaction in intern
	if widthOf(s.value) > sh.width[j] { // fit widens the shape first: never, but exact if so
		return false
	}
	x, ok := p.intern(s, row)
	if !ok {
		return false
	}
	u, v := off+int(sh.uoff[j]), s.value
	switch sh.width[j] {
	case 1:
		p.vals.put(u, uint16(v))
	case 2:
		p.vals.put(u, uint16(v>>16))
		p.vals.put(u+1, uint16(v))
	default:
		p.vals.put(u, uint16(v>>48))
		p.vals.put(u+1, uint16(v>>32))
		p.vals.put(u+2, uint16(v>>16))
		p.vals.put(u+3, uint16(v))
	}
	row[j] = x
	return true
}

// commit makes row (changed by set) slot k's row.
func (p *positional) commit(k int, row []sidx) {
	if !slices.Equal(p.row(k), row) {
		p.slots[k].ri = p.internRow(row)
	}
}

// internRow returns where a row equal to row starts in rows: the one
// interned last (the slots of a shape mostly share it), else a new one.
// Rows no slot uses any more go at the next compaction.
func (p *positional) internRow(row []sidx) uint32 {
	if o := p.lastRow; o >= 0 && o+len(row) <= len(p.rows) && slices.Equal(p.rows[o:o+len(row)], row) {
		return uint32(o)
	}
	p.lastRow = len(p.rows)
	p.rows = append(p.rows, row...)
	return uint32(p.lastRow)
}

func pstampOf(s sample) pstamp {
	return pstamp{at: s.at, uptime: s.uptime, flags: s.flags}
}

func (st pstamp) slot() int {
	h := math.Float64bits(st.at) ^ uint64(st.uptime)<<7 ^ uint64(st.flags)<<29
	return int((h ^ h>>17 ^ h>>31) % stampCache)
}

// intern returns the index of s's stamp, adding it when new (compacting
// first when the stamps are full, editing being a row not yet committed;
// false when they are full even then, and until tidy: a compaction that
// frees nothing would free nothing for the next series either, and each
// walks every row).
func (p *positional) intern(s sample, editing []sidx) (sidx, bool) {
	st := pstampOf(s)
	slot := st.slot()
	if h := p.hot[slot]; h != 0 && p.stamps[h-1] == st {
		return h - 1, true
	}
	for i := len(p.stamps) - 1; i >= 0; i-- {
		if p.stamps[i] == st {
			p.hot[slot] = sidx(i + 1)
			return sidx(i), true
		}
	}
	if len(p.stamps) >= maxStamps {
		if p.full {
			return absent, false
		}
		p.compact(editing)
		if len(p.stamps) >= maxStamps {
			p.full = true
			return absent, false
		}
	}
	p.stamps = append(p.stamps, st)
	p.hot[slot] = sidx(len(p.stamps))
	return sidx(len(p.stamps) - 1), true
}

// tidy drops the rows and stamps no slot uses any more (each poll stamps
// its series anew, so the previous poll's go unused): at the end of an
// Apply that added some.
func (p *positional) tidy() {
	p.full = false
	if len(p.stamps) > p.live || len(p.rows) > p.liveRows {
		p.compact(nil)
	}
}

// compact keeps only the rows the slots use (a row equal to the previous
// slot's is shared), then only the stamps those rows and editing use.
func (p *positional) compact(editing []sidx) {
	rows := make([]sidx, 0, len(p.rows)/2+8)
	prev, prevLen := -1, 0
	for k := range p.slots {
		r := p.row(k)
		if prev >= 0 && prevLen == len(r) && slices.Equal(rows[prev:prev+prevLen], r) {
			p.slots[k].ri = uint32(prev)
			continue
		}
		prev, prevLen = len(rows), len(r)
		p.slots[k].ri = uint32(prev)
		rows = append(rows, r...)
	}
	p.rows, p.liveRows, p.lastRow = slices.Clip(rows), len(rows), -1

	var buf [256]sidx // new index + 1 (on the stack for a switch's few stamps)
	used := buf[:]
	if len(p.stamps) > len(buf) {
		used = make([]sidx, len(p.stamps))
	} else {
		used = used[:len(p.stamps)]
	}
	for _, x := range p.rows {
		if x != absent {
			used[x] = 1
		}
	}
	for _, x := range editing {
		if x != absent {
			used[x] = 1
		}
	}
	n := 0
	for i := range p.stamps {
		if used[i] != 0 {
			p.stamps[n] = p.stamps[i]
			used[i] = sidx(n + 1)
			n++
		}
	}
	if n != len(p.stamps) {
		for _, r := range [][]sidx{p.rows, editing} {
			for i, x := range r {
				if x != absent {
					r[i] = used[x] - 1
				}
			}
		}
	}
	p.stamps = p.stamps[:n]
	if cap(p.stamps) > n+n/4 { // a poll's stamps, then the next's: held at their number
		p.stamps = slices.Clip(slices.Clone(p.stamps))
	}
	p.hot = [stampCache]sidx{}
	p.live = n
}

// match reports whether the rated counters of g (by rated) are slot k's
// shape, in order, each with room for its value.
func (p *positional) match(k int, ms []metricRef) bool {
	sh := p.slots[k].shape
	if len(sh.names) != len(ms) {
		return false
	}
	for j, m := range ms {
		if sh.names[j] != m.name || m.width > sh.width[j] {
			return false
		}
	}
	return true
}

// metricRef is a rated counter of a group being applied: its index in the
// group's metrics, its name, and the units its value needs.
type metricRef struct {
	i     int
	name  string
	width uint8
}

// fit makes slot k at off (-1: a new slot for a group with hash h) hold
// every counter of ms, and returns the slot and where its series start: a
// new group's shape is its counters; a group with a counter its shape
// lacks gets the group's counters in order, then those of the old shape
// it lacks (which keep their samples). A group missing some of its
// shape's counters keeps the shape. A name is in a shape once: a group
// with a counter twice (which no plugin should emit) never matches in
// order, and both go to the name's one position, the second rated
// against the first as by series hash.
//
// A counter's width is the widest its values need, or had: a shape only
// widens.
func (p *positional) fit(k, off int, h uint64, ms []metricRef) (int, int) {
	names, width := make([]string, 0, len(ms)), make([]uint8, 0, len(ms))
	add := func(name string, w uint8) {
		if j := slices.Index(names, name); j >= 0 {
			width[j] = max(width[j], w)
			return
		}
		names, width = append(names, name), append(width, w)
	}
	for _, m := range ms {
		add(m.name, m.width)
	}
	if k < 0 {
		row := make([]sidx, len(names))
		for j := range row {
			row[j] = absent
		}
		sh := internShape(names, width)
		off := p.vals.len()
		p.slots = append(p.slots, slot{hash: h, shape: sh, ri: p.internRow(row)})
		p.vals.grow(sh.units)
		return len(p.slots) - 1, off
	}
	old := p.slots[k].shape
	grow := false
	for j, n := range names {
		o := slices.Index(old.names, n)
		if o < 0 || width[j] > old.width[o] {
			grow = true
			break
		}
	}
	if !grow {
		return k, off
	}
	for o, n := range old.names {
		add(n, old.width[o])
	}
	p.reshape(k, off, internShape(names, width))
	return k, off
}

// reshape gives slot k, whose values start at off, the shape sh, whose
// names include every name of its current shape, each at least as wide:
// each series moves to its name's new position.
func (p *positional) reshape(k, off int, sh *shape) {
	old, oldRow := p.slots[k].shape, p.row(k)
	flat := p.vals.flat()
	vals := make([]uint16, 0, len(flat)-old.units+sh.units)
	vals = append(vals, flat[:off]...)
	row := make([]sidx, 0, len(sh.names))
	for i, name := range sh.names {
		if j := slices.Index(old.names, name); j >= 0 {
			vals, row = appendValue(vals, sh.width[i], flatValue(flat, old, j, off)), append(row, oldRow[j])
		} else {
			vals, row = appendValue(vals, sh.width[i], 0), append(row, absent)
		}
	}
	p.vals = valuesOf(append(vals, flat[off+old.units:]...))
	p.slots[k].shape = sh
	p.slots[k].ri = p.internRow(row)
}

// reorder puts the slots in order (a permutation of their indexes: the
// order a poll visited them), so the next poll in that order finds each
// group where it is expected.
func (p *positional) reorder(order []int) {
	offs := make([]int, len(p.slots))
	off := 0
	for k, s := range p.slots {
		offs[k] = off
		off += s.shape.units
	}
	slots := make([]slot, 0, len(p.slots))
	flat := p.vals.flat()
	vals := make([]uint16, 0, len(flat))
	for _, k := range order {
		s, off := p.slots[k], offs[k]
		vals = append(vals, flat[off:off+s.shape.units]...)
		slots = append(slots, s)
	}
	p.slots, p.vals = slots, valuesOf(vals)
}

// evict makes the samples older than cutoff absent, drops the counters
// absent from a shape (and the slots with none left), and compacts.
func (p *positional) evict(cutoff float64) {
	gone := false
	for _, x := range p.rows {
		if x == absent || p.stamps[x].at < cutoff {
			gone = true
			break
		}
	}
	if gone {
		var slots []slot
		var vals []uint16
		var names []string
		var width []uint8
		var row []sidx
		off := 0
		for k, s := range p.slots {
			old := p.row(k)
			names, width, row = names[:0], width[:0], row[:0]
			for j, x := range old {
				if x != absent && p.stamps[x].at >= cutoff {
					names, width, row = append(names, s.shape.names[j]), append(width, s.shape.width[j]), append(row, x)
					vals = appendValue(vals, s.shape.width[j], p.value(s.shape, j, off))
				}
			}
			off += s.shape.units
			if len(names) == 0 {
				continue
			}
			if len(names) != len(s.shape.names) {
				s.shape = internShape(names, width)
			}
			s.ri = p.internRow(row)
			slots = append(slots, s)
		}
		p.slots, p.vals = slots, valuesOf(vals)
		p.clip()
	}
	p.compact(nil)
}

// clip gives the slices back the room appends left (after a layout
// change: a resource's first poll appends slot after slot).
func (p *positional) clip() {
	p.vals.clip()
	if cap(p.slots) > len(p.slots) {
		p.slots = slices.Clip(slices.Clone(p.slots))
	}
}

// each calls f for every stored sample with its series hash.
func (p *positional) each(f func(key uint64, s sample)) {
	off := 0
	for k, sl := range p.slots {
		row := p.row(k)
		for j, name := range sl.shape.names {
			if s, ok := p.get(row, sl.shape, j, off, sl.disc); ok {
				f(seriesHash(sl.hash, name), s)
			}
		}
		off += sl.shape.units
	}
}

// values holds a resource's previous values, as 2-byte units (see
// shape), in chunks of chunkLen (8 KB, a size class of its own) and a
// last one of what remains: one slice of a switch48's 1,400 values (11,200
// bytes as uint64s) took a 12,288-byte size class.
type values struct{ c [][]uint16 }

const (
	chunkBits = 12
	chunkLen  = 1 << chunkBits
)

func (v *values) len() int {
	if len(v.c) == 0 {
		return 0
	}
	return (len(v.c)-1)<<chunkBits + len(v.c[len(v.c)-1])
}

func (v *values) at(i int) uint16     { return v.c[i>>chunkBits][i&(chunkLen-1)] }
func (v *values) put(i int, x uint16) { v.c[i>>chunkBits][i&(chunkLen-1)] = x }

// grow appends n zero units.
func (v *values) grow(n int) {
	for n > 0 {
		if len(v.c) == 0 || len(v.c[len(v.c)-1]) == chunkLen {
			v.c = append(v.c, nil)
		}
		last := &v.c[len(v.c)-1]
		k := min(n, chunkLen-len(*last))
		*last = append(*last, make([]uint16, k)...)
		n -= k
	}
}

// flat is a copy of the values in one slice.
func (v *values) flat() []uint16 {
	out := make([]uint16, 0, v.len())
	for _, c := range v.c {
		out = append(out, c...)
	}
	return out
}

// valuesOf chunks flat, each chunk exactly sized.
func valuesOf(flat []uint16) values {
	var v values
	for len(flat) > 0 {
		k := min(len(flat), chunkLen)
		v.c = append(v.c, slices.Clone(flat[:k]))
		flat = flat[k:]
	}
	v.c = slices.Clip(v.c)
	return v
}

// clip gives back the room appends left.
func (v *values) clip() {
	for i, c := range v.c {
		if cap(c) > len(c) {
			v.c[i] = slices.Clip(slices.Clone(c))
		}
	}
	if cap(v.c) > len(v.c) {
		v.c = slices.Clip(slices.Clone(v.c))
	}
}

// shapes interns shapes process-wide: 10,000 switches of one model share
// a few. Weak pointers let the shapes no resource uses any more go.
var shapes struct {
	sync.Mutex
	m       map[string]weak.Pointer[shape]
	sweepAt int
}

// internShape returns the shape of names and their widths (copied when
// new).
func internShape(names []string, width []uint8) *shape {
	var kb strings.Builder
	for j, n := range names {
		kb.WriteString(n)
		kb.WriteByte(width[j]) // 1, 2 or 4: never in a name
	}
	key := kb.String()
	shapes.Lock()
	defer shapes.Unlock()
	if wp, ok := shapes.m[key]; ok {
		if s := wp.Value(); s != nil {
			return s
		}
	}
	if shapes.m == nil {
		shapes.m = map[string]weak.Pointer[shape]{}
	}
	if len(shapes.m) >= shapes.sweepAt {
		for k, wp := range shapes.m {
			if wp.Value() == nil {
				delete(shapes.m, k)
			}
		}
		shapes.sweepAt = max(64, 2*len(shapes.m))
	}
	s := &shape{names: make([]string, len(names)), rates: make([]string, len(names)), width: slices.Clone(width), uoff: make([]uint32, len(names))}
	for i, n := range names {
		s.names[i], s.rates[i] = strings.Clone(n), n+Suffix
		s.uoff[i] = uint32(s.units)
		s.units += int(width[i])
	}
	shapes.m[key] = weak.Make(s)
	return s
}
