package gnmisim

import (
	"fmt"
	"strings"
	"sync"
	"time"

	pb "github.com/openconfig/gnmi/proto/gnmi"

	"github.com/panoptes-go/panoptes/internal/sim"
)

// The OpenConfig data a target serves, rebuilt from its device at every
// update tick: interfaces from the device's recording with its living
// counters (the same values its SNMP agent answers), and, derived from the
// device's seed, components (CPU, memory, temperature sensors, fans, power
// supplies), BGP neighbours (router templates) and LLDP neighbours of the
// uplinks. Counters of components and BGP count from the device's epoch,
// so a Restart resets them all.

// elem builds a path element.
func elem(name string, kv ...string) *pb.PathElem {
	e := &pb.PathElem{Name: name}
	if len(kv) > 0 {
		e.Key = map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			e.Key[kv[i]] = kv[i+1]
		}
	}
	return e
}

// rel parses a relative path of plain names ("state/counters/in-octets").
func rel(s string) *pb.Path {
	p := &pb.Path{}
	for _, n := range strings.Split(s, "/") {
		p.Elem = append(p.Elem, &pb.PathElem{Name: n})
	}
	return p
}

// Relative leaf paths, shared by every notification (never modified).
var leafPaths sync.Map // string → *pb.Path

func leafPath(s string) *pb.Path {
	if p, ok := leafPaths.Load(s); ok {
		return p.(*pb.Path)
	}
	p, _ := leafPaths.LoadOrStore(s, rel(s))
	return p.(*pb.Path)
}

func init() {
	for _, s := range []string{
		"state/name", "state/description", "state/type", "state/mtu", "state/ifindex", "state/admin-status", "state/oper-status",
		"state/counters/last-clear", "ethernet/state/port-speed", "ethernet/state/duplex-mode",
	} {
		leafPath(s)
	}
	for _, c := range ifCounterLeaves {
		leafPath("state/counters/" + c)
	}
	for i := range dot3Leaves {
		dot3Leaves[i].path = "ethernet/state/counters/" + dot3Leaves[i].leaf
		leafPath(dot3Leaves[i].path)
	}
	for k, v := range ifTypeIdentities {
		ifTypeIdentities[k] = "iana-if-type:" + v
	}
	for k, v := range portSpeeds {
		portSpeeds[k] = "openconfig-if-ethernet:" + v
	}
}

func u64(v uint64) *pb.TypedValue {
	return &pb.TypedValue{Value: &pb.TypedValue_UintVal{UintVal: v}}
}
func str(v string) *pb.TypedValue {
	return &pb.TypedValue{Value: &pb.TypedValue_StringVal{StringVal: v}}
}
func i64(v int64) *pb.TypedValue { return &pb.TypedValue{Value: &pb.TypedValue_IntVal{IntVal: v}} }
func dbl(v float64) *pb.TypedValue {
	return &pb.TypedValue{Value: &pb.TypedValue_DoubleVal{DoubleVal: v}}
}
func boolean(v bool) *pb.TypedValue {
	return &pb.TypedValue{Value: &pb.TypedValue_BoolVal{BoolVal: v}}
}

var ifCounterLeaves = []string{
	"in-octets", "in-pkts", "in-unicast-pkts", "in-multicast-pkts", "in-broadcast-pkts", "in-discards", "in-errors",
	"in-unknown-protos", "in-fcs-errors",
	"out-octets", "out-pkts", "out-unicast-pkts", "out-multicast-pkts", "out-broadcast-pkts", "out-discards", "out-errors",
}

// dot3Leaves are openconfig-if-ethernet's counters with the dot3StatsTable
// column each is served from.
var dot3Leaves = []struct {
	leaf, path string // path: relative to the interface
	col        int
}{
	{"in-crc-errors", "", 3}, {"in-single-collision", "", 4}, {"in-late-collision", "", 8}, {"out-mac-errors-tx", "", 10},
	{"in-carrier-errors", "", 11}, {"in-oversize-frames", "", 13}, {"in-mac-errors-rx", "", 16}, {"in-symbol-error", "", 18},
}

// ifCounterPaths are ifCounterLeaves' paths relative to the interface.
var ifCounterPaths = func() []string {
	out := make([]string, len(ifCounterLeaves))
	for i, c := range ifCounterLeaves {
		out[i] = "state/counters/" + c
	}
	return out
}()

// ifTypeIdentities are iana-if-type identities of the IANAifType numbers
// the templates use (module-qualified by init).
var ifTypeIdentities = map[uint64]string{
	1: "other", 6: "ethernetCsmacd", 24: "softwareLoopback", 53: "propVirtual", 131: "tunnel",
	135: "l2vlan", 136: "l3ipvlan", 161: "ieee8023adLag",
}

var operStatus = map[int64]string{1: "UP", 2: "DOWN", 3: "TESTING", 4: "UNKNOWN", 5: "DORMANT", 6: "NOT_PRESENT", 7: "LOWER_LAYER_DOWN"}

// portSpeeds are openconfig-if-ethernet's speed identities by bits/s
// (module-qualified by init).
var portSpeeds = map[uint64]string{
	0: "SPEED_UNKNOWN", 10e6: "SPEED_10MB", 100e6: "SPEED_100MB", 1e9: "SPEED_1GB", 2.5e9: "SPEED_2500MB",
	5e9: "SPEED_5GB", 10e9: "SPEED_10GB", 25e9: "SPEED_25GB", 40e9: "SPEED_40GB", 50e9: "SPEED_50GB",
	100e9: "SPEED_100GB", 200e9: "SPEED_200GB", 400e9: "SPEED_400GB", 800e9: "SPEED_800GB",
}

// builder accumulates one tick's notifications: by default one atomic
// notification per container (a builder prefix: an interface, a
// component, a BGP neighbour's state), which the reference cache stores as
// one leaf; with perLeaf one notification per leaf, as the reference
// server's own targets are fed. Without full, perLeaf leaves that do not
// change between ticks (names, types, statuses, MTUs: see static) are left
// out: the target feeds them every staticEvery ticks. A container holds
// them always, since each feed replaces the whole container in the cache.
//
// Prefixes are the target's (interned, the same *pb.Path every tick) and
// relative leaf paths are interned too: the stream wrapper keys its
// per-leaf state by the two pointers. The tick's updates and values come
// from slabs, a few allocations a tick rather than five a leaf.
type builder struct {
	t       *Target
	target  string
	ts      int64
	full    bool
	perLeaf bool
	out     []*pb.Notification

	cur   *pb.Notification // the container being filled
	ups   []pb.Update
	vals  []pb.TypedValue
	uints []pb.TypedValue_UintVal
	leafs int
}

// staticEvery is how often (in ticks) unchanging leaves are fed again in
// per-leaf mode, so SAMPLE and heartbeat subscriptions still see them.
const staticEvery = 10

// staticNumbers are numeric leaves that do not move by themselves.
var staticNumbers = map[string]bool{"state/mtu": true, "state/ifindex": true, "state/counters/last-clear": true,
	"state/peer-as": true, "state/last-established": true, "index": true, "state/boot-time": true}

func static(leaf string, v *pb.TypedValue) bool {
	switch v.GetValue().(type) {
	case *pb.TypedValue_StringVal, *pb.TypedValue_BoolVal:
		return true
	}
	return staticNumbers[leaf]
}

// slab sizes: a switch48 tick has about 1,400 leaves.
const slabLeaves = 512

// prefix returns the target's interned prefix for key, built by elems the
// first time.
func (b *builder) prefix(key string, elems func() []*pb.PathElem) *pb.Path {
	return b.originPrefix("", key, elems)
}

func (b *builder) originPrefix(origin, key string, elems func() []*pb.PathElem) *pb.Path {
	if p, ok := b.t.prefixes[key]; ok {
		return p
	}
	p := &pb.Path{Target: b.target, Origin: origin, Elem: elems()}
	b.t.prefixes[key] = p
	return p
}

// u64 is an unsigned value from the tick's slabs.
func (b *builder) u64(v uint64) *pb.TypedValue {
	if len(b.uints) == 0 {
		b.uints = make([]pb.TypedValue_UintVal, slabLeaves)
	}
	if len(b.vals) == 0 {
		b.vals = make([]pb.TypedValue, slabLeaves)
	}
	w, tv := &b.uints[0], &b.vals[0]
	b.uints, b.vals = b.uints[1:], b.vals[1:]
	w.UintVal = v
	tv.Value = w
	return tv
}

// str is a string value, interned per target: such leaves rarely change,
// and a fed value is never modified.
func (b *builder) str(v string) *pb.TypedValue {
	if tv, ok := b.t.strs[v]; ok {
		return tv
	}
	tv := str(v)
	b.t.strs[v] = tv
	return tv
}

func (b *builder) add(prefix *pb.Path, leaf string, v *pb.TypedValue) {
	if b.perLeaf {
		if !b.full && static(leaf, v) {
			return
		}
		b.out = append(b.out, &pb.Notification{Timestamp: b.ts, Prefix: prefix,
			Update: []*pb.Update{{Path: leafPath(leaf), Val: v}}})
		b.leafs++
		return
	}
	if b.cur == nil || b.cur.Prefix != prefix {
		b.cur = &pb.Notification{Timestamp: b.ts, Prefix: prefix, Atomic: true, Update: make([]*pb.Update, 0, 32)}
		b.out = append(b.out, b.cur)
	}
	if len(b.ups) == 0 {
		b.ups = make([]pb.Update, slabLeaves)
	}
	u := &b.ups[0]
	b.ups = b.ups[1:]
	u.Path, u.Val = leafPath(leaf), v
	b.cur.Update = append(b.cur.Update, u)
	b.leafs++
}

// interfaces adds /interfaces/interface[name=*] leaves. Names are ifName
// (ifDescr where absent), as the SNMP interface plugin's interface_name;
// description is ifAlias, as OpenConfig defines it.
func (b *builder) interfaces(ifs []sim.Interface, epoch time.Time, removed map[string]bool) {
	for i := range ifs {
		f := &ifs[i]
		if removed[f.Name] {
			continue
		}
		p := b.prefix("if\x00"+f.Name, func() []*pb.PathElem {
			return []*pb.PathElem{elem("interfaces"), elem("interface", "name", f.Name)}
		})
		b.add(p, "state/name", b.str(f.Name))
		if f.Alias != "" {
			b.add(p, "state/description", b.str(f.Alias))
		}
		if t, ok := ifTypeIdentities[f.Type]; ok {
			b.add(p, "state/type", b.str(t))
		}
		if f.HasMTU {
			b.add(p, "state/mtu", b.u64(uint64(f.MTU)))
		}
		b.add(p, "state/ifindex", b.u64(uint64(f.Index)))
		if s, ok := operStatus[f.AdminStatus]; ok && f.AdminStatus <= 3 {
			b.add(p, "state/admin-status", b.str(s))
		}
		if s, ok := operStatus[f.OperStatus]; ok {
			b.add(p, "state/oper-status", b.str(s))
		}
		vals := [...]struct {
			v    uint64
			have bool
		}{
			{f.InOctets, f.Has&sim.HasInOctets != 0},
			{f.InUcast + f.InMcast + f.InBcast, f.Has&(sim.HasInUcast|sim.HasInMcast|sim.HasInBcast) == sim.HasInUcast|sim.HasInMcast|sim.HasInBcast},
			{f.InUcast, f.Has&sim.HasInUcast != 0},
			{f.InMcast, f.Has&sim.HasInMcast != 0},
			{f.InBcast, f.Has&sim.HasInBcast != 0},
			{f.InDiscards, f.Has&sim.HasInDiscards != 0},
			{f.InErrors, f.Has&sim.HasInErrors != 0},
			{f.InUnknownProtos, f.Has&sim.HasInUnknownProtos != 0},
			{f.Dot3[3], f.HasDot3&(1<<3) != 0},
			{f.OutOctets, f.Has&sim.HasOutOctets != 0},
			{f.OutUcast + f.OutMcast + f.OutBcast, f.Has&(sim.HasOutUcast|sim.HasOutMcast|sim.HasOutBcast) == sim.HasOutUcast|sim.HasOutMcast|sim.HasOutBcast},
			{f.OutUcast, f.Has&sim.HasOutUcast != 0},
			{f.OutMcast, f.Has&sim.HasOutMcast != 0},
			{f.OutBcast, f.Has&sim.HasOutBcast != 0},
			{f.OutDiscards, f.Has&sim.HasOutDiscards != 0},
			{f.OutErrors, f.Has&sim.HasOutErrors != 0},
		}
		for j := range ifCounterLeaves {
			if vals[j].have {
				b.add(p, ifCounterPaths[j], b.u64(vals[j].v))
			}
		}
		b.add(p, "state/counters/last-clear", b.u64(uint64(epoch.UnixNano())))
		if f.HasSpeed {
			if s, ok := portSpeeds[f.Speed]; ok {
				b.add(p, "ethernet/state/port-speed", b.str(s))
			}
		}
		switch f.Duplex {
		case 2:
			b.add(p, "ethernet/state/duplex-mode", b.str("HALF"))
		case 3:
			b.add(p, "ethernet/state/duplex-mode", b.str("FULL"))
		}
		for _, c := range dot3Leaves {
			if f.HasDot3&(1<<c.col) != 0 {
				b.add(p, c.path, b.u64(f.Dot3[c.col]))
			}
		}
	}
}

// mix is SplitMix64's finalizer.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// components adds /components/component[name=*]: CPUs with utilization
// and memory, temperature sensors, fans (one in eight failed) and power
// supplies, derived from the device's seed and the time.
func (b *builder) components(d *sim.Device, now time.Time) {
	seed := d.Seed()
	min := uint64(now.Unix() / 60)
	cpus, fans, psus := 1, 4, 2
	if strings.HasPrefix(d.Template, "router") {
		cpus, fans, psus = 2, 6, 4
	}
	component := func(name string) *pb.Path {
		return b.prefix("component\x00"+name, func() []*pb.PathElem {
			return []*pb.PathElem{elem("components"), elem("component", "name", name)}
		})
	}
	for i := 0; i < cpus; i++ {
		name := cpuNames[i]
		p := component(name)
		b.add(p, "state/name", b.str(name))
		b.add(p, "state/type", b.str("openconfig-platform-types:CPU"))
		b.add(p, "cpu/utilization/state/instant", b.u64(5+mix(seed^uint64(i)^min)%40))
		b.add(p, "cpu/utilization/state/avg", b.u64(5+mix(seed^uint64(i))%30))
		total := uint64(2+mix(seed^0x11)%6) << 30
		b.add(p, "state/memory/available", b.u64(total-total/(2+mix(seed^uint64(i)^min)%4)))
		b.add(p, "state/memory/utilized", b.u64(total/(2+mix(seed^uint64(i)^min)%4)))
	}
	for i, name := range tempNames {
		p := component(name)
		b.add(p, "state/name", b.str(name))
		b.add(p, "state/type", b.str("openconfig-platform-types:SENSOR"))
		b.add(p, "state/temperature/instant", dbl(float64(22+10*i)+float64(mix(seed^uint64(i)^min)%50)/10))
	}
	for i := 1; i <= fans; i++ {
		name := fanNames[i]
		p := component(name)
		b.add(p, "state/name", b.str(name))
		b.add(p, "state/type", b.str("openconfig-platform-types:FAN"))
		st := "openconfig-platform-types:ACTIVE"
		if mix(seed^uint64(i)^0xfa)%8 == 0 {
			st = "openconfig-platform-types:INACTIVE"
		}
		b.add(p, "state/oper-status", b.str(st))
	}
	for i := 1; i <= psus; i++ {
		name := psuNames[i]
		p := component(name)
		b.add(p, "state/name", b.str(name))
		b.add(p, "state/type", b.str("openconfig-platform-types:POWER_SUPPLY"))
		b.add(p, "state/oper-status", b.str("openconfig-platform-types:ACTIVE"))
		b.add(p, "power-supply/state/enabled", b.boolean(true))
	}
}

var (
	cpuNames  = []string{"CPU0", "CPU1"}
	tempNames = []string{"Temp Inlet", "Temp CPU", "Temp Exhaust"}
	fanNames  = []string{"", "Fan1", "Fan2", "Fan3", "Fan4", "Fan5", "Fan6"}
	psuNames  = []string{"", "PSU1", "PSU2", "PSU3", "PSU4"}
)

// boolean is an interned boolean value.
func (b *builder) boolean(v bool) *pb.TypedValue {
	if v {
		return trueValue
	}
	return falseValue
}

var trueValue, falseValue = boolean(true), boolean(false)

var bgpStates = []string{"IDLE", "CONNECT", "ACTIVE", "OPENSENT", "OPENCONFIRM", "ESTABLISHED"}

// bgp adds /network-instances/network-instance[name=default]/protocols/
// protocol[identifier=BGP][name=BGP]/bgp/neighbors on router templates:
// eight neighbours, one in eight not established, with message counters.
// A neighbour's state and each of its AFI-SAFIs' state are containers of
// their own (an atomic container cannot hold another).
func (b *builder) bgp(d *sim.Device, now, epoch time.Time) {
	if !strings.HasPrefix(d.Template, "router") {
		return
	}
	seed := d.Seed()
	up := now.Sub(epoch).Seconds()
	for i := 0; i < 8; i++ {
		addr := fmt.Sprintf("192.0.2.%d", 1+i)
		neighbor := func() []*pb.PathElem {
			return []*pb.PathElem{elem("network-instances"), elem("network-instance", "name", "default"),
				elem("protocols"), elem("protocol", "identifier", "BGP", "name", "BGP"), elem("bgp"), elem("neighbors"),
				elem("neighbor", "neighbor-address", addr)}
		}
		p := b.prefix("bgp\x00"+addr, func() []*pb.PathElem { return append(neighbor(), elem("state")) })
		h := mix(seed ^ uint64(i) ^ 0xb9)
		state := bgpStates[5]
		if h%8 == 0 {
			state = bgpStates[h%5]
		}
		b.add(p, "neighbor-address", b.str(addr))
		b.add(p, "peer-as", b.u64(65000+uint64(i)))
		b.add(p, "local-address", b.str("192.0.2.254"))
		b.add(p, "enabled", b.boolean(true))
		b.add(p, "session-state", b.str(state))
		if state == "ESTABLISHED" {
			b.add(p, "last-established", b.u64(uint64(epoch.UnixNano())+h%60*1e9))
			b.add(p, "established-transitions", b.u64(1))
		} else {
			b.add(p, "established-transitions", b.u64(0))
		}
		rate := 1 + h%20
		msgs := uint64(up) * rate
		b.add(p, "messages/received/UPDATE", b.u64(msgs))
		b.add(p, "messages/sent/UPDATE", b.u64(msgs/2))
		b.add(p, "messages/received/NOTIFICATION", b.u64(0))
		b.add(p, "messages/sent/NOTIFICATION", b.u64(0))
		for j, afi := range []string{"IPV4_UNICAST", "IPV6_UNICAST"} {
			ap := b.prefix("bgp\x00"+addr+"\x00"+afi, func() []*pb.PathElem {
				return append(neighbor(), elem("afi-safis"), elem("afi-safi", "afi-safi-name", "openconfig-bgp-types:"+afi), elem("state"))
			})
			b.add(ap, "prefixes/received", b.u64(100+h%900+uint64(j)*10))
			b.add(ap, "prefixes/sent", b.u64(10+h%90))
		}
	}
}

// lldp adds /lldp/interfaces/interface[name=*]/neighbors/neighbor[id=*] for
// every up interface whose alias names a peer ("uplink: dist1 Te1/0/49",
// "core: pe03.dc1 xe-0/0/1"): the alias's second word is the neighbour's
// system name, its third the neighbour's port.
func (b *builder) lldp(ifs []sim.Interface, removed map[string]bool) {
	for i := range ifs {
		f := &ifs[i]
		if f.OperStatus != 1 || removed[f.Name] {
			continue
		}
		kind, rest, ok := strings.Cut(f.Alias, ": ")
		if !ok || (kind != "uplink" && kind != "core" && kind != "bundle") {
			continue
		}
		w := strings.Fields(rest)
		if len(w) == 0 {
			continue
		}
		port := "unknown"
		if len(w) > 1 {
			port = w[1]
		}
		id := "1"
		p := b.prefix("lldp\x00"+f.Name, func() []*pb.PathElem {
			return []*pb.PathElem{elem("lldp"), elem("interfaces"), elem("interface", "name", f.Name), elem("neighbors"),
				elem("neighbor", "id", id)}
		})
		b.add(p, "state/id", b.str(id))
		b.add(p, "state/system-name", b.str(w[0]))
		b.add(p, "state/port-id", b.str(port))
		b.add(p, "state/port-description", b.str(port))
		b.add(p, "state/chassis-id", b.str(fmt.Sprintf("00:1e:f6:%02x:%02x:%02x", byte(mix(uint64(len(w[0])))), byte(i>>8), byte(i))))
		b.add(p, "state/management-address", b.str("192.0.2.100"))
	}
}

// system adds /system/state (hostname, boot-time) and a vendor-native leaf
// under origin "sim" (the device's template), so origins can be tested.
func (b *builder) system(d *sim.Device, epoch time.Time) {
	p := b.prefix("system", func() []*pb.PathElem { return []*pb.PathElem{elem("system")} })
	b.add(p, "state/hostname", b.str(d.Name))
	b.add(p, "state/boot-time", b.u64(uint64(epoch.UnixNano())))
	np := b.originPrefix("sim", "sim\x00device", func() []*pb.PathElem { return []*pb.PathElem{elem("device")} })
	b.add(np, "template", b.str(d.Template))
	b.add(np, "index", i64(int64(d.Index)))
}
