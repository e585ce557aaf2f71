package sim

import (
	"fmt"
	"slices"

	"github.com/panoptes-go/panoptes/internal/ber"
)

// Recording is an immutable, sorted table of OID → value shared by every
// device that serves it. OIDs, their BER encodings and the encoded static
// values live in two arenas, so a 50,000-object recording costs a few MB
// once, however many devices use it.
type Recording struct {
	// Name identifies the recording: a built-in template name or the file's
	// base name without extensions.
	Name string
	// Source is where it came from: "builtin" or the file path.
	Source string
	// Warnings lists records that were skipped or changed while loading
	// (variation modules, duplicates), one line each, capped.
	Warnings []string

	arcs    []uint32 // every entry's arcs, concatenated
	enc     []byte   // OID TLVs and static value TLVs, concatenated
	entries []entry
	// nameIdx is the sysName.0 entry answered with the device's name
	// (built-in templates), or -1: recordings answer as recorded.
	nameIdx int
}

// entry is one object. Static values are pre-encoded TLVs in enc; living
// ones (counters, sysUpTime) are encoded per request from base and class.
type entry struct {
	arcOff  uint32
	oidOff  uint32 // OID TLV in enc
	valOff  uint32 // value TLV in enc (static values)
	valLen  uint32
	oidLen  uint16
	arcLen  uint8
	tag     byte // value's BER tag
	class   rateClass
	base    uint64 // counter or TimeTicks value at the device epoch
	rateKey uint64 // identifies the quantity for rate derivation
}

// Len is the number of objects.
func (r *Recording) Len() int { return len(r.entries) }

func (r *Recording) oidArcs(e *entry) []uint32 {
	return r.arcs[e.arcOff : e.arcOff+uint32(e.arcLen)]
}

func (r *Recording) oidTLV(e *entry) []byte {
	return r.enc[e.oidOff : e.oidOff+uint32(e.oidLen)]
}

func (r *Recording) valueTLV(e *entry) []byte {
	return r.enc[e.valOff : e.valOff+e.valLen]
}

// search returns the index of the first entry whose OID is >= arcs.
func (r *Recording) search(arcs []uint32) int {
	lo, hi := 0, len(r.entries)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if ber.CompareArcs(r.oidArcs(&r.entries[m]), arcs) < 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// exact returns the index of the entry named arcs, or -1.
func (r *Recording) exact(arcs []uint32) int {
	i := r.search(arcs)
	if i < len(r.entries) && ber.CompareArcs(r.oidArcs(&r.entries[i]), arcs) == 0 {
		return i
	}
	return -1
}

// next returns the index of the first entry after arcs (len when none).
// hint is a likely answer - 1 (the previous GETNEXT's result): a walk asks
// for the successor of what it was just given, which then costs one
// comparison instead of a binary search.
func (r *Recording) next(arcs []uint32, hint int) int {
	if hint >= 0 && hint < len(r.entries) && ber.CompareArcs(r.oidArcs(&r.entries[hint]), arcs) == 0 {
		return hint + 1
	}
	i := r.search(arcs)
	if i < len(r.entries) && ber.CompareArcs(r.oidArcs(&r.entries[i]), arcs) == 0 {
		i++
	}
	return i
}

// missingTag chooses noSuchInstance or noSuchObject for a GET of arcs that
// is not in the recording, as net-snmp does for the common cases: an
// instance is missing when arcs names an object that has instances (an
// entry is arcs + one arc, e.g. "sysName" or an ifDescr column) or differs
// from an instance of it only in the last arc ("sysName.1", "ifDescr.999").
// Anything else, e.g. a group or an unknown column, is noSuchObject. A
// recording has no MIB, so a wrong multi-arc index (ipAdEntAddr.1.2.3.4)
// reads as noSuchObject where net-snmp says noSuchInstance.
func (r *Recording) missingTag(arcs []uint32) byte {
	i := r.search(arcs)
	for _, j := range [2]int{i - 1, i} {
		if j < 0 || j >= len(r.entries) {
			continue
		}
		e := r.oidArcs(&r.entries[j])
		if len(e) == len(arcs)+1 && ber.HasPrefix(e, arcs) {
			return ber.TagNoSuchInstance
		}
		if len(e) >= 2 && len(arcs) >= len(e)-1 && ber.HasPrefix(arcs, e[:len(e)-1]) {
			return ber.TagNoSuchInstance
		}
	}
	return ber.TagNoSuchObject
}

// builder collects records and freezes them into a Recording.
type builder struct {
	name, source string
	recs         []rec
	warnings     []string
	nWarn        int
}

// rec is one parsed record before freezing: value is the BER content.
type rec struct {
	arcs  []uint32
	tag   byte
	value []byte
	line  int
}

const maxWarnings = 20

func (b *builder) warnf(format string, a ...any) {
	b.nWarn++
	if len(b.warnings) < maxWarnings {
		b.warnings = append(b.warnings, fmt.Sprintf(format, a...))
	}
}

func (b *builder) add(arcs []uint32, tag byte, value []byte, line int) {
	b.recs = append(b.recs, rec{arcs: arcs, tag: tag, value: value, line: line})
}

// freeze sorts the records (a later duplicate replaces an earlier one, with
// a warning), encodes them and classifies living values.
func (b *builder) freeze() (*Recording, error) {
	if len(b.recs) == 0 {
		return nil, fmt.Errorf("%s: no records", b.source)
	}
	slices.SortStableFunc(b.recs, func(x, y rec) int { return ber.CompareArcs(x.arcs, y.arcs) })
	uniq := b.recs[:0]
	for _, rc := range b.recs {
		if n := len(uniq); n > 0 && ber.CompareArcs(uniq[n-1].arcs, rc.arcs) == 0 {
			b.warnf("line %d: duplicate OID %s replaces line %d", rc.line, ber.FormatOID(rc.arcs), uniq[n-1].line)
			uniq[n-1] = rc
			continue
		}
		uniq = append(uniq, rc)
	}
	r := &Recording{Name: b.name, Source: b.source, entries: make([]entry, len(uniq)), nameIdx: -1}
	nArcs, nEnc := 0, 0
	for _, rc := range uniq {
		nArcs += len(rc.arcs)
		nEnc += 2*len(rc.arcs) + 4 + len(rc.value) + 6
	}
	r.arcs = make([]uint32, 0, nArcs)
	r.enc = make([]byte, 0, nEnc)
	cl := newClassifier(uniq)
	for i, rc := range uniq {
		e := &r.entries[i]
		e.arcOff, e.arcLen = uint32(len(r.arcs)), uint8(len(rc.arcs))
		r.arcs = append(r.arcs, rc.arcs...)
		content := ber.AppendOID(nil, rc.arcs)
		e.oidOff = uint32(len(r.enc))
		r.enc = ber.AppendHeader(r.enc, ber.TagOID, len(content))
		r.enc = append(r.enc, content...)
		e.oidLen = uint16(uint32(len(r.enc)) - e.oidOff)
		e.tag = rc.tag
		e.valOff = uint32(len(r.enc))
		r.enc = ber.AppendHeader(r.enc, rc.tag, len(rc.value))
		r.enc = append(r.enc, rc.value...)
		e.valLen = uint32(len(r.enc)) - e.valOff
		e.class, e.rateKey = cl.classify(rc.arcs, rc.tag)
		if e.class != classStatic {
			e.base, _ = ber.DecodeUint(rc.value)
		}
	}
	if b.nWarn > len(b.warnings) {
		b.warnings = append(b.warnings, fmt.Sprintf("... and %d more", b.nWarn-len(b.warnings)))
	}
	r.Warnings = b.warnings
	return r, nil
}

// oids is used by tests to list a recording's OIDs in order.
func (r *Recording) oids() []string {
	out := make([]string, len(r.entries))
	for i := range r.entries {
		out[i] = ber.FormatOID(r.oidArcs(&r.entries[i]))
	}
	return out
}
