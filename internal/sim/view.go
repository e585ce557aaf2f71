package sim

import (
	"sync"
	"time"

	"github.com/panoptes-go/panoptes/internal/ber"
)

// Interface is one interface of a device at one time, read from its
// recording (ifTable, ifXTable, dot3StatsTable) with the living counters:
// what a protocol other than SNMP (the gNMI target of package gnmisim)
// serves, so that one simulated device looks the same over both.
//
// Counters are the 64-bit (HC) columns where the recording has them, else
// the 32-bit ones; Has* say which optional values the recording holds.
type Interface struct {
	Index            uint32
	Name             string // ifName, else ifDescr
	Descr, Alias     string
	Type             uint64 // IANAifType
	MTU              int64
	Speed            uint64 // bits/s: ifHighSpeed × 10^6 where ifSpeed is saturated or absent
	AdminStatus      int64  // IF-MIB values: 1 up, 2 down, 3 testing
	OperStatus       int64
	HasSpeed, HasMTU bool
	// Counters by quantity; Has says which the recording holds.
	InOctets, InUcast, InMcast, InBcast, InDiscards, InErrors, InUnknownProtos uint64
	OutOctets, OutUcast, OutMcast, OutBcast, OutDiscards, OutErrors            uint64
	Has                                                                        IfCounters
	// Dot3 holds dot3StatsTable counters by column (2 alignment errors,
	// 3 FCS errors, 4 single collisions, ... 18 symbol errors); bit c of
	// HasDot3 says column c is present.
	Dot3    [19]uint64
	HasDot3 uint32
	// Duplex is dot3StatsDuplexStatus (2 half, 3 full); 0 when absent.
	Duplex int64
}

// IfCounters flags which counters of an Interface are present.
type IfCounters uint32

// Counter presence flags.
const (
	HasInOctets IfCounters = 1 << iota
	HasInUcast
	HasInMcast
	HasInBcast
	HasInDiscards
	HasInErrors
	HasInUnknownProtos
	HasOutOctets
	HasOutUcast
	HasOutMcast
	HasOutBcast
	HasOutDiscards
	HasOutErrors
)

// ifLayout is where each interface's values sit in a recording, found once
// per recording: reading a device's interfaces then costs no search.
type ifLayout struct {
	rows []ifRowLayout
}

type ifRowLayout struct {
	index uint32
	col   map[uint32]int // (table << 16 | column) → entry index
}

const (
	tIf   = 1 << 16
	tIfX  = 2 << 16
	tDot3 = 3 << 16
)

var layouts sync.Map // *Recording → *ifLayout

func layoutOf(r *Recording) *ifLayout {
	if l, ok := layouts.Load(r); ok {
		return l.(*ifLayout)
	}
	l := &ifLayout{}
	byIndex := map[uint32]int{}
	row := func(idx uint32) *ifRowLayout {
		i, ok := byIndex[idx]
		if !ok {
			i = len(l.rows)
			byIndex[idx] = i
			l.rows = append(l.rows, ifRowLayout{index: idx, col: map[uint32]int{}})
		}
		return &l.rows[i]
	}
	for i := range r.entries {
		arcs := r.oidArcs(&r.entries[i])
		for _, t := range []struct {
			entry []uint32
			table uint32
		}{{oidIfEntry, tIf}, {oidIfXEntry, tIfX}, {oidDot3Entry, tDot3}} {
			if len(arcs) == len(t.entry)+2 && ber.HasPrefix(arcs, t.entry) {
				col, idx := arcs[len(t.entry)], arcs[len(t.entry)+1]
				if t.table == tIf && col == 1 || t.table != tIf {
					row(idx)
				}
				if j, ok := byIndex[idx]; ok {
					l.rows[j].col[t.table|col] = i
				}
			}
		}
	}
	v, _ := layouts.LoadOrStore(r, l)
	return v.(*ifLayout)
}

// Interfaces returns the device's interfaces at t, in ifIndex order.
func (d *Device) Interfaces(t time.Time) []Interface {
	lay := layoutOf(d.rec)
	l := d.life.Load()
	elapsed := t.UnixNano() - l.epoch
	out := make([]Interface, 0, len(lay.rows))
	for i := range lay.rows {
		row := &lay.rows[i]
		if _, ok := row.col[tIf|1]; !ok {
			continue
		}
		get := func(c uint32) (*entry, bool) {
			j, ok := row.col[c]
			if !ok {
				return nil, false
			}
			return &d.rec.entries[j], true
		}
		str := func(c uint32) string {
			e, ok := get(c)
			if !ok || e.tag != ber.TagOctetString {
				return ""
			}
			return string(d.content(e))
		}
		num := func(c uint32) (uint64, bool) {
			e, ok := get(c)
			if !ok {
				return 0, false
			}
			if e.tag == ber.TagCounter32 || e.tag == ber.TagCounter64 {
				return d.counter(e, l, elapsed), true
			}
			if e.tag == ber.TagInteger {
				v, ok := ber.DecodeInt(d.content(e))
				return uint64(v), ok
			}
			return ber.DecodeUint(d.content(e))
		}
		f := Interface{Index: row.index, Descr: str(tIf | 2), Name: str(tIfX | 1), Alias: str(tIfX | 18)}
		if f.Name == "" {
			f.Name = f.Descr
		}
		f.Type, _ = num(tIf | 3)
		if v, ok := num(tIf | 4); ok {
			f.MTU, f.HasMTU = int64(v), true
		}
		speed, haveSpeed := num(tIf | 5)
		high, haveHigh := num(tIfX | 15)
		switch { // as the interface plugin's configuredSpeed
		case haveHigh && (!haveSpeed || speed >= 4294967295 || high*1_000_000 > speed+500_000):
			f.Speed, f.HasSpeed = high*1_000_000, true
		case haveSpeed:
			f.Speed, f.HasSpeed = speed, true
		}
		if v, ok := num(tIf | 7); ok {
			f.AdminStatus = int64(v)
		}
		if v, ok := num(tIf | 8); ok {
			f.OperStatus = int64(v)
		}
		if v, ok := d.overlayInt(cat(oidIfEntry, 7, row.index)); ok { // the simulated network took it down
			f.AdminStatus = v
		}
		if v, ok := d.overlayInt(cat(oidIfEntry, 8, row.index)); ok {
			f.OperStatus = v
		}
		wide := func(dst *uint64, flag IfCounters, hc, narrow uint32) {
			if v, ok := num(hc); ok {
				*dst, f.Has = v, f.Has|flag
			} else if v, ok := num(narrow); ok {
				*dst, f.Has = v, f.Has|flag
			}
		}
		wide(&f.InOctets, HasInOctets, tIfX|6, tIf|10)
		wide(&f.InUcast, HasInUcast, tIfX|7, tIf|11)
		wide(&f.InMcast, HasInMcast, tIfX|8, tIfX|2)
		wide(&f.InBcast, HasInBcast, tIfX|9, tIfX|3)
		wide(&f.OutOctets, HasOutOctets, tIfX|10, tIf|16)
		wide(&f.OutUcast, HasOutUcast, tIfX|11, tIf|17)
		wide(&f.OutMcast, HasOutMcast, tIfX|12, tIfX|4)
		wide(&f.OutBcast, HasOutBcast, tIfX|13, tIfX|5)
		wide(&f.InDiscards, HasInDiscards, tIf|13, tIf|13)
		wide(&f.InErrors, HasInErrors, tIf|14, tIf|14)
		wide(&f.InUnknownProtos, HasInUnknownProtos, tIf|15, tIf|15)
		wide(&f.OutDiscards, HasOutDiscards, tIf|19, tIf|19)
		wide(&f.OutErrors, HasOutErrors, tIf|20, tIf|20)
		for c := uint32(2); c < uint32(len(f.Dot3)); c++ {
			if e, ok := get(tDot3 | c); ok && (e.tag == ber.TagCounter32 || e.tag == ber.TagCounter64) {
				f.Dot3[c], f.HasDot3 = d.counter(e, l, elapsed), f.HasDot3|1<<c
			}
		}
		if v, ok := num(tDot3 | 19); ok {
			f.Duplex = int64(v)
		}
		out = append(out, f)
	}
	return out
}

// content is a static entry's value bytes (without tag and length).
func (d *Device) content(e *entry) []byte {
	tlv := d.rec.valueTLV(e)
	_, start, end, ok := ber.ReadTLV(tlv, 0)
	if !ok {
		return nil
	}
	return tlv[start:end]
}

// Epoch is when the device's counters started counting: the farm's start,
// or its last Restart. A protocol that reports counter discontinuities
// (gNMI's last-clear) reports this.
func (d *Device) Epoch() time.Time { return time.Unix(0, d.life.Load().epoch) }

// Now is the farm's clock (Options.Now).
func (d *Device) Now() time.Time { return d.farm.now() }

// Seed is the device's rate seed: other protocols' simulated data derives
// from it, as SNMP counters do.
func (d *Device) Seed() uint64 { return d.seed }
