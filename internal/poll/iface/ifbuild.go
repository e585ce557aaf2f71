package iface

import (
	"path"
	"slices"
	"strings"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/resource"
)

// InterfaceGroupType is the metrics group type of the interface plugin.
const InterfaceGroupType = "interface"

// NotSet is the value of a dimension the device did not return (Panoptes').
const NotSet = "<not set>"

// maxSpeed32 is ifSpeed's ceiling: "the speed is higher, see ifHighSpeed".
const maxSpeed32 = 4294967295

// dot3Counters are the EtherLike-MIB counters of the interface group. The
// first three keep the names Panoptes gave them.
var dot3Counters = [...]struct {
	name  string
	field field
}{
	{"errors_frame", fAlignmentErrors}, // dot3StatsAlignmentErrors
	{"errors_crc", fFCSErrors},         // dot3StatsFCSErrors
	{"errors_giants", fFrameTooLongs},  // dot3StatsFrameTooLongs
	{"single_collision_frames", fSingleCollisions},
	{"multiple_collision_frames", fMultipleCollisions},
	{"sqe_test_errors", fSQETestErrors},
	{"deferred_transmissions", fDeferredTransmissions},
	{"late_collisions", fLateCollisions},
	{"excessive_collisions", fExcessiveCollisions},
	{"internal_mac_transmit_errors", fInternalMacTxErrors},
	{"carrier_sense_errors", fCarrierSenseErrors},
	{"internal_mac_receive_errors", fInternalMacRxErrors},
	{"symbol_errors", fSymbolErrors},
}

// fieldBits is each counter field's width: Counter64 for the ifXTable HC
// columns, Counter32 for the others.
var fieldBits = func() (b [numFields]uint8) {
	for _, t := range []*table{ifTable, ifXTable, dot3StatsTable} {
		for _, c := range t.cols {
			b[c.field] = 32
			if c.wide {
				b[c.field] = 64
			}
		}
	}
	return b
}()

// maxInterfaceMetrics bounds the metrics of one group.
const maxInterfaceMetrics = 20 + len(dot3Counters)

// interfaceDimensions is the number of dimensions of every interface group.
const interfaceDimensions = 5

// build turns the collected rows into one `interface` group per ifIndex,
// in ifIndex order, skipping interfaces whose name matches an exclude
// pattern. Groups, metrics and dimensions are carved from three slabs so
// that a 48-port device costs a handful of allocations, not thousands.
// With rateRoom, each group's Metrics has room beyond its length for a
// rate gauge per counter (poll.Request.Rates).
//
// The slabs are sized exactly: a first pass counts what each row will
// emit (countMetrics, from the fields it holds), so that a poll allocates
// the metrics it sends and the rate gauges of its counters, not a group's
// maximum (33 metrics, twice that with rates) for every interface. Were a
// count short, append would move the slab's tail elsewhere: the groups
// would still be right (each keeps its own part), only one more
// allocation made.
func (rs *rows) build(res *resource.Resource, interval int, created float64, o *interfaceOptions, rateRoom bool) []*metric.Group {
	if !slices.IsSortedFunc(rs.slab, cmpIndex) {
		slices.SortFunc(rs.slab, cmpIndex)
	}
	n := len(rs.slab)
	// Pass 1: which rows make a group, and how many metrics (and rate
	// gauges) each takes. emits[i] is 0 for a row without a group.
	rs.emits = slices.Grow(rs.emits[:0], n)[:n]
	total, kept := 0, 0
	for i := range rs.slab {
		r := &rs.slab[i]
		rs.emits[i] = 0
		if o.excluded(r.displayName()) {
			continue
		}
		metrics, counters := countMetrics(r, o.includeDot3)
		if metrics == 0 {
			continue // nothing measured (a row with only a name): no group
		}
		if rateRoom {
			metrics += counters
		}
		rs.emits[i] = int32(metrics)
		total += metrics
		kept++
	}
	groups := make([]metric.Group, 0, kept)
	out := make([]*metric.Group, 0, kept)
	mslab := make([]metric.Metric, 0, total)
	dslab := make([]metric.Dimension, 0, kept*interfaceDimensions)
	var speeds speedNames

	for i := range rs.slab {
		if rs.emits[i] == 0 {
			continue
		}
		r := &rs.slab[i]
		name := r.displayName()
		m0 := len(mslab)
		mslab = rs.appendMetrics(mslab, r, o.includeDot3)
		speed, speedField, haveSpeed := configuredSpeed(r)
		if haveSpeed {
			mslab = append(mslab, metric.Metric{Name: "configured_speed", Value: metric.Uint(speed),
				Type: metric.Gauge, Timestamp: rs.at[speedField]})
		}
		d0 := len(dslab)
		speedDim := NotSet
		if haveSpeed {
			speedDim = speeds.get(speed)
		}
		mediaType := NotSet
		if t, ok := r.get(fType); ok {
			mediaType = ifTypeName(t)
		}
		dslab = append(dslab,
			metric.Dimension{Name: "interface_name", Value: orNotSet(name)},
			metric.Dimension{Name: "alias", Value: orNotSet(r.alias)},
			metric.Dimension{Name: "description", Value: orNotSet(r.descr)},
			metric.Dimension{Name: "media_type", Value: mediaType},
			metric.Dimension{Name: "port_speed", Value: speedDim},
		)
		m1, room := len(mslab), 0
		if rateRoom { // a rate gauge per counter, appended in place
			for _, m := range mslab[m0:] {
				if m.Type == metric.Counter {
					room++
				}
			}
			mslab = slices.Grow(mslab, room)[:m1+room]
		}
		groups = append(groups, metric.Group{
			Resource:          res,
			Type:              InterfaceGroupType,
			Interval:          interval,
			CreationTimestamp: created,
			SchemaVersion:     metric.SchemaVersion,
			// Full slice expressions: a later append by a consumer must not
			// overwrite the next group's metrics.
			Metrics:    mslab[m0 : m1 : m1+room],
			Dimensions: dslab[d0:len(dslab):len(dslab)],
		})
		out = append(out, &groups[len(groups)-1])
	}
	return out
}

// displayName is the name exclude patterns match and interface_name
// shows: ifName, or ifDescr when ifName is blank.
func (r *ifRow) displayName() string {
	if isBlank(r.name) {
		return r.descr
	}
	return r.name
}

// countMetrics is how many metrics build emits for r (appendMetrics' and
// configured_speed), and how many of them are counters: it follows
// appendMetrics field for field (TestCountMetricsMatchesAppend holds it to
// that for every combination of present fields that matters).
func countMetrics(r *ifRow, dot3 bool) (metrics, counters int) {
	for _, c := range wideCounters {
		if r.has(c.hc) || r.has(c.narrow) {
			counters++
		}
	}
	if r.has(fHCInUcast) && r.has(fHCInMcast) && r.has(fHCInBcast) ||
		r.has(fInUcast) && r.has(fInMcast) && r.has(fInBcast) ||
		r.has(fInUcast) && r.has(fInNUcast) {
		counters++
	}
	if r.has(fHCOutUcast) && r.has(fHCOutMcast) && r.has(fHCOutBcast) ||
		r.has(fOutUcast) && r.has(fOutMcast) && r.has(fOutBcast) ||
		r.has(fOutUcast) && r.has(fOutNUcast) {
		counters++
	}
	for _, f := range [...]field{fInErrors, fOutErrors, fInDiscards, fOutDiscards} {
		if r.has(f) {
			counters++
		}
	}
	gauges := 0
	if dot3 {
		for _, c := range dot3Counters {
			if r.has(c.field) {
				counters++
			}
		}
		if r.has(fDuplexStatus) {
			gauges++
		}
	}
	if r.has(fAdminStatus) {
		gauges++
	}
	if r.has(fOperStatus) {
		gauges++
	}
	if r.has(fAdminStatus) && r.has(fOperStatus) {
		gauges++ // oper_admin_state_mismatch
	}
	if r.has(fMtu) {
		gauges++
	}
	if r.has(fSpeed) || r.has(fHighSpeed) {
		gauges++ // configured_speed
	}
	return counters + gauges, counters
}

// wideCounters are appendMetrics' counters read from a 64-bit column, or
// its 32-bit twin when the device has no HC value.
var wideCounters = [...]struct {
	name       string
	hc, narrow field
	mul        uint64
}{
	// bits = octets × 8
	{"bits_in", fHCInOctets, fInOctets, 8},
	{"bits_out", fHCOutOctets, fOutOctets, 8},
	{"unicast_packets_in", fHCInUcast, fInUcast, 1},
	{"unicast_packets_out", fHCOutUcast, fOutUcast, 1},
	{"multicast_packets_in", fHCInMcast, fInMcast, 1},
	{"multicast_packets_out", fHCOutMcast, fOutMcast, 1},
	{"broadcast_packets_in", fHCInBcast, fInBcast, 1},
	{"broadcast_packets_out", fHCOutBcast, fOutBcast, 1},
}

// appendMetrics appends r's counters and state gauges (all but
// configured_speed). A metric whose source the device did not return is
// omitted rather than sent as a made-up value.
func (rs *rows) appendMetrics(ms []metric.Metric, r *ifRow, dot3 bool) []metric.Metric {
	// hint tells the rate processor the counter's width and what reveals
	// a restart or discontinuity.
	hint := metric.Hint{HaveUptime: rs.haveUptime, Uptime: rs.uptime}
	if d, ok := r.get(fDiscontinuity); ok {
		hint.HaveDiscontinuity, hint.Discontinuity = true, uint32(d)
	}
	counterBits := func(name string, v uint64, f field, bits uint8) {
		h := hint
		h.Bits = bits
		ms = append(ms, metric.Metric{Name: name, Value: metric.Uint(v), Type: metric.Counter, Timestamp: rs.at[f], Hint: h})
	}
	counter := func(name string, v uint64, f field) { counterBits(name, v, f, fieldBits[f]) }
	gauge := func(name string, v int64, f field) {
		ms = append(ms, metric.Metric{Name: name, Value: metric.Int(v), Type: metric.Gauge, Timestamp: rs.at[f]})
	}
	// 64-bit counter first, its 32-bit twin when the device has no HC value.
	wideOr := func(name string, hc, narrow field, mul uint64) {
		extra := uint8(0)
		if mul == 8 {
			extra = 3 // ×8 moves the wrap from 2^32 to 2^35
		}
		if v, ok := r.get(hc); ok {
			counterBits(name, v*mul, hc, 64)
		} else if v, ok := r.get(narrow); ok {
			counterBits(name, v*mul, narrow, 32+extra)
		}
	}
	// bits = octets × 8 in uint64: exact up to 2^61 octets (2 EiB), which
	// no interface counter reaches before the device reboots. From 32-bit
	// octets the product wraps at 2^35 instead of 2^32.
	for _, c := range wideCounters {
		wideOr(c.name, c.hc, c.narrow, c.mul)
	}
	if v, f, ok := total(r, fHCInUcast, fHCInMcast, fHCInBcast, fInUcast, fInMcast, fInBcast, fInNUcast); ok {
		counter("total_packets_in", v, f)
	}
	if v, f, ok := total(r, fHCOutUcast, fHCOutMcast, fHCOutBcast, fOutUcast, fOutMcast, fOutBcast, fOutNUcast); ok {
		counter("total_packets_out", v, f)
	}
	for _, c := range [...]struct {
		name string
		f    field
	}{{"errors_in", fInErrors}, {"errors_out", fOutErrors}, {"discards_in", fInDiscards}, {"discards_out", fOutDiscards}} {
		if v, ok := r.get(c.f); ok {
			counter(c.name, v, c.f)
		}
	}
	if dot3 {
		for _, c := range dot3Counters {
			if v, ok := r.get(c.field); ok {
				counter(c.name, v, c.field)
			}
		}
		if v, ok := r.get(fDuplexStatus); ok {
			gauge("duplex_status", int64(v), fDuplexStatus)
		}
	}
	admin, haveAdmin := r.get(fAdminStatus)
	oper, haveOper := r.get(fOperStatus)
	if haveAdmin {
		gauge("admin_state", int64(admin), fAdminStatus)
	}
	if haveOper {
		gauge("oper_state", int64(oper), fOperStatus)
	}
	if haveAdmin && haveOper {
		mismatch := int64(0)
		if admin != oper {
			mismatch = 1
		}
		gauge("oper_admin_state_mismatch", mismatch, fOperStatus)
	}
	if v, ok := r.get(fMtu); ok {
		gauge("mtu", int64(v), fMtu)
	}
	return ms
}

// total sums unicast, multicast and broadcast packets from counters of one
// width only, so that the sum wraps like its parts: all three 64-bit ones,
// else all three 32-bit ones, else ifInUcastPkts + ifInNUcastPkts (the
// deprecated non-unicast count is exactly multicast + broadcast). f is the
// field whose walk time stamps the sum.
func total(r *ifRow, hcU, hcM, hcB, u, m, b, nu field) (uint64, field, bool) {
	if r.has(hcU) && r.has(hcM) && r.has(hcB) {
		return r.num[hcU] + r.num[hcM] + r.num[hcB], hcU, true
	}
	if r.has(u) && r.has(m) && r.has(b) {
		return r.num[u] + r.num[m] + r.num[b], u, true
	}
	if r.has(u) && r.has(nu) {
		return r.num[u] + r.num[nu], u, true
	}
	return 0, 0, false
}

// configuredSpeed is the interface speed in bits/s. ifSpeed is exact but
// saturates at 4294967295; ifHighSpeed is in Mbps, rounded. We take
// ifHighSpeed × 10^6 when ifSpeed is saturated or absent, or when it
// exceeds ifSpeed by more than its rounding (devices that report a 10G port
// with ifSpeed 1G); otherwise ifSpeed, so a T1 stays 1544000, not 2000000.
func configuredSpeed(r *ifRow) (uint64, field, bool) {
	speed, haveSpeed := r.get(fSpeed)
	high, haveHigh := r.get(fHighSpeed)
	switch {
	case haveHigh && (!haveSpeed || speed >= maxSpeed32 || high*1_000_000 > speed+500_000):
		return high * 1_000_000, fHighSpeed, true
	case haveSpeed:
		return speed, fSpeed, true
	}
	return 0, 0, false
}

// speedNames caches port_speed strings: a device has few distinct speeds.
type speedNames struct {
	speeds []uint64
	names  []string
}

func (s *speedNames) get(bps uint64) string {
	if i := slices.Index(s.speeds, bps); i >= 0 {
		return s.names[i]
	}
	n := portSpeed(bps)
	s.speeds, s.names = append(s.speeds, bps), append(s.names, n)
	return n
}

func cmpIndex(a, b ifRow) int {
	switch {
	case a.index < b.index:
		return -1
	case a.index > b.index:
		return 1
	}
	return 0
}

func isBlank(s string) bool { return strings.TrimSpace(s) == "" }

func orNotSet(s string) string {
	if isBlank(s) {
		return NotSet
	}
	return s
}

// excluded reports whether an interface name matches an exclude pattern.
func (o *interfaceOptions) excluded(name string) bool {
	for _, p := range o.exclude {
		if ok, _ := path.Match(p, name); ok {
			return true
		}
	}
	return false
}
