package rate

import (
	"math"
	"slices"
)

// table is previous samples by series hash, held compactly: 20 bytes a
// series. It holds what the state by position (positional) does not:
// Swap's series, series read from a version 1 or 2 KV entry until their
// group is polled, and series whose stamp did not fit. Rows are sorted by series hash and found by binary search; a
// row holds its hash, its value and two 16-bit indexes into small tables
// of the resource's distinct stamps (timestamp, sysUpTime, flag) and
// discontinuity times. A poll stamps each column of a table with one time
// and a whole device with one sysUpTime, so a 48-port switch's ~1,400
// series share a few dozen stamps. A map[uint64]sample held 64 bytes a
// series in a benchmark and more in a running node; rows with every field
// (hash, value, timestamp, sysUpTime, discontinuity, flags) 33 bytes:
// with rates on, that was 100 of the 186 MB live heap at 2,000 switches
// (issue 15).
//
// Series are added rarely (a resource's first poll, a new port), so they
// wait in a small map and are merged into the rows in one pass (merge),
// at the end of an Apply or once enough are waiting. Stamps no row uses
// any more (the previous polls' times) are dropped as new ones come
// (intern).
type table struct {
	keys    []uint64 // sorted, no duplicates
	vals    []uint64 // vals[i] is the value of keys[i]
	ti      []uint16 // index in times of keys[i]'s stamp (noStamp: forgotten)
	di      []uint16 // index in discs of keys[i]'s discontinuity time
	times   []stamp
	discs   []uint32
	live    int                // len(times)+len(discs) after the last compaction
	merging bool               // merge is building the rows: no compaction
	hot     [stampCache]uint16 // times index+1 of recent stamps, by stampSlot
	fresh   map[uint64]sample
}

// stamp is what many series of a poll share: the timestamp, the device's
// sysUpTime then and the sample's flags (flagDisc is kept in discs' index:
// the flag and the value travel together).
type stamp struct {
	at     float64
	uptime uint32
	flags  uint8
}

const (
	stampCache = 32
	// noStamp marks a row whose sample could not be stored (more distinct
	// stamps than an index holds even after compaction: a resource with
	// over 65,535 series each read at its own time). Such a series is
	// unseen to find, so it gives no rate rather than a wrong one.
	noStamp = math.MaxUint16
	// noDisc is the discs index of a sample without a discontinuity time.
	noDisc = math.MaxUint16 - 1
)

// maxIndex bounds times and discs (a variable so a test can make it small).
var maxIndex = noDisc - 1

// mergeAt is how many added series wait before a merge even mid-Apply
// (Swap has no end of a poll to merge at).
const mergeAt = 256

// The methods that only read, merge or drop take a nil table as an empty
// one: a resource whose series are all held by position has none.

func (t *table) len() int {
	if t == nil {
		return 0
	}
	return len(t.keys) + len(t.fresh)
}

// find returns the series' sample and where it is (for update).
func (t *table) find(key uint64) (sample, int, bool) {
	if t == nil {
		return sample{}, -1, false
	}
	if i, ok := t.index(key); ok {
		if t.ti[i] == noStamp {
			return sample{}, i, false
		}
		return t.sampleAt(i), i, true
	}
	s, ok := t.fresh[key]
	return s, -1, ok
}

// update stores s as the sample of the series find placed at i (-1: not
// in the rows).
func (t *table) update(i int, key uint64, s sample) {
	if i < 0 {
		t.put(key, s)
		return
	}
	t.ti[i] = noStamp   // its old stamp is free for a compaction in intern
	a, b := t.intern(s) // which rewrites t.ti and t.di
	t.vals[i], t.ti[i], t.di[i] = s.value, a, b
}

// put stores s as the series' sample.
func (t *table) put(key uint64, s sample) {
	if i, ok := t.index(key); ok {
		t.update(i, key, s)
		return
	}
	if t.fresh == nil {
		t.fresh = map[uint64]sample{}
	}
	t.fresh[key] = s
	if len(t.fresh) >= mergeAt {
		t.merge()
	}
}

// index is a binary search (by hand: sort.Search's closure call per probe
// doubled the cost of a poll's lookups).
func (t *table) index(key uint64) (int, bool) {
	lo, hi := 0, len(t.keys)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if t.keys[m] < key {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < len(t.keys) && t.keys[lo] == key
}

func (t *table) sampleAt(i int) sample {
	st := &t.times[t.ti[i]]
	s := sample{value: t.vals[i], at: st.at, uptime: st.uptime, flags: st.flags}
	if d := t.di[i]; d != noDisc {
		s.disc, s.flags = t.discs[d], s.flags|flagDisc
	}
	return s
}

// intern returns the indexes of s's stamp and discontinuity time, adding
// them when new (noStamp when the tables are full even after compaction).
// It compacts first once the tables have grown well past what the rows
// used at the last compaction (each poll stamps its series anew, so the
// previous poll's stamps go unused): a pass over the rows after at least
// as many additions as the tables then held, plus 16. Not during a merge,
// whose new rows are not in place yet (merge compacts before).
func (t *table) intern(s sample) (ti, di uint16) {
	if !t.merging && (len(t.times)+len(t.discs) >= 2*t.live+16 || len(t.times) >= maxIndex || len(t.discs) >= maxIndex) {
		t.compact()
	}
	ti, di = t.internStamp(stamp{at: s.at, uptime: s.uptime, flags: s.flags &^ flagDisc}), noDisc
	if s.flags&flagDisc != 0 {
		di = t.internDisc(s.disc)
	}
	if ti == noStamp || di == noStamp {
		return noStamp, noDisc
	}
	return ti, di
}

func stampSlot(st stamp) int {
	h := math.Float64bits(st.at) ^ uint64(st.uptime)<<7
	return int((h ^ h>>17 ^ h>>31) % stampCache)
}

// internStamp finds st among the recent stamps (a cache probe: a poll's
// series come a column's time after another, interface after interface;
// else the last 64), else adds it (noStamp: full). A stamp added twice
// (a poll with more distinct stamps than that) only costs its 16 bytes
// until the next compaction.
func (t *table) internStamp(st stamp) uint16 {
	slot := stampSlot(st)
	if h := t.hot[slot]; h != 0 && t.times[h-1] == st {
		return h - 1
	}
	for i := len(t.times) - 1; i >= 0 && i >= len(t.times)-64; i-- { // a slot's other stamp
		if t.times[i] == st {
			t.hot[slot] = uint16(i + 1)
			return uint16(i)
		}
	}
	if len(t.times) >= maxIndex {
		return noStamp
	}
	t.times = append(t.times, st)
	t.hot[slot] = uint16(len(t.times))
	return uint16(len(t.times) - 1)
}

// internDisc finds d among the last few discontinuity times (a device
// mostly reports one), else adds it (noStamp: full).
func (t *table) internDisc(d uint32) uint16 {
	for i := len(t.discs) - 1; i >= 0 && i >= len(t.discs)-4; i-- {
		if t.discs[i] == d {
			return uint16(i)
		}
	}
	if len(t.discs) >= maxIndex {
		return noStamp
	}
	t.discs = append(t.discs, d)
	return uint16(len(t.discs) - 1)
}

// compact drops the stamps and discontinuity times no row uses, keeping
// the order of the rest.
func (t *table) compact() {
	tmap := make([]uint16, len(t.times))
	dmap := make([]uint16, len(t.discs))
	for i := range t.keys {
		if ti := t.ti[i]; ti != noStamp {
			tmap[ti] = 1
			if di := t.di[i]; di != noDisc {
				dmap[di] = 1
			}
		}
	}
	n := 0
	for i, used := range tmap {
		if used != 0 {
			t.times[n] = t.times[i]
			tmap[i] = uint16(n)
			n++
		}
	}
	t.times = shrink(t.times[:n])
	n = 0
	for i, used := range dmap {
		if used != 0 {
			t.discs[n] = t.discs[i]
			dmap[i] = uint16(n)
			n++
		}
	}
	t.discs = shrink(t.discs[:n])
	for i := range t.keys {
		if ti := t.ti[i]; ti != noStamp {
			t.ti[i] = tmap[ti]
			if di := t.di[i]; di != noDisc {
				t.di[i] = dmap[di]
			}
		}
	}
	t.hot = [stampCache]uint16{}
	t.live = len(t.times) + len(t.discs)
}

// shrink reallocates s when it holds less than half its capacity (the
// stamps of a poll, then its next, then compaction: a steady few dozen).
func shrink[T any](s []T) []T {
	if cap(s) > 64 && len(s) < cap(s)/2 {
		return slices.Clip(slices.Clone(s))
	}
	return s
}

// merge moves the added series into the rows, allocating exactly what the
// rows then hold.
func (t *table) merge() {
	if t == nil || len(t.fresh) == 0 {
		return
	}
	if len(t.times)+len(t.fresh) >= maxIndex || len(t.discs)+len(t.fresh) >= maxIndex {
		t.compact()
	}
	t.merging = true
	defer func() { t.merging = false }()
	added := make([]uint64, 0, len(t.fresh))
	for k := range t.fresh {
		added = append(added, k)
	}
	slices.Sort(added)
	n := len(t.keys) + len(added)
	keys, vals := make([]uint64, 0, n), make([]uint64, 0, n)
	ti, di := make([]uint16, 0, n), make([]uint16, 0, n)
	i := 0
	for _, k := range added {
		j := i
		for j < len(t.keys) && t.keys[j] < k {
			j++
		}
		keys, vals = append(keys, t.keys[i:j]...), append(vals, t.vals[i:j]...)
		ti, di = append(ti, t.ti[i:j]...), append(di, t.di[i:j]...)
		i = j
		s := t.fresh[k]
		a, b := t.intern(s)
		keys, vals, ti, di = append(keys, k), append(vals, s.value), append(ti, a), append(di, b)
	}
	keys, vals = append(keys, t.keys[i:]...), append(vals, t.vals[i:]...)
	ti, di = append(ti, t.ti[i:]...), append(di, t.di[i:]...)
	t.keys, t.vals, t.ti, t.di, t.fresh = keys, vals, ti, di, nil
}

// keep drops the rows for which keep is false (in place, order kept).
func (t *table) keep(keep func(key uint64, s sample) bool) {
	if t == nil {
		return
	}
	t.merge()
	j := 0
	for i := range t.keys {
		if t.ti[i] != noStamp && keep(t.keys[i], t.sampleAt(i)) {
			t.keys[j], t.vals[j], t.ti[j], t.di[j] = t.keys[i], t.vals[i], t.ti[i], t.di[i]
			j++
		}
	}
	t.keys, t.vals, t.ti, t.di = t.keys[:j], t.vals[:j], t.ti[:j], t.di[:j]
	t.compact()
}

// each calls f for every stored series, in key order.
func (t *table) each(f func(key uint64, s sample)) {
	if t == nil {
		return
	}
	t.merge()
	for i := range t.keys {
		if t.ti[i] != noStamp {
			f(t.keys[i], t.sampleAt(i))
		}
	}
}

// forget drops the series (its sample moved to its position).
func (t *table) forget(key uint64) {
	if t == nil {
		return
	}
	if i, ok := t.index(key); ok {
		t.ti[i] = noStamp // unseen; keep drops it
		return
	}
	delete(t.fresh, key)
}

// stored is how many series the table holds a sample of.
func (t *table) stored() int {
	if t == nil {
		return 0
	}
	n := len(t.fresh)
	for _, ti := range t.ti {
		if ti != noStamp {
			n++
		}
	}
	return n
}
