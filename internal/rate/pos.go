package rate

import (
	"math"
	"slices"
	"strings"
	"sync"
	"weak"
)

// positional is one resource's previous samples by position, ~9 bytes a
// series: a poll of a device produces the same groups in the same order
// with the same counters each time, so the state is the groups' order
// (slots: a group's identity and its shape, the names of its rated
// counters in order, shared by every group and device with the same
// ones) and, per series in that order, the previous value and a one-byte
// index into the resource's few distinct stamps (timestamp, sysUpTime,
// discontinuity time, flags: a poll stamps a column with one time and a
// device with one sysUpTime). A poll whose groups match walks the values
// by index: no series hash, no search. The sorted table by series hash
// it replaced as the main store (issue 15) held 20.6 bytes a series, most
// of it the 8-byte hash.
//
// A group not where the slots expect it is searched for among them (a
// reordered poll; the slots then take the poll's order), a new group gets
// a slot at the end, a group with a counter its shape lacks gets a wider
// shape (the missing counters keep their samples, at the end), and a
// group missing some counters of its shape updates the others by name.
// Series whose stamp cannot be held (more distinct stamps than a byte
// indexes) live in the resource's table by hash instead, as do the series
// read from a version 1 or 2 KV entry until their group is next polled.
type positional struct {
	slots   []slot
	vals    []uint64 // by position: a slot's series follow the previous slots' (slotOff), in its shape's order
	si      []uint8  // index in stamps of each position's sample; absent: none
	stamps  []pstamp
	live    int // len(stamps) after the last compaction
	hot     [stampCache]uint8
	next    int // the slot an Apply expects next
	nextOff int // where its series start
}

// slot is one group of a resource: its identity (groupHash) and its
// shape. Where its series start in vals is the sum of the previous slots'
// shapes' lengths: an Apply walking the slots in order carries it along.
type slot struct {
	hash  uint64
	shape *shape
}

// shape is the names of a group's rated counters in order, interned (see
// internShape): immutable once made.
type shape struct{ names []string }

// pstamp is what a poll's series share: a column's timestamp, the
// device's sysUpTime, the interface's discontinuity time (0 without
// flagDisc) and the sample's flags.
type pstamp struct {
	at     float64
	uptime uint32
	disc   uint32
	flags  uint8
}

// absent marks a position with no sample (never stored, evicted, stale
// since its slot was added, or kept in the table by hash).
const absent = math.MaxUint8

// maxStamps bounds stamps (a variable so a test can make it small).
var maxStamps = absent

func (p *positional) len() int { return len(p.vals) }

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
		off += len(p.slots[i].shape.names)
	}
	return -1, off, true
}

// get returns the sample at position i.
func (p *positional) get(i int) (sample, bool) {
	x := p.si[i]
	if x == absent {
		return sample{}, false
	}
	st := &p.stamps[x]
	return sample{value: p.vals[i], at: st.at, uptime: st.uptime, disc: st.disc, flags: st.flags}, true
}

// set stores s at position i; false when its stamp does not fit (the
// position is then absent: the caller keeps s by hash).
func (p *positional) set(i int, s sample) bool {
	p.si[i] = absent // its old stamp is free for a compaction in intern
	x, ok := p.intern(s)
	if !ok {
		return false
	}
	p.vals[i], p.si[i] = s.value, x
	return true
}

func pstampOf(s sample) pstamp {
	st := pstamp{at: s.at, uptime: s.uptime, flags: s.flags}
	if s.flags&flagDisc != 0 {
		st.disc = s.disc // compute reads it only with the flag
	}
	return st
}

func (st pstamp) slot() int {
	h := math.Float64bits(st.at) ^ uint64(st.uptime)<<7 ^ uint64(st.disc)<<29
	return int((h ^ h>>17 ^ h>>31) % stampCache)
}

// intern returns the index of s's stamp, adding it when new (compacting
// first when the stamps are full; false when they are full even then).
func (p *positional) intern(s sample) (uint8, bool) {
	st := pstampOf(s)
	slot := st.slot()
	if h := p.hot[slot]; h != 0 && p.stamps[h-1] == st {
		return h - 1, true
	}
	for i := len(p.stamps) - 1; i >= 0; i-- {
		if p.stamps[i] == st {
			p.hot[slot] = uint8(i + 1)
			return uint8(i), true
		}
	}
	if len(p.stamps) >= maxStamps {
		p.compact()
		if len(p.stamps) >= maxStamps {
			return absent, false
		}
	}
	p.stamps = append(p.stamps, st)
	p.hot[slot] = uint8(len(p.stamps))
	return uint8(len(p.stamps) - 1), true
}

// tidy drops the stamps no position uses any more (each poll stamps its
// series anew, so the previous poll's go unused): at the end of an Apply
// that added some.
func (p *positional) tidy() {
	if len(p.stamps) > p.live {
		p.compact()
	}
}

// compact drops the stamps no position uses, keeping the order of the
// rest.
func (p *positional) compact() {
	var used [absent]uint8 // new index + 1
	for _, x := range p.si {
		if x != absent {
			used[x] = 1
		}
	}
	n := 0
	for i := range p.stamps {
		if used[i] != 0 {
			p.stamps[n] = p.stamps[i]
			used[i] = uint8(n + 1)
			n++
		}
	}
	if n != len(p.stamps) {
		for i, x := range p.si {
			if x != absent {
				p.si[i] = used[x] - 1
			}
		}
	}
	p.stamps = p.stamps[:n]
	if cap(p.stamps) > n+n/4 { // a poll's stamps, then the next's: held at their number
		p.stamps = slices.Clip(slices.Clone(p.stamps))
	}
	p.hot = [stampCache]uint8{}
	p.live = n
}

// match reports whether the rated counters of g (by rated) are slot k's
// shape, in order.
func (p *positional) match(k int, ms []metricRef) bool {
	names := p.slots[k].shape.names
	if len(names) != len(ms) {
		return false
	}
	for j, m := range ms {
		if names[j] != m.name {
			return false
		}
	}
	return true
}

// metricRef is a rated counter of a group being applied: its index in the
// group's metrics and its name.
type metricRef struct {
	i    int
	name string
}

// fit makes slot k at off (-1: a new slot for a group with hash h) hold
// every counter of ms, and returns the slot and where its series start: a
// new group's shape is its
// counters; a group with a counter its shape lacks gets the group's
// counters in order, then those of the old shape it lacks (which keep
// their samples). A group missing some of its shape's counters keeps
// the shape.
func (p *positional) fit(k, off int, h uint64, ms []metricRef) (int, int) {
	if k < 0 {
		names := make([]string, len(ms))
		for j, m := range ms {
			names[j] = m.name
		}
		off := len(p.vals)
		p.slots = append(p.slots, slot{hash: h, shape: internShape(names)})
		p.vals = append(p.vals, make([]uint64, len(ms))...)
		for range ms {
			p.si = append(p.si, absent)
		}
		return len(p.slots) - 1, off
	}
	old := p.slots[k].shape.names
	grow := false
	for _, m := range ms {
		if !slices.Contains(old, m.name) {
			grow = true
			break
		}
	}
	if !grow {
		return k, off
	}
	names := make([]string, 0, len(ms)+len(old))
	for _, m := range ms {
		names = append(names, m.name)
	}
	for _, n := range old {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	p.reshape(k, off, internShape(names))
	return k, off
}

// reshape gives slot k, whose series start at off, the shape sh, whose
// names include every name of its current shape: each series moves to its
// name's new position.
func (p *positional) reshape(k, off int, sh *shape) {
	oldNames := p.slots[k].shape.names
	n := len(p.vals) - len(oldNames) + len(sh.names)
	vals, si := make([]uint64, 0, n), make([]uint8, 0, n)
	vals, si = append(vals, p.vals[:off]...), append(si, p.si[:off]...)
	for _, name := range sh.names {
		if j := slices.Index(oldNames, name); j >= 0 {
			vals, si = append(vals, p.vals[off+j]), append(si, p.si[off+j])
		} else {
			vals, si = append(vals, 0), append(si, absent)
		}
	}
	end := off + len(oldNames)
	vals, si = append(vals, p.vals[end:]...), append(si, p.si[end:]...)
	p.vals, p.si = vals, si
	p.slots[k].shape = sh
}

// reorder puts the slots in order (a permutation of their indexes: the
// order a poll visited them), so the next poll in that order finds each
// group where it is expected.
func (p *positional) reorder(order []int) {
	offs := make([]int, len(p.slots))
	off := 0
	for k, s := range p.slots {
		offs[k] = off
		off += len(s.shape.names)
	}
	slots := make([]slot, 0, len(p.slots))
	vals, si := make([]uint64, 0, len(p.vals)), make([]uint8, 0, len(p.si))
	for _, k := range order {
		s, off := p.slots[k], offs[k]
		n := len(s.shape.names)
		vals, si = append(vals, p.vals[off:off+n]...), append(si, p.si[off:off+n]...)
		slots = append(slots, s)
	}
	p.slots, p.vals, p.si = slots, vals, si
}

// evict makes the samples older than cutoff absent, drops the counters
// absent from a shape (and the slots with none left), and compacts.
func (p *positional) evict(cutoff float64) {
	gone := false
	for i, x := range p.si {
		if x != absent && p.stamps[x].at < cutoff {
			p.si[i] = absent
		}
		if p.si[i] == absent {
			gone = true
		}
	}
	if gone {
		slots := p.slots[:0]
		vals, si := p.vals[:0], p.si[:0] // in place: writes never pass reads
		off := 0
		for _, s := range p.slots {
			n := len(s.shape.names)
			var names []string
			for j, name := range s.shape.names {
				if p.si[off+j] != absent {
					names = append(names, name)
				}
			}
			if len(names) > 0 {
				for j := range s.shape.names {
					if x := p.si[off+j]; x != absent {
						vals, si = append(vals, p.vals[off+j]), append(si, x)
					}
				}
				if len(names) != len(s.shape.names) {
					s.shape = internShape(names)
				}
			}
			off += n
			if len(names) > 0 {
				slots = append(slots, s)
			}
		}
		p.slots, p.vals, p.si = shrink(slots), shrink(vals), shrink(si)
	}
	p.compact()
}

// clip gives the slices back the room appends left (after a layout
// change: a resource's first poll appends slot after slot).
func (p *positional) clip() {
	if cap(p.vals) > len(p.vals) {
		p.vals = slices.Clip(slices.Clone(p.vals))
	}
	if cap(p.si) > len(p.si) {
		p.si = slices.Clip(slices.Clone(p.si))
	}
	if cap(p.slots) > len(p.slots) {
		p.slots = slices.Clip(slices.Clone(p.slots))
	}
}

// each calls f for every stored sample with its series hash.
func (p *positional) each(f func(key uint64, s sample)) {
	off := 0
	for _, sl := range p.slots {
		for j, name := range sl.shape.names {
			if s, ok := p.get(off + j); ok {
				f(seriesHash(sl.hash, name), s)
			}
		}
		off += len(sl.shape.names)
	}
}

// shapes interns shapes process-wide: 10,000 switches of one model share
// a few. Weak pointers let the shapes no resource uses any more go.
var shapes struct {
	sync.Mutex
	m       map[string]weak.Pointer[shape]
	sweepAt int
}

// internShape returns the shape of names (copied when new).
func internShape(names []string) *shape {
	key := strings.Join(names, "\x00")
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
	s := &shape{names: make([]string, len(names))}
	for i, n := range names {
		s.names[i] = strings.Clone(n)
	}
	shapes.m[key] = weak.Make(s)
	return s
}
