package rate

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Bucket is the JetStream KV bucket holding the previous samples.
const Bucket = "panoptes_rate_state"

// OpenBucket creates or opens the rate state bucket. ttl drops the state of
// resources no node polls any more (default 24h); History 1: only the
// latest state matters.
func OpenBucket(ctx context.Context, js jetstream.JetStream, ttl time.Duration, replicas int) (jetstream.KeyValue, error) {
	if ttl <= 0 {
		ttl = 24 * time.Hour
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      Bucket,
		Description: "previous counter samples for rates, one entry per resource",
		History:     1,
		TTL:         ttl,
		Replicas:    max(replicas, 1),
	})
	if err != nil {
		return nil, fmt.Errorf("open KV bucket %s: %w", Bucket, err)
	}
	return kv, nil
}

// kvKey is the KV key of a resource: resource keys hold '|' and other
// characters KV keys may not, so the key is a hash; the value repeats the
// resource key to catch a collision.
func kvKey(resourceKey string) string {
	h := fnv.New64a()
	_, _ = h.Write([]byte(resourceKey))
	return "r" + strconv.FormatUint(h.Sum64(), 16)
}

// State encoding, big endian. Version 4 (written) follows the state by
// position: the layout (shapes, then slots: group hash, shape and
// discontinuity time), then per position a stamp index and the value,
// ~1 + 7 bytes a series of a switch instead of version 2's ~17 (no series
// hash; 16-bit indexes only past 255 stamps). The
// layout is in every entry (~10 % of a switch48's): an entry stands alone,
// so a node that reads it after a crash or a move either has all it needs
// or starts the resource over; a layout in an entry of its own would need
// its own expiry and write order.
//
//	'R' 4 | u16 len + resource key
//	| u16 n × (f64 at, u32 uptime, u8 flags)              the positions' stamps
//	| uvarint n × (uvarint n × (uvarint len + name))     the shapes
//	| uvarint n × (u64 group hash, uvarint shape, uvarint disc)   the slots, in order
//	| per position: stamp (u8 for up to 255 stamps, 0xFF: no sample; else
//	  u16, 0xFFFF: no sample; nothing follows no sample), uvarint value
//	| the series by hash (table), as version 2 after its key
//
// Version 3 (still read: written from 2026-12-07 until version 4) held
// the discontinuity time in each stamp, so stamps × interfaces:
//
//	'R' 3 | u16 len + resource key
//	| u8 n × (f64 at, u32 uptime, u32 disc, u8 flags)   the positions' stamps
//	| the shapes, as version 4
//	| uvarint n × (u64 group hash, uvarint shape)        the slots, in order
//	| per position: u8 stamp (0xFF: no sample, nothing follows), uvarint value
//	| the series by hash (table), as version 2 after its key
//
// Version 2 (still read: a node of the previous release, a rolling upgrade):
//
//	'R' 2 | u16 len + resource key
//	| u16 n × (f64 at, u32 uptime, u8 flags)       the stamps
//	| u16 n × u32                                  the discontinuity times
//	| u32 n × (u64 series, uvarint value, u16 stamp, u16 disc or 0xFFFF)
//
// Version 1 (still read: state written before):
//
//	'R' 1 | u16 len + resource key | u32 n | n × (u64 series, u64 value,
//	f64 at, u32 uptime, u32 disc, u8 flags)
const (
	stateMagic   = 'R'
	stateVersion = 4
	entrySize    = 8 + 8 + 8 + 4 + 4 + 1 // version 1
)

// encodeState appends st's samples to b, dropping series older than the
// resource's newest by more than evict (their interface is gone). Device
// time, not the node's clock, decides, as rates use metric timestamps.
func encodeState(b []byte, st *resState, evict time.Duration) []byte {
	newest := 0.0
	for _, s := range st.pos.stamps {
		newest = max(newest, s.at)
	}
	st.series.each(func(_ uint64, s sample) { newest = max(newest, s.at) })
	cutoff := newest - evict.Seconds()
	st.pos.evict(cutoff)                                                    // and compacts: every stamp is used
	st.series.keep(func(_ uint64, s sample) bool { return s.at >= cutoff }) // likewise
	b = append(b, stateMagic, stateVersion)
	b = binary.BigEndian.AppendUint16(b, uint16(len(st.key)))
	b = append(b, st.key...)
	ps := &st.pos
	b = binary.BigEndian.AppendUint16(b, uint16(len(ps.stamps)))
	for _, s := range ps.stamps {
		b = binary.BigEndian.AppendUint64(b, math.Float64bits(s.at))
		b = binary.BigEndian.AppendUint32(b, s.uptime)
		b = append(b, s.flags)
	}
	var shapes []*shape // a resource has a few: a search beats a map
	for _, sl := range ps.slots {
		if shapeIndex(shapes, sl.shape) < 0 {
			shapes = append(shapes, sl.shape)
		}
	}
	b = binary.AppendUvarint(b, uint64(len(shapes)))
	for _, sh := range shapes {
		b = binary.AppendUvarint(b, uint64(len(sh.names)))
		for _, n := range sh.names {
			b = binary.AppendUvarint(b, uint64(len(n)))
			b = append(b, n...)
		}
	}
	b = binary.AppendUvarint(b, uint64(len(ps.slots)))
	for _, sl := range ps.slots {
		b = binary.BigEndian.AppendUint64(b, sl.hash)
		b = binary.AppendUvarint(b, uint64(shapeIndex(shapes, sl.shape)))
		b = binary.AppendUvarint(b, uint64(sl.disc))
	}
	wide := len(ps.stamps) > 255
	off := 0
	for k, sl := range ps.slots {
		for j, x := range ps.row(k) {
			if wide {
				b = binary.BigEndian.AppendUint16(b, x)
			} else {
				b = append(b, uint8(x)) // absent: 0xFF
			}
			if x != absent {
				b = binary.AppendUvarint(b, ps.value(sl.shape, j, off))
			}
		}
		off += sl.shape.units
	}
	return encodeTable(b, st.series)
}

// shapeIndex is the index of the shape in shapes with sh's names (-1:
// none): the entry holds names, not widths, so shapes that differ only in
// widths are one.
func shapeIndex(shapes []*shape, sh *shape) int {
	if i := slices.Index(shapes, sh); i >= 0 {
		return i
	}
	return slices.IndexFunc(shapes, func(s *shape) bool { return slices.Equal(s.names, sh.names) })
}

// encodeTable appends t (nil: none) as version 2 does after the key.
func encodeTable(b []byte, t *table) []byte {
	if t == nil {
		t = &table{}
	}
	b = binary.BigEndian.AppendUint16(b, uint16(len(t.times)))
	for _, s := range t.times {
		b = binary.BigEndian.AppendUint64(b, math.Float64bits(s.at))
		b = binary.BigEndian.AppendUint32(b, s.uptime)
		b = append(b, s.flags)
	}
	b = binary.BigEndian.AppendUint16(b, uint16(len(t.discs)))
	for _, d := range t.discs {
		b = binary.BigEndian.AppendUint32(b, d)
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(t.keys)))
	for i, k := range t.keys {
		b = binary.BigEndian.AppendUint64(b, k)
		b = binary.AppendUvarint(b, t.vals[i])
		b = binary.BigEndian.AppendUint16(b, t.ti[i])
		b = binary.BigEndian.AppendUint16(b, t.di[i]) // noDisc: none
	}
	return b
}

// decodeState fills st from b (any version).
func decodeState(b []byte, st *resState) error {
	if len(b) < 8 || b[0] != stateMagic {
		return errors.New("not a rate state entry")
	}
	if b[1] < 1 || b[1] > stateVersion {
		return fmt.Errorf("rate state version %d, this build reads 1 to %d", b[1], stateVersion)
	}
	kl := int(binary.BigEndian.Uint16(b[2:]))
	if len(b) < 4+kl+4 {
		return errors.New("truncated rate state")
	}
	if string(b[4:4+kl]) != st.key {
		return fmt.Errorf("entry holds resource %q (hash collision)", b[4:4+kl])
	}
	version := b[1]
	b = b[4+kl:]
	if version == 1 {
		return decodeV1(b, st)
	}
	r := reader{b: b}
	if version >= 3 {
		if err := decodePositions(&r, st, version); err != nil {
			st.pos = positional{}
			st.series = nil
			return err
		}
	}
	return decodeTable(&r, st)
}

// decodePositions reads version 3's or 4's state by position into
// st.pos. A version 3 slot takes the discontinuity time of its first
// series with one; a series with another goes to st.series.
func decodePositions(r *reader, st *resState, version uint8) error {
	ps := &st.pos
	var stamps []pstamp
	var discs []uint32 // version 3: the stamps'
	if version == 3 {
		stamps, discs = make([]pstamp, r.u8()), make([]uint32, 0, 8)
		for i := range stamps {
			stamps[i] = pstamp{at: math.Float64frombits(r.u64()), uptime: r.u32()}
			discs = append(discs, r.u32())
			stamps[i].flags = r.u8()
		}
	} else {
		n := int(r.u16())
		if n > len(r.b)/13 {
			return errors.New("truncated rate state")
		}
		stamps = make([]pstamp, n)
		for i := range stamps {
			stamps[i] = pstamp{at: math.Float64frombits(r.u64()), uptime: r.u32(), flags: r.u8()}
		}
	}
	wide := version >= 4 && len(stamps) > 255
	n := r.uvarint()
	if r.bad || n > uint64(len(r.b)) {
		return errors.New("truncated rate state")
	}
	shapes := make([][]string, n) // the names; their widths follow from the values
	for i := range shapes {
		k := r.uvarint()
		if r.bad || k == 0 || k > uint64(len(r.b)) {
			return errors.New("rate state: a shape is truncated or empty")
		}
		names := make([]string, 0, k)
		for range k {
			l := r.uvarint()
			if r.bad || l > uint64(len(r.b)) {
				return errors.New("truncated rate state")
			}
			names = append(names, string(r.take(int(l))))
		}
		shapes[i] = names
	}
	n = r.uvarint()
	if r.bad || n > uint64(len(r.b)/9) { // 8 + at least 1 bytes a slot
		return errors.New("truncated rate state")
	}
	ps.slots = make([]slot, n)
	shapeOf := make([]int, n)
	total := 0
	for i := range ps.slots {
		h, k := r.u64(), r.uvarint()
		var disc uint64
		if version >= 4 {
			disc = r.uvarint()
		}
		if r.bad || k >= uint64(len(shapes)) || disc > math.MaxUint32 {
			return errors.New("rate state: a slot's shape or discontinuity time is out of range")
		}
		ps.slots[i] = slot{hash: h, disc: uint32(disc)}
		shapeOf[i] = int(k)
		total += len(shapes[k])
	}
	if total > len(r.b) { // at least 1 byte a position
		return errors.New("truncated rate state")
	}
	vals := make([]uint64, total)
	var row []sidx
	pos := 0
	for k, sl := range ps.slots {
		row = row[:0]
		haveDisc := false
		for _, name := range shapes[shapeOf[k]] {
			x := sidx(r.u8())
			if wide {
				x = x<<8 | sidx(r.u8())
			} else if x == 0xFF {
				x = absent
			}
			if x != absent {
				if int(x) >= len(stamps) {
					return errors.New("rate state: a series' stamp is out of range")
				}
				vals[pos] = r.uvarint()
				if discs != nil && stamps[x].flags&flagDisc != 0 {
					switch d := discs[x]; {
					case !haveDisc:
						ps.slots[k].disc, haveDisc = d, true
					case d != ps.slots[k].disc:
						s := sample{value: vals[pos], at: stamps[x].at, uptime: stamps[x].uptime, disc: d, flags: stamps[x].flags}
						st.table().put(seriesHash(sl.hash, name), s)
						x = absent
					}
				}
			}
			row = append(row, x)
			pos++
		}
		ps.slots[k].ri = ps.internRow(row)
	}
	if r.bad {
		return errors.New("truncated rate state")
	}
	// A counter's width is the widest its values in the slots of the
	// shape need (the entry holds no widths: they follow from the values).
	widths := make([][]uint8, len(shapes))
	for i, names := range shapes {
		widths[i] = slices.Repeat([]uint8{1}, len(names))
	}
	pos = 0
	for k := range ps.slots {
		w := widths[shapeOf[k]]
		row := ps.rows[ps.slots[k].ri:] // ps.row needs the shape
		for j := range w {
			if row[j] != absent {
				w[j] = max(w[j], widthOf(vals[pos]))
			}
			pos++
		}
	}
	interned := make([]*shape, len(shapes))
	for i, names := range shapes {
		interned[i] = internShape(names, widths[i])
	}
	units := make([]uint16, 0, total)
	pos = 0
	for k := range ps.slots {
		sh := interned[shapeOf[k]]
		ps.slots[k].shape = sh
		for j := range sh.names {
			units = appendValue(units, sh.width[j], vals[pos])
			pos++
		}
	}
	ps.stamps, ps.vals = stamps, valuesOf(units)
	ps.compact(nil) // the rows shared, exactly sized
	return nil
}

// decodeTable reads the series by hash (version 2's body) into st.series.
func decodeTable(r *reader, st *resState) error {
	times := make([]stamp, r.u16())
	for i := range times {
		times[i] = stamp{at: math.Float64frombits(r.u64()), uptime: r.u32(), flags: r.u8()}
	}
	discs := make([]uint32, r.u16())
	for i := range discs {
		discs[i] = r.u32()
	}
	n := int(r.u32())
	if r.bad || n > len(r.b)/12 { // 8 + at least 1 + 2 + 2 bytes a series
		return errors.New("truncated rate state")
	}
	for range n {
		key, value, ti, di := r.u64(), r.uvarint(), r.u16(), r.u16()
		if r.bad || int(ti) >= len(times) || (di != noDisc && int(di) >= len(discs)) {
			return errors.New("rate state: a series' stamp is out of range")
		}
		s := sample{value: value, at: times[ti].at, uptime: times[ti].uptime, flags: times[ti].flags}
		if di != noDisc {
			s.disc, s.flags = discs[di], s.flags|flagDisc
		}
		st.table().put(key, s)
	}
	if len(r.b) != 0 {
		return fmt.Errorf("rate state: %d bytes after the last series", len(r.b))
	}
	st.series.merge()
	return nil
}

// reader reads big-endian fields; bad once one ran past the end.
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) take(n int) []byte {
	if r.bad || len(r.b) < n {
		r.bad = true
		return make([]byte, n)
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) u8() uint8   { return r.take(1)[0] }
func (r *reader) u16() uint16 { return binary.BigEndian.Uint16(r.take(2)) }
func (r *reader) u32() uint32 { return binary.BigEndian.Uint32(r.take(4)) }
func (r *reader) u64() uint64 { return binary.BigEndian.Uint64(r.take(8)) }

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.bad = true
		return 0
	}
	r.b = r.b[n:]
	return v
}

// decodeV1 reads version 1's series (b is what follows the key).
func decodeV1(b []byte, st *resState) error {
	n := int(binary.BigEndian.Uint32(b))
	b = b[4:]
	if len(b) != n*entrySize {
		return fmt.Errorf("rate state has %d bytes for %d series, want %d", len(b), n, n*entrySize)
	}
	for i := 0; i < n; i++ {
		e := b[i*entrySize:]
		st.table().put(binary.BigEndian.Uint64(e), sample{
			value:  binary.BigEndian.Uint64(e[8:]),
			at:     math.Float64frombits(binary.BigEndian.Uint64(e[16:])),
			uptime: binary.BigEndian.Uint32(e[24:]),
			disc:   binary.BigEndian.Uint32(e[28:]),
			flags:  e[32],
		})
	}
	st.series.merge()
	return nil
}
