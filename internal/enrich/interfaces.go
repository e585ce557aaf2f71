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
// the layout is compact: one slice sorted by ifIndex (binary search), 40
// bytes an interface, strings shared between devices (texts). A map of
// *Interface with strings of their own took about three times as much.
//
// In JSON (the KV value) they are the object keyed by ifIndex that
// map[uint32]*Interface encodes to, both ways.
type Interfaces struct {
	rows []ifRow
	wide []wideRow // of the rows marked haveWide (none from a sane agent)
}

type ifRow struct {
	descr, name, alias *string // interned; nil is ""
	speed, highSpeed   uint32  // ifSpeed and ifHighSpeed are Gauge32 in the MIB
	index              uint32
	typ                uint16 // IANAifType: a few hundred values
	have               Column
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
func (s Interfaces) Len() int { return len(s.rows) }

// Get returns the interface ifIndex; ok is false when the device has none.
func (s Interfaces) Get(ifIndex uint32) (e Interface, ok bool) {
	i, ok := s.find(ifIndex)
	if !ok {
		return Interface{}, false
	}
	return s.view(&s.rows[i]), true
}

// All yields the interfaces by ascending ifIndex.
func (s Interfaces) All() iter.Seq2[uint32, Interface] {
	return func(yield func(uint32, Interface) bool) {
		for i := range s.rows {
			if !yield(s.rows[i].index, s.view(&s.rows[i])) {
				return
			}
		}
	}
}

// NewInterfaces builds Interfaces from interfaces by ifIndex.
func NewInterfaces(m map[uint32]Interface) Interfaces {
	b := ifBuilder{Interfaces{rows: make([]ifRow, 0, len(m))}}
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
	return b.Interfaces
}

// MarshalJSON writes the object keyed by ifIndex (ascending).
func (s Interfaces) MarshalJSON() ([]byte, error) {
	out := append(make([]byte, 0, 128*len(s.rows)+2), '{')
	for i := range s.rows {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, '"')
		out = strconv.AppendUint(out, uint64(s.rows[i].index), 10)
		out = append(out, '"', ':')
		e := s.view(&s.rows[i])
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
	lo, hi := 0, len(s.rows)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s.rows[m].index < ifIndex {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < len(s.rows) && s.rows[lo].index == ifIndex
}

func (s Interfaces) view(r *ifRow) Interface {
	e := Interface{Descr: deref(r.descr), Name: deref(r.name), Alias: deref(r.alias),
		Type: uint64(r.typ), Speed: uint64(r.speed), HighSpeed: uint64(r.highSpeed), Have: r.have &^ haveWide}
	if r.have&haveWide != 0 {
		for _, w := range s.wide {
			if w.index == r.index {
				e.Type, e.Speed, e.HighSpeed = w.typ, w.speed, w.highSpeed
				break
			}
		}
	}
	return e
}

// ifBuilder fills rows (sorted by index, in place) column by column.
type ifBuilder struct{ Interfaces }

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
