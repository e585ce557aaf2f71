package sim

import (
	"fmt"
	"sync"

	"github.com/panoptes-go/panoptes/internal/ber"
)

// builtins are the synthetic templates, built once per process and shared.
var builtins = map[string]func() *Recording{
	"switch48":  sync.OnceValue(buildSwitch48),
	"router400": sync.OnceValue(buildRouter400),
}

// synth builds a template from code. Values are deterministic: a template
// is the same in every process.
type synth struct {
	b    builder
	line int
	seed uint64
}

func newSynth(name string) *synth {
	return &synth{b: builder{name: name, source: "builtin"}, seed: mix(uint64(len(name)) ^ 0x5eed)}
}

func (s *synth) put(tag byte, content []byte, arcs ...uint32) {
	s.line++
	s.b.add(append([]uint32(nil), arcs...), tag, content, s.line)
}

func (s *synth) str(v string, arcs ...uint32) { s.put(ber.TagOctetString, []byte(v), arcs...) }
func (s *synth) octets(v []byte, arcs ...uint32) {
	s.put(ber.TagOctetString, append([]byte(nil), v...), arcs...)
}
func (s *synth) integer(v int64, arcs ...uint32) {
	s.put(ber.TagInteger, ber.AppendInt(nil, ber.TagInteger, v)[2:], arcs...)
}
func (s *synth) unsigned(tag byte, v uint64, arcs ...uint32) {
	s.put(tag, ber.AppendUint(nil, tag, v)[2:], arcs...)
}
func (s *synth) oid(v []uint32, arcs ...uint32) { s.put(ber.TagOID, ber.AppendOID(nil, v), arcs...) }

func cat(prefix []uint32, arcs ...uint32) []uint32 {
	return append(append(make([]uint32, 0, len(prefix)+len(arcs)), prefix...), arcs...)
}

// system writes the system group and ifNumber.
func (s *synth) system(descr string, objectID []uint32, location string, services int64, uptime uint64, ifNumber int) {
	sys := []uint32{1, 3, 6, 1, 2, 1, 1}
	s.str(descr, cat(sys, 1, 0)...)
	s.oid(objectID, cat(sys, 2, 0)...)
	s.unsigned(ber.TagTimeTicks, uptime, cat(sys, 3, 0)...)
	s.str("noc@example.net", cat(sys, 4, 0)...)
	s.str(s.b.name, cat(sys, 5, 0)...) // answered with the device's name
	s.str(location, cat(sys, 6, 0)...)
	s.integer(services, cat(sys, 7, 0)...)
	s.unsigned(ber.TagTimeTicks, 0, cat(sys, 8, 0)...)
	s.integer(int64(ifNumber), 1, 3, 6, 1, 2, 1, 2, 1, 0)
}

// synthIf is one interface of a synthetic template.
type synthIf struct {
	index       uint32
	descr, name string
	alias       string
	ifType      int64
	speed       uint64 // bits/s
	mtu         int64
	up, adminUp bool
	ether       bool // has a dot3StatsTable row
}

// interfaces writes ifTable, ifXTable and dot3StatsTable rows. Counter
// bases are hash-derived; a 32-bit column starts at the low 32 bits of its
// 64-bit twin and both advance at the same rate, as on a real device.
func (s *synth) interfaces(ifs []synthIf, uptime uint64) {
	for n, f := range ifs {
		e := func(col uint32) []uint32 { return cat(oidIfEntry, col, f.index) }
		x := func(col uint32) []uint32 { return cat(oidIfXEntry, col, f.index) }
		status := func(b bool) int64 {
			if b {
				return 1
			}
			return 2
		}
		h := mix(s.seed ^ uint64(f.index))
		hc := func(q uint32) uint64 {
			v := mix(h ^ uint64(q))
			if !f.up && !f.adminUp {
				return v % 1_000_000
			}
			switch q % 16 {
			case kOctets:
				return v % (1 << 46)
			case kUcast:
				return v % (1 << 38)
			case kMcast, kBcast:
				return v % (1 << 30)
			}
			return v % 100_000
		}
		s.integer(int64(f.index), e(1)...)
		s.str(f.descr, e(2)...)
		s.integer(f.ifType, e(3)...)
		s.integer(f.mtu, e(4)...)
		s.unsigned(ber.TagGauge32, min(f.speed, 4294967295), e(5)...)
		mac := []byte{0x00, 0x1e, 0xf6, byte(s.seed), byte(n >> 8), byte(n)}
		if f.ifType == 24 || f.ifType == 1 {
			mac = nil
		}
		s.octets(mac, e(6)...)
		s.integer(status(f.adminUp), e(7)...)
		s.integer(status(f.up), e(8)...)
		s.unsigned(ber.TagTimeTicks, uptime-mix(h)%(uptime/2), e(9)...)
		for col, q := range ifTableQ {
			var v uint64
			if q%16 == kNUcast {
				v = hc(q-kNUcast+kMcast) + hc(q-kNUcast+kBcast)
			} else {
				v = hc(q)
			}
			s.unsigned(ber.TagCounter32, uint64(uint32(v)), e(col)...)
		}
		s.unsigned(ber.TagGauge32, 0, e(21)...)
		s.oid([]uint32{0, 0}, e(22)...)

		s.str(f.name, x(1)...)
		for col, q := range ifXTableQ {
			if col <= 5 {
				s.unsigned(ber.TagCounter32, uint64(uint32(hc(q))), x(col)...)
			} else {
				s.unsigned(ber.TagCounter64, hc(q), x(col)...)
			}
		}
		s.integer(1, x(14)...)
		s.unsigned(ber.TagGauge32, f.speed/1_000_000, x(15)...)
		s.integer(2, x(16)...)
		s.integer(status(f.ether), x(17)...)
		s.str(f.alias, x(18)...)
		s.unsigned(ber.TagTimeTicks, 0, x(19)...)

		if f.ether {
			d := func(col uint32) []uint32 { return cat(oidDot3Entry, col, f.index) }
			s.integer(int64(f.index), d(1)...)
			for _, col := range []uint32{2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 16, 18} {
				s.unsigned(ber.TagCounter32, hc(qDot3+col)%1000, d(col)...)
			}
			s.integer(3, d(19)...) // full duplex
		}
	}
}

const ciscoSwitchDescr = "Cisco IOS Software, C2960X Software (C2960X-UNIVERSALK9-M), Version 15.2(7)E8, RELEASE SOFTWARE (fc3)\r\n" +
	"Technical Support: http://www.cisco.com/techsupport\r\n" +
	"Copyright (c) 1986-2023 by Cisco Systems, Inc.\r\n" +
	"Compiled Fri 24-Mar-23 12:35 by mcpre"

// buildSwitch48 is a Cisco Catalyst 2960-X 48-port access switch: Vlan1,
// Gi1/0/1-48 (ifIndex 10101-10148, three in four up), four SFP uplinks
// Gi1/0/49-52, FastEthernet0 (management) and Null0.
func buildSwitch48() *Recording {
	s := newSynth("switch48")
	const uptime = 45*86400*100 + 12345
	var ifs []synthIf
	ifs = append(ifs, synthIf{index: 1, descr: "Vlan1", name: "Vl1", alias: "management", ifType: 53, speed: 1e9, mtu: 1500, up: true, adminUp: true})
	for p := 1; p <= 52; p++ {
		f := synthIf{
			index: uint32(10100 + p), descr: fmt.Sprintf("GigabitEthernet1/0/%d", p), name: fmt.Sprintf("Gi1/0/%d", p),
			ifType: 6, speed: 1e9, mtu: 1500, adminUp: true, ether: true,
		}
		switch {
		case p <= 48:
			f.up = mix(uint64(p))%4 != 0
			f.alias = fmt.Sprintf("access: desk 2F-%02d", p)
			if !f.up {
				f.alias = "unused"
			}
		case p <= 50:
			f.up, f.alias = true, fmt.Sprintf("uplink: dist%d Te1/0/%d", p-48, p)
		default:
			f.adminUp, f.alias = false, "spare uplink"
		}
		ifs = append(ifs, f)
	}
	ifs = append(ifs,
		synthIf{index: 14001, descr: "FastEthernet0", name: "Fa0", alias: "oob", ifType: 6, speed: 1e8, mtu: 1500, ether: true},
		synthIf{index: 14501, descr: "Null0", name: "Nu0", ifType: 1, speed: 0, mtu: 1500, up: true, adminUp: true})
	s.system(ciscoSwitchDescr, []uint32{1, 3, 6, 1, 4, 1, 9, 1, 1208}, "DC1 hall 2, row 4, rack 12", 2, uptime, len(ifs))
	s.interfaces(ifs, uptime)
	s.entity("Cisco Catalyst 2960-X 48 GigE, 4 x 1G SFP, LAN Base", "1", "15.2(7)E8", "FOC2215X0AB", "WS-C2960X-48TS-L")
	// CISCO-PROCESS-MIB cpmCPUTotal 5 s / 1 min / 5 min, CISCO-MEMORY-POOL-MIB processor pool
	cpu := []uint32{1, 3, 6, 1, 4, 1, 9, 9, 109, 1, 1, 1, 1}
	s.unsigned(ber.TagGauge32, 7, cat(cpu, 6, 1)...)
	s.unsigned(ber.TagGauge32, 6, cat(cpu, 7, 1)...)
	s.unsigned(ber.TagGauge32, 5, cat(cpu, 8, 1)...)
	mem := []uint32{1, 3, 6, 1, 4, 1, 9, 9, 48, 1, 1, 1}
	for _, p := range []struct {
		index            uint32
		name             string
		used, free, most uint64
	}{{1, "Processor", 61_345_872, 289_416_224, 262_000_508}, {2, "I/O", 11_738_448, 29_194_160, 29_072_344}} {
		s.str(p.name, cat(mem, 2, p.index)...)
		s.integer(0, cat(mem, 3, p.index)...) // no alternate pool
		s.integer(1, cat(mem, 4, p.index)...) // valid: true
		s.unsigned(ber.TagGauge32, p.used, cat(mem, 5, p.index)...)
		s.unsigned(ber.TagGauge32, p.free, cat(mem, 6, p.index)...)
		s.unsigned(ber.TagGauge32, p.most, cat(mem, 7, p.index)...)
	}
	// CISCO-ENVMON-MIB as a 2960-X answers it: one temperature sensor,
	// one fan, the built-in power supply, all normal(1).
	env := []uint32{1, 3, 6, 1, 4, 1, 9, 9, 13, 1}
	s.str("SW#1, Sensor#1, GREEN ", cat(env, 3, 1, 2, 1006)...)
	s.unsigned(ber.TagGauge32, 38, cat(env, 3, 1, 3, 1006)...)
	s.integer(62, cat(env, 3, 1, 4, 1006)...)
	s.integer(0, cat(env, 3, 1, 5, 1006)...)
	s.integer(1, cat(env, 3, 1, 6, 1006)...)
	s.str("Switch#1, Fan#1", cat(env, 4, 1, 2, 1004)...)
	s.integer(1, cat(env, 4, 1, 3, 1004)...)
	s.str("Sw1, PSA Normal", cat(env, 5, 1, 2, 1003)...)
	s.integer(1, cat(env, 5, 1, 3, 1003)...)
	s.integer(2, cat(env, 5, 1, 4, 1003)...) // ac
	return s.freeze()
}

const juniperDescr = "Juniper Networks, Inc. mx960 internet router, kernel JUNOS 22.4R2-S2.6, " +
	"Build date: 2023-10-27 20:31:50 UTC Copyright (c) 1996-2023 Juniper Networks, Inc."

// buildRouter400 is a Juniper MX960 core router with 400 interfaces: 192
// 10GE ports xe-0/0/0..xe-5/3/7 (ifIndex 500+, about one in seven down),
// their 192 units .0 (ifIndex 1000+), ae0-ae7, fxp0, fxp0.0, lo0, lo0.0,
// dsc, em0, em1 and irb.
func buildRouter400() *Recording {
	s := newSynth("router400")
	const uptime = 213*86400*100 + 4321
	ifs := []synthIf{
		{index: 1, descr: "fxp0", name: "fxp0", alias: "oob management", ifType: 6, speed: 1e9, mtu: 1514, up: true, adminUp: true, ether: true},
		{index: 4, descr: "dsc", name: "dsc", ifType: 1, mtu: 0, up: true, adminUp: true},
		{index: 6, descr: "lo0", name: "lo0", ifType: 24, mtu: 0, up: true, adminUp: true},
		{index: 13, descr: "fxp0.0", name: "fxp0.0", ifType: 53, speed: 1e9, mtu: 1500, up: true, adminUp: true},
		{index: 16, descr: "lo0.0", name: "lo0.0", alias: "router-id", ifType: 24, mtu: 0, up: true, adminUp: true},
		{index: 21, descr: "em0", name: "em0", ifType: 6, speed: 1e9, mtu: 1514, up: true, adminUp: true},
		{index: 22, descr: "em1", name: "em1", ifType: 6, speed: 1e9, mtu: 1514, up: true, adminUp: true},
		{index: 30, descr: "irb", name: "irb", ifType: 53, mtu: 1514, up: true, adminUp: true},
	}
	i := 0
	for fpc := 0; fpc < 6; fpc++ {
		for pic := 0; pic < 4; pic++ {
			for port := 0; port < 8; port++ {
				name := fmt.Sprintf("xe-%d/%d/%d", fpc, pic, port)
				up := mix(uint64(i)^0x77)%7 != 0
				alias := fmt.Sprintf("core: pe%02d.dc1 %s", i%40+1, name)
				if i%5 == 0 {
					alias = fmt.Sprintf("transit: AS65%03d", i)
				}
				if !up {
					alias = "reserved"
				}
				ifs = append(ifs,
					synthIf{index: uint32(500 + i), descr: name, name: name, alias: alias, ifType: 6, speed: 1e10, mtu: 1514, up: up, adminUp: up, ether: true},
					synthIf{index: uint32(1000 + i), descr: name + ".0", name: name + ".0", alias: alias, ifType: 53, speed: 1e10, mtu: 1500, up: up, adminUp: up})
				i++
			}
		}
	}
	for k := 0; k < 8; k++ {
		ifs = append(ifs, synthIf{index: uint32(700 + k), descr: fmt.Sprintf("ae%d", k), name: fmt.Sprintf("ae%d", k),
			alias: fmt.Sprintf("bundle: spine%d", k+1), ifType: 161, speed: 4e10, mtu: 9192, up: true, adminUp: true})
	}
	s.system(juniperDescr, []uint32{1, 3, 6, 1, 4, 1, 2636, 1, 1, 1, 2, 29}, "DC1 core room, rack A3", 4, uptime, len(ifs))
	s.interfaces(ifs, uptime)
	s.entity("Juniper MX960 Midplane", "REV 03", "22.4R2-S2.6", "JN11A2B3CAFA", "MX960")
	s.jnxOperating()
	return s.freeze()
}

// jnxOperating writes JUNIPER-MIB jnxOperatingTable as an MX960 answers it,
// indexed container.L1.L2.L3: power entry modules (2), fans (4), the six
// FPCs (7) and both Routing Engines (9), RE1 the standby.
func (s *synth) jnxOperating() {
	op := []uint32{1, 3, 6, 1, 4, 1, 2636, 3, 1, 13, 1}
	type component struct {
		index                   []uint32
		descr                   string
		state                   int64 // 2 running, 7 standby
		temp, cpu, buffer, heap uint64
		memory                  int64 // MB
	}
	var cs []component
	for i := range uint32(4) {
		cs = append(cs, component{index: []uint32{2, i + 1, 0, 0}, descr: fmt.Sprintf("PEM %d", i), state: 2, temp: 35})
	}
	for i, tray := range []string{"Top", "Bottom"} {
		for f := range uint32(3) {
			cs = append(cs, component{index: []uint32{4, uint32(i) + 1, f + 1, 0}, descr: fmt.Sprintf("%s Fan Tray Fan %d", tray, f+1), state: 2})
		}
	}
	for slot := range uint32(6) {
		cs = append(cs, component{index: []uint32{7, slot + 1, 0, 0}, descr: fmt.Sprintf("FPC: MPC 3D 16x 10GE @ %d/*/*", slot),
			state: 2, temp: 41 + uint64(slot), cpu: 9 + uint64(slot%3), buffer: 31, heap: 14, memory: 2048})
	}
	cs = append(cs,
		component{index: []uint32{9, 1, 0, 0}, descr: "Routing Engine 0", state: 2, temp: 38, cpu: 11, buffer: 23, heap: 0, memory: 16384},
		component{index: []uint32{9, 2, 0, 0}, descr: "Routing Engine 1", state: 7, temp: 36, cpu: 1, buffer: 12, heap: 0, memory: 16384})
	for _, c := range cs {
		s.str(c.descr, cat(op, append([]uint32{5}, c.index...)...)...)
		s.integer(c.state, cat(op, append([]uint32{6}, c.index...)...)...)
		s.unsigned(ber.TagGauge32, c.temp, cat(op, append([]uint32{7}, c.index...)...)...)
		s.unsigned(ber.TagGauge32, c.cpu, cat(op, append([]uint32{8}, c.index...)...)...)
		s.unsigned(ber.TagGauge32, c.buffer, cat(op, append([]uint32{11}, c.index...)...)...)
		s.unsigned(ber.TagGauge32, c.heap, cat(op, append([]uint32{12}, c.index...)...)...)
		s.integer(c.memory, cat(op, append([]uint32{15}, c.index...)...)...)
	}
}

// entity writes ENTITY-MIB entPhysicalTable's chassis row (index 1).
func (s *synth) entity(descr, hwRev, swRev, serial, model string) {
	ent := []uint32{1, 3, 6, 1, 2, 1, 47, 1, 1, 1, 1}
	s.str(descr, cat(ent, 2, 1)...)
	s.integer(3, cat(ent, 5, 1)...) // chassis
	s.str(model, cat(ent, 7, 1)...)
	s.str(hwRev, cat(ent, 8, 1)...)
	s.str(swRev, cat(ent, 10, 1)...)
	s.str(serial, cat(ent, 11, 1)...)
	s.str(model, cat(ent, 13, 1)...)
}

func (s *synth) freeze() *Recording {
	r, err := s.b.freeze()
	if err != nil {
		panic("sim: built-in template " + s.b.name + ": " + err.Error())
	}
	r.nameIdx = r.exact(oidSysName)
	return r
}
