package enrich

import (
	"cmp"
	"encoding/json"
	"fmt"
	"iter"
	"math"
	"slices"
	"strconv"
)

// Interfaces are a device's interfaces by ifIndex, read-only once built;
// the zero value has none. Thousands of devices are kept in memory, so
// the layout is compact: what the devices of a model have in common (the
// ifIndexes, descriptions, names and types: the shape) is one array that
// they share, sorted by ifIndex (binary search); a device holds its own
// aliases and speeds beside it, 16 bytes an interface. Strings are shared
// between devices (texts). A map of *Interface with strings of their own
// took about six times as much, one row of 40 bytes each about twice.
//
// In JSON (the KV value) they are the object keyed by ifIndex that
// map[uint32]*Interface encodes to, both ways.
type Interfaces struct {
	shape *ifShape  // nil: none
	vals  []ifVals  // by position in shape.rows
	wide  []wideRow // of the rows marked haveWide (none from a sane agent)
}

// ifShape is the part of a device's interfaces that devices of the same
// model (and line cards) share: shapes interns it.
type ifShape struct{ rows []ifKey }

type ifKey struct {
	descr, name *string // interned; nil is ""
	index       uint32
	typ         uint16 // IANAifType: a few hundred values
	have        Column // the columns the device returned, aliases and speeds included
}

// ifVals are a device's own values of one interface.
type ifVals struct {
	alias            *string // interned; nil is ""
	speed, highSpeed uint32  // ifSpeed and ifHighSpeed are Gauge32 in the MIB
}

// haveWide marks a row whose ifType, ifSpeed or ifHighSpeed does not fit
// its field (only a broken agent sends one): all three are then in
// Interfaces.wide.
const haveWide Column = 1 << 7

type wideRow struct {
	index                 uint32
	typ, speed, highSpeed uint64
}

// Len is the number of interfaces.
func (s Interfaces) Len() int { return len(s.vals) }

// Get returns the interface ifIndex; ok is false when the device has none.
func (s Interfaces) Get(ifIndex uint32) (e Interface, ok bool) {
	i, ok := s.find(ifIndex)
	if !ok {
		return Interface{}, false
	}
	return s.view(i), true
}

// All yields the interfaces by ascending ifIndex.
func (s Interfaces) All() iter.Seq2[uint32, Interface] {
	return func(yield func(uint32, Interface) bool) {
		for i := range s.vals {
			if !yield(s.shape.rows[i].index, s.view(i)) {
				return
			}
		}
	}
}

// NewInterfaces builds Interfaces from interfaces by ifIndex.
func NewInterfaces(m map[uint32]Interface) Interfaces {
	b := ifBuilder{rows: make([]ifRow, 0, len(m))}
	for idx := range m {
		b.rows = append(b.rows, ifRow{index: idx})
	}
	slices.SortFunc(b.rows, func(x, y ifRow) int { return cmp.Compare(x.index, y.index) })
	for i := range b.rows {
		r := &b.rows[i]
		e := m[r.index]
		r.descr, r.name, r.alias = texts.str(e.Descr), texts.str(e.Name), texts.str(e.Alias)
		b.setNumber(r, HaveSpeed, e.Speed)
		b.setNumber(r, HaveType, e.Type)
		b.setNumber(r, HaveHighSpeed, e.HighSpeed)
		r.have |= e.Have &^ haveWide
	}
	return b.done()
}

// MarshalJSON writes the object keyed by ifIndex (ascending).
func (s Interfaces) MarshalJSON() ([]byte, error) {
	out := append(make([]byte, 0, 128*len(s.vals)+2), '{')
	for i := range s.vals {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, '"')
		out = strconv.AppendUint(out, uint64(s.shape.rows[i].index), 10)
		out = append(out, '"', ':')
		e := s.view(i)
		b, err := json.Marshal(&e)
		if err != nil {
			return nil, err
		}
		out = append(out, b...)
	}
	return append(out, '}'), nil
}

// UnmarshalJSON reads the object keyed by ifIndex (null: none).
func (s *Interfaces) UnmarshalJSON(data []byte) error {
	var m map[uint32]Interface
	if err := json.Unmarshal(data, &m); err != nil {
		return fmt.Errorf("interfaces: %w", err)
	}
	*s = NewInterfaces(m)
	return nil
}

func (s Interfaces) find(ifIndex uint32) (int, bool) {
	if s.shape == nil {
		return 0, false
	}
	return findRow(s.shape.rows, ifIndex, func(k *ifKey) uint32 { return k.index })
}

// findRow is the position of ifIndex in rows (sorted by index), or where
// it would go.
func findRow[R any](rows []R, ifIndex uint32, index func(*R) uint32) (int, bool) {
	lo, hi := 0, len(rows)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if index(&rows[m]) < ifIndex {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < len(rows) && index(&rows[lo]) == ifIndex
}

func (s Interfaces) view(i int) Interface {
	k, v := &s.shape.rows[i], &s.vals[i]
	e := Interface{Descr: deref(k.descr), Name: deref(k.name), Alias: deref(v.alias),
		Type: uint64(k.typ), Speed: uint64(v.speed), HighSpeed: uint64(v.highSpeed), Have: k.have &^ haveWide}
	if k.have&haveWide != 0 {
		for _, w := range s.wide {
			if w.index == k.index {
				e.Type, e.Speed, e.HighSpeed = w.typ, w.speed, w.highSpeed
				break
			}
		}
	}
	return e
}

// ifRow is one interface while Interfaces are built.
type ifRow struct {
	descr, name, alias *string // interned; nil is ""
	speed, highSpeed   uint32
	index              uint32
	typ                uint16
	have               Column
}

// ifBuilder fills rows (sorted by index, in place) column by column, then
// splits them into a shared shape and the device's values (done).
type ifBuilder struct {
	rows []ifRow
	wide []wideRow
}

func (b *ifBuilder) find(ifIndex uint32) (int, bool) {
	return findRow(b.rows, ifIndex, func(r *ifRow) uint32 { return r.index })
}

// done returns the Interfaces built.
func (b *ifBuilder) done() Interfaces {
	if len(b.rows) == 0 {
		return Interfaces{wide: b.wide}
	}
	keys := make([]ifKey, len(b.rows))
	vals := make([]ifVals, len(b.rows))
	for i := range b.rows {
		r := &b.rows[i]
		keys[i] = ifKey{descr: r.descr, name: r.name, index: r.index, typ: r.typ, have: r.have}
		vals[i] = ifVals{alias: r.alias, speed: r.speed, highSpeed: r.highSpeed}
	}
	return Interfaces{shape: shapes.get(keys), vals: vals, wide: b.wide}
}

// setNumber stores ifType, ifSpeed or ifHighSpeed (column c) of r.
func (b *ifBuilder) setNumber(r *ifRow, c Column, v uint64) {
	limit := uint64(math.MaxUint32)
	if c == HaveType {
		limit = math.MaxUint16
	}
	if v > limit && r.have&haveWide == 0 {
		b.wide = append(b.wide, wideRow{index: r.index, typ: uint64(r.typ), speed: uint64(r.speed), highSpeed: uint64(r.highSpeed)})
		r.have |= haveWide
	}
	if r.have&haveWide != 0 {
		w := &b.wide[slices.IndexFunc(b.wide, func(w wideRow) bool { return w.index == r.index })]
		switch c {
		case HaveType:
			w.typ = v
		case HaveSpeed:
			w.speed = v
		default:
			w.highSpeed = v
		}
		return
	}
	switch c {
	case HaveType:
		r.typ = uint16(v)
	case HaveSpeed:
		r.speed = uint32(v)
	default:
		r.highSpeed = uint32(v)
	}
}

// setText stores ifDescr, ifName or ifAlias (column c) of r.
func (b *ifBuilder) setText(r *ifRow, c Column, p *string) {
	switch c {
	case HaveDescr:
		r.descr = p
	case HaveName:
		r.name = p
	case HaveAlias:
		r.alias = p
	}
}
