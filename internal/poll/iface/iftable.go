package iface

import (
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/panoptes-go/panoptes/internal/snmp"
)

// field is one value an interface row can hold. Rows keep a bit per field
// saying whether the device returned it, so that "absent" and "zero" differ.
type field uint8

const (
	// ifTable (IF-MIB, 1.3.6.1.2.1.2.2.1)
	fDescr field = iota
	fType
	fMtu
	fSpeed
	fAdminStatus
	fOperStatus
	fInOctets
	fInUcast
	fInNUcast
	fInDiscards
	fInErrors
	fOutOctets
	fOutUcast
	fOutNUcast
	fOutDiscards
	fOutErrors
	// ifXTable (IF-MIB, 1.3.6.1.2.1.31.1.1.1)
	fName
	fInMcast
	fInBcast
	fOutMcast
	fOutBcast
	fHCInOctets
	fHCInUcast
	fHCInMcast
	fHCInBcast
	fHCOutOctets
	fHCOutUcast
	fHCOutMcast
	fHCOutBcast
	fHighSpeed
	fAlias
	fDiscontinuity // ifCounterDiscontinuityTime: a rate hint, not a metric
	// dot3StatsTable (EtherLike-MIB, 1.3.6.1.2.1.10.7.2.1)
	fAlignmentErrors
	fFCSErrors
	fSingleCollisions
	fMultipleCollisions
	fSQETestErrors
	fDeferredTransmissions
	fLateCollisions
	fExcessiveCollisions
	fInternalMacTxErrors
	fCarrierSenseErrors
	fFrameTooLongs
	fInternalMacRxErrors
	fSymbolErrors
	fDuplexStatus
	numFields
)

// The row bitmask is a uint64.
var _ [64 - numFields]struct{}

// column maps a table column number to the field it fills. wide marks
// Counter64 columns, which SNMPv1 cannot carry.
type column struct {
	num   int
	field field
	wide  bool
}

// table is one SNMP table the interface plugin reads.
type table struct {
	name string // for errors: "walk ifXTable: ..."
	root string // numeric OID with a leading dot
	cols []column
	// byCol[n] is the field of column n plus one; 0 means a column we skip.
	byCol [32]uint8
	// counterCols are the roots of the columns enrichment does not supply,
	// for a column walk (see walkTable).
	counterCols []string
}

func newTable(name, root string, cols ...column) *table {
	t := &table{name: name, root: root, cols: cols}
	for _, c := range cols {
		t.byCol[c.num] = uint8(c.field) + 1
		if slowFields&(1<<c.field) == 0 {
			t.counterCols = append(t.counterCols, root+"."+strconv.Itoa(c.num))
		}
	}
	return t
}

var (
	ifTable = newTable("ifTable", ".1.3.6.1.2.1.2.2.1",
		column{num: 2, field: fDescr}, column{num: 3, field: fType}, column{num: 4, field: fMtu},
		column{num: 5, field: fSpeed}, column{num: 7, field: fAdminStatus}, column{num: 8, field: fOperStatus},
		column{num: 10, field: fInOctets}, column{num: 11, field: fInUcast}, column{num: 12, field: fInNUcast},
		column{num: 13, field: fInDiscards}, column{num: 14, field: fInErrors}, column{num: 16, field: fOutOctets},
		column{num: 17, field: fOutUcast}, column{num: 18, field: fOutNUcast}, column{num: 19, field: fOutDiscards},
		column{num: 20, field: fOutErrors})
	ifXTable = newTable("ifXTable", ".1.3.6.1.2.1.31.1.1.1",
		column{num: 1, field: fName}, column{num: 2, field: fInMcast}, column{num: 3, field: fInBcast},
		column{num: 4, field: fOutMcast}, column{num: 5, field: fOutBcast},
		column{num: 6, field: fHCInOctets, wide: true}, column{num: 7, field: fHCInUcast, wide: true},
		column{num: 8, field: fHCInMcast, wide: true}, column{num: 9, field: fHCInBcast, wide: true},
		column{num: 10, field: fHCOutOctets, wide: true}, column{num: 11, field: fHCOutUcast, wide: true},
		column{num: 12, field: fHCOutMcast, wide: true}, column{num: 13, field: fHCOutBcast, wide: true},
		column{num: 15, field: fHighSpeed}, column{num: 18, field: fAlias},
		column{num: 19, field: fDiscontinuity})
	dot3StatsTable = newTable("dot3StatsTable", ".1.3.6.1.2.1.10.7.2.1",
		column{num: 2, field: fAlignmentErrors}, column{num: 3, field: fFCSErrors},
		column{num: 4, field: fSingleCollisions}, column{num: 5, field: fMultipleCollisions},
		column{num: 6, field: fSQETestErrors}, column{num: 7, field: fDeferredTransmissions},
		column{num: 8, field: fLateCollisions}, column{num: 9, field: fExcessiveCollisions},
		column{num: 10, field: fInternalMacTxErrors}, column{num: 11, field: fCarrierSenseErrors},
		column{num: 13, field: fFrameTooLongs}, column{num: 16, field: fInternalMacRxErrors},
		column{num: 18, field: fSymbolErrors}, column{num: 19, field: fDuplexStatus})
)

// walkRoots returns what to walk for t. With GETBULK (v2c, v3) one walk of
// the whole table sends fewer packets than one walk per needed column: each
// column walk ends with a partly wasted response, and most columns are
// needed. Measured against snmpsim (3 tables, packets sent):
//
//	                   max-repetitions 10   25        50
//	20 interfaces:     tables 103/cols 107  42/47     22/47
//	59 interfaces:     tables 294/cols 262  118/133   59/90
//
// so tables win at the default (25) and above. With GETNEXT (v1) every
// varbind costs a round trip, so we walk only the needed columns, and skip
// the Counter64 ones v1 cannot carry.
func (t *table) walkRoots(v1 bool) []string {
	if !v1 {
		return []string{t.root}
	}
	roots := make([]string, 0, len(t.cols))
	for _, c := range t.cols {
		if !c.wide {
			roots = append(roots, t.root+"."+strconv.Itoa(c.num))
		}
	}
	return roots
}

// ifRow is what the tables say about one ifIndex.
type ifRow struct {
	index uint32
	have  uint64 // bit f set: field f was returned
	num   [numFields]uint64
	descr string
	name  string
	alias string
}

func (r *ifRow) has(f field) bool           { return r.have&(1<<f) != 0 }
func (r *ifRow) get(f field) (uint64, bool) { return r.num[f], r.has(f) }

// rows collects interface rows from table walks.
type rows struct {
	slab  []ifRow
	byIdx map[uint32]int // ifIndex → position in slab
	// at[f] is when the walk that returned field f arrived (epoch seconds):
	// the metric's timestamp.
	at [numFields]float64
	// uptime is sysUpTime.0 read with the walks: a rate hint on counters.
	uptime     uint32
	haveUptime bool
	// next is where the row after the last one filed is: a column's rows
	// come in the order of the first column's, so most varbinds find
	// their row there without a map lookup.
	next int
	// emits is build's scratch: the metrics each row's group takes (0: no
	// group), kept with the rows between polls.
	emits []int32
}

// rowsPool keeps rows between polls: a 48-port switch's are ~25 KB, built
// and dropped at every poll.
var rowsPool sync.Pool

const maxPooledRows = 1024

// newRows returns empty rows for about capacity interfaces; release gives
// them back once the groups are built (which keep none of their memory:
// only strings, which are immutable).
func newRows(capacity int) *rows {
	if rs, ok := rowsPool.Get().(*rows); ok {
		rs.slab = slices.Grow(rs.slab, capacity)
		return rs
	}
	return &rows{slab: make([]ifRow, 0, capacity), byIdx: make(map[uint32]int, capacity)}
}

// release empties rs and keeps it for another poll, unless it is large (a
// device of thousands of interfaces is rare: its rows go to the GC).
func (rs *rows) release() {
	if cap(rs.slab) > maxPooledRows {
		return
	}
	clear(rs.slab) // the strings: not to keep them alive
	clear(rs.byIdx)
	*rs = rows{slab: rs.slab[:0], byIdx: rs.byIdx, emits: rs.emits[:0]}
	rowsPool.Put(rs)
}

// find returns the position of idx's row, by way of rs.next when it is
// there.
func (rs *rows) find(idx uint32) (int, bool) {
	if rs.next < len(rs.slab) && rs.slab[rs.next].index == idx {
		return rs.next, true
	}
	pos, ok := rs.byIdx[idx]
	return pos, ok
}

// add files the varbinds of one walk of t, which arrived at time at. Rows
// are created by the interface tables only: a dot3 row without an ifTable
// or ifXTable row is not an interface we can name. Varbinds that are not
// under t or cannot be parsed are skipped.
func (rs *rows) add(t *table, vbs []snmp.Varbind, at float64, creates bool) {
	var seen uint64
	for i := range vbs {
		vb := &vbs[i]
		col, idx, ok := parseInstance(vb.Name, t.root)
		if !ok || col >= len(t.byCol) || t.byCol[col] == 0 {
			continue
		}
		f := field(t.byCol[col] - 1)
		pos, found := rs.find(idx)
		if !found {
			if !creates {
				continue
			}
			pos = len(rs.slab)
			rs.slab = append(rs.slab, ifRow{index: idx})
			rs.byIdx[idx] = pos
		}
		rs.next = pos + 1
		r := &rs.slab[pos]
		switch f {
		case fDescr, fName, fAlias:
			s, ok := snmp.Text(vb)
			if !ok {
				continue
			}
			switch f {
			case fDescr:
				r.descr = s
			case fName:
				r.name = s
			default:
				r.alias = s
			}
		default:
			n, ok := snmp.Uint(vb)
			if !ok {
				continue
			}
			r.num[f] = n
		}
		r.have |= 1 << f
		seen |= 1 << f
	}
	for f := range numFields {
		if seen&(1<<f) != 0 {
			rs.at[f] = at
		}
	}
}

// parseInstance splits ".<root>.<col>.<ifIndex>" into column and index.
func parseInstance(oid, root string) (int, uint32, bool) {
	rest, ok := strings.CutPrefix(oid, root)
	if !ok || len(rest) < 4 || rest[0] != '.' {
		return 0, 0, false
	}
	rest = rest[1:]
	dot := strings.IndexByte(rest, '.')
	if dot <= 0 {
		return 0, 0, false
	}
	col, ok := parseUint(rest[:dot], 1<<16)
	if !ok {
		return 0, 0, false
	}
	idx, ok := parseUint(rest[dot+1:], 1<<32-1)
	if !ok {
		return 0, 0, false
	}
	return int(col), uint32(idx), true
}

// parseUint parses a decimal sub-identifier no larger than max.
func parseUint(s string, max uint64) (uint64, bool) {
	if s == "" || len(s) > 10 {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, n <= max
}
