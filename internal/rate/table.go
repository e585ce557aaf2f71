package rate

import "slices"

// table is one resource's previous samples, held compactly: rows sorted by
// series hash and found by binary search, 33 bytes a series. A
// map[uint64]sample held 64 bytes a series in a benchmark and more in a
// running node (a map's tables are sized for growth), which was most of
// the memory rates cost (issue 15: 68 → 148 MB for 500 switches).
//
// Series are added rarely (a resource's first poll, a new port), so they
// wait in a small map and are merged into the rows in one pass (merge),
// at the end of an Apply or once enough are waiting.
type table struct {
	rows  []row   // sorted by key, no duplicates
	flags []uint8 // flags of rows[i] (apart: a row then packs in 32 bytes)
	fresh map[uint64]sample
}

// row is a sample without its flags, keyed by series hash.
type row struct {
	key    uint64
	value  uint64
	at     float64
	uptime uint32
	disc   uint32
}

// mergeAt is how many added series wait before a merge even mid-Apply
// (Swap has no end of a poll to merge at).
const mergeAt = 256

func (t *table) len() int { return len(t.rows) + len(t.fresh) }

// find returns the series' sample and where it is (for update).
func (t *table) find(key uint64) (sample, int, bool) {
	if i, ok := t.index(key); ok {
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
	t.rows[i] = row{key: key, value: s.value, at: s.at, uptime: s.uptime, disc: s.disc}
	t.flags[i] = s.flags
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
	lo, hi := 0, len(t.rows)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if t.rows[m].key < key {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < len(t.rows) && t.rows[lo].key == key
}

func (t *table) sampleAt(i int) sample {
	r := &t.rows[i]
	return sample{value: r.value, at: r.at, uptime: r.uptime, disc: r.disc, flags: t.flags[i]}
}

// merge moves the added series into the rows, allocating exactly what the
// rows then hold.
func (t *table) merge() {
	if len(t.fresh) == 0 {
		return
	}
	keys := make([]uint64, 0, len(t.fresh))
	for k := range t.fresh {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	n := len(t.rows) + len(keys)
	rows, flags := make([]row, 0, n), make([]uint8, 0, n)
	i := 0
	for _, k := range keys {
		for i < len(t.rows) && t.rows[i].key < k {
			rows, flags = append(rows, t.rows[i]), append(flags, t.flags[i])
			i++
		}
		s := t.fresh[k]
		rows = append(rows, row{key: k, value: s.value, at: s.at, uptime: s.uptime, disc: s.disc})
		flags = append(flags, s.flags)
	}
	rows, flags = append(rows, t.rows[i:]...), append(flags, t.flags[i:]...)
	t.rows, t.flags, t.fresh = rows, flags, nil
}

// keep drops the rows for which keep is false (in place, order kept).
func (t *table) keep(keep func(key uint64, s sample) bool) {
	t.merge()
	j := 0
	for i := range t.rows {
		if keep(t.rows[i].key, t.sampleAt(i)) {
			t.rows[j], t.flags[j] = t.rows[i], t.flags[i]
			j++
		}
	}
	t.rows, t.flags = t.rows[:j], t.flags[:j]
}

// each calls f for every series, in key order.
func (t *table) each(f func(key uint64, s sample)) {
	t.merge()
	for i := range t.rows {
		f(t.rows[i].key, t.sampleAt(i))
	}
}

func (t *table) reset() { *t = table{} }
