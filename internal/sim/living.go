package sim

import (
	"hash/fnv"
	"math/bits"

	"github.com/panoptes-go/panoptes/internal/ber"
)

// rateClass says how an entry's value lives. Counters advance at a rate
// derived from the device's seed and the entry's rateKey, so two devices
// serving the same recording differ, and a test can compute every rate.
type rateClass uint8

const (
	classStatic rateClass = iota // answered as recorded
	classUptime                  // TimeTicks since the device's (re)start
	classIdle                    // a counter that does not move (interface not up)
	classOctets                  // ifIn/OutOctets, ifHCIn/OutOctets
	classUcast                   // unicast packets: octets / a per-interface packet size
	classMcast                   // multicast packets
	classBcast                   // broadcast packets
	classNUcast                  // ifIn/OutNUcastPkts: multicast + broadcast
	classRare                    // errors, discards, dot3Stats: mostly zero
	classOther                   // any other counter
)

// Interface quantities (the high half of an interface counter's rateKey).
// 32- and 64-bit columns of one quantity share it, hence their rate.
const (
	qIn, qOut = 0, 16
	kOctets   = 1
	kUcast    = 2
	kMcast    = 3
	kBcast    = 4
	kNUcast   = 5
	kDiscards = 6
	kErrors   = 7
	kUnknown  = 8
	qDot3     = 64 // + dot3StatsTable column
)

var (
	oidIfEntry      = []uint32{1, 3, 6, 1, 2, 1, 2, 2, 1}
	oidIfXEntry     = []uint32{1, 3, 6, 1, 2, 1, 31, 1, 1, 1}
	oidDot3Entry    = []uint32{1, 3, 6, 1, 2, 1, 10, 7, 2, 1}
	oidSysUpTime    = []uint32{1, 3, 6, 1, 2, 1, 1, 3, 0}
	oidHrSysUptime  = []uint32{1, 3, 6, 1, 2, 1, 25, 1, 1, 0}
	oidSysName      = []uint32{1, 3, 6, 1, 2, 1, 1, 5, 0}
	oidIfOperStatus = append(append([]uint32{}, oidIfEntry...), 8)
)

// ifTable and ifXTable counter columns → quantity.
var (
	ifTableQ = map[uint32]uint32{
		10: qIn + kOctets, 11: qIn + kUcast, 12: qIn + kNUcast, 13: qIn + kDiscards, 14: qIn + kErrors, 15: qIn + kUnknown,
		16: qOut + kOctets, 17: qOut + kUcast, 18: qOut + kNUcast, 19: qOut + kDiscards, 20: qOut + kErrors,
	}
	ifXTableQ = map[uint32]uint32{
		2: qIn + kMcast, 3: qIn + kBcast, 4: qOut + kMcast, 5: qOut + kBcast,
		6: qIn + kOctets, 7: qIn + kUcast, 8: qIn + kMcast, 9: qIn + kBcast,
		10: qOut + kOctets, 11: qOut + kUcast, 12: qOut + kMcast, 13: qOut + kBcast,
	}
)

// classifier decides each record's class; it knows which interfaces are
// not up (their counters stay still, as on a real device).
type classifier struct {
	notUp map[uint32]bool // ifIndex → ifOperStatus present and not up(1)
}

func newClassifier(recs []rec) *classifier {
	c := &classifier{notUp: map[uint32]bool{}}
	for _, r := range recs {
		if len(r.arcs) == len(oidIfOperStatus)+1 && ber.HasPrefix(r.arcs, oidIfOperStatus) && r.tag == ber.TagInteger {
			if v, ok := ber.DecodeInt(r.value); ok && v != 1 {
				c.notUp[r.arcs[len(r.arcs)-1]] = true
			}
		}
	}
	return c
}

func (c *classifier) classify(arcs []uint32, tag byte) (rateClass, uint64) {
	if tag == ber.TagTimeTicks && (ber.CompareArcs(arcs, oidSysUpTime) == 0 || ber.CompareArcs(arcs, oidHrSysUptime) == 0) {
		return classUptime, 0
	}
	if tag != ber.TagCounter32 && tag != ber.TagCounter64 {
		return classStatic, 0
	}
	if q, ifIndex, ok := interfaceQuantity(arcs); ok {
		key := uint64(q)<<32 | uint64(ifIndex)
		if c.notUp[ifIndex] {
			return classIdle, key
		}
		switch {
		case q >= qDot3:
			return classRare, key
		case q%16 == kOctets:
			return classOctets, key
		case q%16 == kUcast:
			return classUcast, key
		case q%16 == kMcast:
			return classMcast, key
		case q%16 == kBcast:
			return classBcast, key
		case q%16 == kNUcast:
			return classNUcast, key
		}
		return classRare, key
	}
	h := fnv.New64a()
	var b [4]byte
	for _, a := range arcs {
		b[0], b[1], b[2], b[3] = byte(a>>24), byte(a>>16), byte(a>>8), byte(a)
		_, _ = h.Write(b[:])
	}
	return classOther, h.Sum64()
}

// interfaceQuantity maps an ifTable/ifXTable/dot3StatsTable counter
// instance to its quantity and ifIndex.
func interfaceQuantity(arcs []uint32) (q, ifIndex uint32, ok bool) {
	for _, t := range []struct {
		entry []uint32
		cols  map[uint32]uint32
	}{{oidIfEntry, ifTableQ}, {oidIfXEntry, ifXTableQ}, {oidDot3Entry, nil}} {
		if len(arcs) != len(t.entry)+2 || !ber.HasPrefix(arcs, t.entry) {
			continue
		}
		col, idx := arcs[len(t.entry)], arcs[len(t.entry)+1]
		if t.cols == nil {
			return qDot3 + col, idx, true
		}
		if q, ok := t.cols[col]; ok {
			return q, idx, true
		}
	}
	return 0, 0, false
}

// mix is SplitMix64's finalizer: a cheap, well-distributed hash.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// rate is the per-second increase of a counter of class c and key on a
// device with the given seed. Octets run at 1 kB/s-12.5 MB/s per interface
// and direction (a 32-bit octet counter wraps within minutes to days),
// unicast packets at octets / a packet size of 64-1500, multicast below 50/s,
// broadcast below 20/s, errors and discards at 1-4/s on one interface in
// eight, other counters below 1000/s.
func rate(c rateClass, seed, key uint64) uint64 {
	h := mix(seed ^ key)
	switch c {
	case classOctets:
		return 1000 + h%12_499_000
	case classUcast:
		oct := rate(classOctets, seed, key-uint64(kUcast-kOctets)<<32)
		return max(1, oct/(64+mix(h)%1437))
	case classMcast:
		return h % 50
	case classBcast:
		return h % 20
	case classNUcast:
		base := key - uint64(kNUcast)<<32
		return rate(classMcast, seed, base+uint64(kMcast)<<32) + rate(classBcast, seed, base+uint64(kBcast)<<32)
	case classRare:
		if h%8 == 0 {
			return 1 + mix(h)%4
		}
		return 0
	case classOther:
		return h % 1000
	}
	return 0
}

// advance is base + rate × elapsed (whole units, truncated), mod 2^64.
// Split into seconds and the remainder, the divisions are by constants
// (multiplications) and nothing overflows below 2^34 units per second.
func advance(base, perSecond uint64, elapsedNs int64) uint64 {
	if elapsedNs <= 0 || perSecond == 0 {
		return base
	}
	ns := uint64(elapsedNs)
	if perSecond < 1<<34 {
		return base + perSecond*(ns/1e9) + perSecond*(ns%1e9)/1e9
	}
	hi, lo := bits.Mul64(perSecond, ns)
	if hi >= 1e9 { // beyond 2^64 units: not at these rates
		return base
	}
	q, _ := bits.Div64(hi, lo, 1e9)
	return base + q
}
