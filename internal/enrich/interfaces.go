package enrich

import (
	"cmp"
	"encoding/binary"
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
// aliases and speeds beside it, about 9 bytes an interface (an alias
// pointer and a speed code). Strings are shared between devices (texts).
// A map of *Interface with strings of their own took about six times as
// much, one row of 40 bytes each about twice; aliases and speeds as 16
// bytes an interface (ifVals) took 896 bytes a 55-port switch, 544 now.
//
// In JSON (the KV value) they are the object keyed by ifIndex that
// map[uint32]*Interface encodes to, both ways.
type Interfaces struct {
	shape   *ifShape  // nil: none
	aliases []*string // by position in shape.rows (interned; nil is ""); nil: the device has no alias
	speeds  speeds    // by position in shape.rows, then the wide rows
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

// speeds are a device's (ifSpeed, ifHighSpeed) pairs by row (both are
// Gauge32 in the MIB), in one pointer-free string: the distinct pairs
// (the palette), then a code per row, its pair's place in the palette. A
// device has few distinct speeds (0, 100M, 1G, 10G...), so a row costs
// one byte instead of 8; the codes are 2 or 4 bytes wide only when the
// palette outgrows a byte (more than 256 distinct pairs).
//
// The values of rows marked haveWide (only a broken agent sends one)
// follow, 28 bytes a row: its place there costs a sane device nothing
// (a field of its own, even a nil pointer, made Device a size class
// larger).
//
// Layout: the palette's length k (4 bytes), k pairs of 8 bytes (ifSpeed,
// ifHighSpeed), the codes, then the wide rows (ifIndex 4 bytes, ifType,
// ifSpeed, ifHighSpeed 8 each); numbers little-endian. "" for no rows.
type speeds string

// wideLen is the bytes of a wide row in speeds.
const wideLen = 4 + 3*8

// packSpeeds encodes rows' pairs (a wide row's as 0) and the wide rows.
func packSpeeds(rows []ifRow, wide []wideRow) speeds {
	if len(rows) == 0 {
		return ""
	}
	pair := func(r *ifRow) uint64 {
		if r.have&haveWide != 0 {
			return 0
		}
		return uint64(r.speed)<<32 | uint64(r.highSpeed)
	}
	// A linear search of the palette while it is short (a switch's few
	// speeds: no map to allocate), a map beyond.
	var palette []uint64
	var code map[uint64]uint32
	find := func(p uint64) (uint32, bool) {
		if code != nil {
			c, ok := code[p]
			return c, ok
		}
		i := slices.Index(palette, p)
		return uint32(i), i >= 0
	}
	for i := range rows {
		p := pair(&rows[i])
		if _, ok := find(p); ok {
			continue
		}
		palette = append(palette, p)
		if code != nil {
			code[p] = uint32(len(palette) - 1)
		} else if len(palette) == 16 {
			code = make(map[uint64]uint32, 32)
			for c, q := range palette {
				code[q] = uint32(c)
			}
		}
	}
	w := codeWidth(len(palette))
	b := make([]byte, 0, 4+8*len(palette)+w*len(rows)+wideLen*len(wide))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(palette)))
	for _, p := range palette {
		b = binary.LittleEndian.AppendUint32(b, uint32(p>>32))
		b = binary.LittleEndian.AppendUint32(b, uint32(p))
	}
	for i := range rows {
		c, _ := find(pair(&rows[i]))
		switch w {
		case 1:
			b = append(b, byte(c))
		case 2:
			b = binary.LittleEndian.AppendUint16(b, uint16(c))
		default:
			b = binary.LittleEndian.AppendUint32(b, c)
		}
	}
	for _, r := range wide {
		b = binary.LittleEndian.AppendUint32(b, r.index)
		b = binary.LittleEndian.AppendUint64(b, r.typ)
		b = binary.LittleEndian.AppendUint64(b, r.speed)
		b = binary.LittleEndian.AppendUint64(b, r.highSpeed)
	}
	return speeds(b)
}

// wide returns the wide row of ifIndex index; s holds n rows.
func (s speeds) wide(n int, index uint32) (wideRow, bool) {
	if s == "" {
		return wideRow{}, false
	}
	k := int(s.u32(0))
	for off := 4 + 8*k + codeWidth(k)*n; off+wideLen <= len(s); off += wideLen {
		if s.u32(off) == index {
			return wideRow{index: index, typ: s.u64(off + 4), speed: s.u64(off + 12), highSpeed: s.u64(off + 20)}, true
		}
	}
	return wideRow{}, false
}

// u64 reads the little-endian number at byte off.
func (s speeds) u64(off int) uint64 {
	return uint64(s.u32(off)) | uint64(s.u32(off+4))<<32
}

// codeWidth is the bytes of a row's code with a palette of k pairs.
func codeWidth(k int) int {
	switch {
	case k <= 1<<8:
		return 1
	case k <= 1<<16:
		return 2
	}
	return 4
}

// at returns row i's ifSpeed and ifHighSpeed.
func (s speeds) at(i int) (speed, highSpeed uint32) {
	k := int(s.u32(0))
	codes := 4 + 8*k
	var c int
	switch codeWidth(k) {
	case 1:
		c = int(s[codes+i])
	case 2:
		c = int(s[codes+2*i]) | int(s[codes+2*i+1])<<8
	default:
		c = int(s.u32(codes + 4*i))
	}
	return s.u32(4 + 8*c), s.u32(4 + 8*c + 4)
}

// u32 reads the little-endian number at byte off.
func (s speeds) u32(off int) uint32 {
	_ = s[off+3]
	return uint32(s[off]) | uint32(s[off+1])<<8 | uint32(s[off+2])<<16 | uint32(s[off+3])<<24
}

// haveWide marks a row whose ifType, ifSpeed or ifHighSpeed does not fit
// its field (only a broken agent sends one): all three are then in
// Interfaces.speeds' wide rows.
const haveWide Column = 1 << 7

type wideRow struct {
	index                 uint32
	typ, speed, highSpeed uint64
}

// Len is the number of interfaces.
func (s Interfaces) Len() int {
	if s.shape == nil {
		return 0
	}
	return len(s.shape.rows)
}

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
		for i := range s.Len() {
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
	out := append(make([]byte, 0, 128*s.Len()+2), '{')
	for i := range s.Len() {
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
	k := &s.shape.rows[i]
	e := Interface{Descr: deref(k.descr), Name: deref(k.name), Type: uint64(k.typ), Have: k.have &^ haveWide}
	if s.aliases != nil {
		e.Alias = deref(s.aliases[i])
	}
	speed, highSpeed := s.speeds.at(i)
	e.Speed, e.HighSpeed = uint64(speed), uint64(highSpeed)
	if k.have&haveWide != 0 {
		if w, ok := s.speeds.wide(len(s.shape.rows), k.index); ok {
			e.Type, e.Speed, e.HighSpeed = w.typ, w.speed, w.highSpeed
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
		return Interfaces{} // no row, no wide row
	}
	keys := make([]ifKey, len(b.rows))
	var aliases []*string
	for i := range b.rows {
		r := &b.rows[i]
		keys[i] = ifKey{descr: r.descr, name: r.name, index: r.index, typ: r.typ, have: r.have}
		if r.alias != nil && aliases == nil {
			aliases = make([]*string, len(b.rows))
		}
		if aliases != nil {
			aliases[i] = r.alias
		}
	}
	return Interfaces{shape: shapes.get(keys), aliases: aliases, speeds: packSpeeds(b.rows, b.wide)}
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
