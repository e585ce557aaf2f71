package snmp

import (
	"unsafe"
)

// Boxing decoded values without one allocation each.
//
// Varbind.Value is an interface, and putting a uint64 (or a string header,
// or a slice header) into an interface normally allocates its own 8-24
// bytes: gosnmp pays one allocation per value. The decoder instead keeps the
// values of one packet (of a whole walk, for a walk's decoder) in a few
// slabs (one []uint64, one []string, one [][]byte) and makes each interface point at its slot, exactly as the
// runtime would point at its own allocation. The interface is a normal one
// for every reader (type switches, ==, reflect, fmt): only where its data
// lives differs. This is safe because a slot is written once, before its
// interface exists, and never again, and the interface's data word is a
// pointer the garbage collector follows, which keeps the slab alive.

// eface is the runtime's layout of an interface{} (any).
type eface struct {
	typ  unsafe.Pointer
	data unsafe.Pointer
}

// pointAt returns x (a boxed zero value of the slot's type) with its data
// pointing at slot.
func pointAt(x any, slot unsafe.Pointer) any {
	(*eface)(unsafe.Pointer(&x)).data = slot
	return x
}

// boxWord boxes an integer of up to 8 bytes into d's word slab.
func boxWord[T int | uint | uint32 | uint64](d *decoder, v T) any {
	if v >= 0 && v < 256 {
		return v // the runtime boxes small values without allocating
	}
	if len(d.words) == cap(d.words) {
		d.spentWords += len(d.words)
		d.words = make([]uint64, 0, d.slabSize())
	}
	d.words = d.words[:len(d.words)+1]
	slot := (*T)(unsafe.Pointer(&d.words[len(d.words)-1]))
	*slot = v
	return pointAt(T(0), unsafe.Pointer(slot))
}

// boxString boxes s into d's string slab.
func (d *decoder) boxString(s string) any {
	if len(d.strs) == cap(d.strs) {
		d.strs = make([]string, 0, d.slabSize())
	}
	d.strs = append(d.strs, s)
	return pointAt("", unsafe.Pointer(&d.strs[len(d.strs)-1]))
}

// boxBytes boxes b into d's slice slab.
func (d *decoder) boxBytes(b []byte) any {
	if len(d.bytes) == cap(d.bytes) {
		d.bytes = make([][]byte, 0, d.slabSize())
	}
	d.bytes = append(d.bytes, b)
	return pointAt([]byte(nil), unsafe.Pointer(&d.bytes[len(d.bytes)-1]))
}

// slabSize sizes a new slab for the rest of the packet: about one slot per
// varbind left (a varbind takes at least 12 bytes on the wire). A walk's
// decoder, which serves the packets to come as well, takes more.
func (d *decoder) slabSize() int {
	if d.walk {
		return walkSlab
	}
	return min(max(d.left/12, 4), walkSlab)
}

// A walk's decoder allocates its slabs and text arenas for several
// packets at once: a 25-varbind response needs ~25 slots and ~700 bytes of
// text, a walk of a 48-port ifTable ~1,000 slots and ~25 KB. At most the
// unused tails of the last slabs (256 slots each: 2 KB of words, 4 KB of
// strings, 6 KB of byte slices) and of the last 4 KB of text outlive the
// walk in its result.
const (
	walkSlab = 256
	walkText = 4 << 10
)

// text returns room for n more bytes in the packet's text arena, where
// names, octet strings and string values are stored. A full arena is not
// grown (that would copy what earlier values point into) but replaced.
func (d *decoder) room(n int) {
	if cap(d.text)-len(d.text) < n {
		size := max(n, d.left+d.left/4+64)
		if d.walk {
			size = max(size, walkText)
		}
		d.spentText += len(d.text)
		d.text = make([]byte, 0, size)
	}
}

// str turns the arena's bytes from start on into a string without copying:
// they are never written again.
func (d *decoder) str(start int) string {
	if start == len(d.text) {
		return ""
	}
	return unsafe.String(&d.text[start], len(d.text)-start)
}

// Arena is memory a column walk decodes its answers' names and numbers
// into, owned by the caller and reused by its next walk
// (Pool.WalkColumnsIn): a poll's walks then allocate no text arenas and
// no word slabs once the arena has the size they take.
//
// The contract is the caller's: what a walk into a returns (the Name of
// each varbind, a Counter's or Integer's boxed value, an OctetString's
// bytes) lives in a until its next use, which overwrites it. A caller
// copies what it keeps (snmp.Text copies; snmp.Uint returns the number)
// and drops the varbinds before it walks into a again or hands a on.
// An Arena is used by one walk at a time.
type Arena struct {
	text  []byte
	words []uint64
	// wantText and wantWords are what the last walk took, when its arena
	// was too small: the next walk's allocates that much once.
	wantText, wantWords int
}

// arenaSlack is added to an arena's size: room reserves the longest text
// an OID could take (4 characters an octet), more than it uses.
const arenaSlack = 512

// lend starts d, a walk's decoder, in a's memory.
func (a *Arena) lend(d *decoder) {
	if a.wantText > cap(a.text) {
		a.text = make([]byte, 0, a.wantText)
	}
	if a.wantWords > cap(a.words) {
		a.words = make([]uint64, 0, a.wantWords)
	}
	a.wantText, a.wantWords = 0, 0
	d.text, d.words = a.text[:0], a.words[:0]
}

// take keeps d's memory for the next walk once d is done: the current
// arena and slab when they held all of the walk, else the size to
// allocate next time.
func (a *Arena) take(d *decoder) {
	if d.spentText > 0 {
		a.text, a.wantText = nil, d.spentText+len(d.text)+arenaSlack
	} else {
		a.text = d.text[:0]
	}
	if d.spentWords > 0 {
		a.words, a.wantWords = nil, d.spentWords+len(d.words)+walkSlab/4
	} else {
		a.words = d.words[:0]
	}
}

// Size is the bytes a holds, for a caller's budget.
func (a *Arena) Size() int { return cap(a.text) + 8*cap(a.words) }
