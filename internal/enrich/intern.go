package enrich

import (
	"hash/maphash"
	"slices"
	"strings"
	"sync"

	"github.com/panoptes-go/panoptes/internal/snmp"
)

// texts interns the strings of the devices' enrichment: interface names
// and descriptions, entity names and table indexes repeat across the
// devices of a model, and each device keeps a pointer to the shared copy
// (8 bytes, where a string of its own costs 16 plus its text).
//
// Not unique.Make: its weak references cost ~240 bytes per distinct
// string, so data unique to a device (customers' ifAlias) would take more
// memory than without interning. This table holds plain strings instead,
// bounded: when full it starts again empty. Devices keep the strings they
// point to; what they share is shared within each generation of the table,
// and a string no device uses any more costs only until the next reset.
var texts = &interner{maxEntries: 1 << 16, maxBytes: 4 << 20, m: map[string]*string{}}

// maxInternLen: longer texts (rare: free-form ifDescr) get a copy of
// their own, not a place in the table.
const maxInternLen = 256

type interner struct {
	maxEntries, maxBytes int

	mu   sync.Mutex
	m    map[string]*string
	size int // bytes of text in m
}

// bytes returns the shared copy of string(b); nil for "".
func (t *interner) bytes(b []byte) *string {
	if len(b) == 0 {
		return nil
	}
	if len(b) > maxInternLen {
		s := string(b)
		return &s
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if p, ok := t.m[string(b)]; ok { // no allocation for the lookup
		return p
	}
	return t.add(string(b))
}

// str returns the shared copy of s (never s itself, which may point into
// a response buffer); nil for "".
func (t *interner) str(s string) *string {
	if s == "" {
		return nil
	}
	if len(s) > maxInternLen {
		s = strings.Clone(s)
		return &s
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if p, ok := t.m[s]; ok {
		return p
	}
	return t.add(strings.Clone(s))
}

// add keeps s, a copy the table owns; t is locked.
func (t *interner) add(s string) *string {
	if len(t.m) >= t.maxEntries || t.size+len(s) > t.maxBytes {
		clear(t.m) // a new generation; the devices keep theirs
		t.size = 0
	}
	p := &s
	t.m[s] = p
	t.size += len(s)
	return p
}

// len is the number of strings in the current generation.
func (t *interner) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.m)
}

// deref reads an interned string (nil: "").
func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// textRef reads an OCTET STRING as text (snmp.Text), interned.
func textRef(vb *snmp.Varbind) (*string, bool) {
	b, ok := snmp.TextBytes(vb)
	if !ok {
		return nil, false
	}
	return texts.bytes(b), true
}

// shapes interns the shared part of devices' interfaces (Interfaces): the
// devices of a model report the same ifIndexes, descriptions, names and
// types. Bounded like texts: when full it starts again empty, and devices
// keep the shapes they hold.
var shapes = &shapeTable{maxEntries: 1 << 12, seed: maphash.MakeSeed(), m: map[uint64]*ifShape{}}

type shapeTable struct {
	maxEntries int
	seed       maphash.Seed

	mu sync.Mutex
	m  map[uint64]*ifShape // by hash of the rows; one shape a hash
}

// get returns the shared shape whose rows equal keys (keys themselves
// when none is kept yet).
func (t *shapeTable) get(keys []ifKey) *ifShape {
	var h maphash.Hash
	h.SetSeed(t.seed)
	for i := range keys {
		k := &keys[i]
		maphash.WriteComparable(&h, *k) // the texts' pointers: interned, equal texts are one pointer
	}
	sum := h.Sum64()
	t.mu.Lock()
	defer t.mu.Unlock()
	if s, ok := t.m[sum]; ok && slices.Equal(s.rows, keys) {
		return s
	}
	if len(t.m) >= t.maxEntries {
		clear(t.m)
	}
	s := &ifShape{rows: keys}
	t.m[sum] = s // a collision replaces the older shape; its devices keep it
	return s
}

// len is the number of shapes in the current generation.
func (t *shapeTable) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.m)
}
