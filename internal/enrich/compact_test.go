package enrich

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
	"unsafe"

	"github.com/panoptes-go/panoptes/internal/testutil/heapsize"
)

// switch48Interfaces are the interfaces of a 48-port access switch as the
// simulator's switch48 reports them (55 rows: Vlan1, Gi1/0/1-52, Fa0,
// Null0), with dev's own aliases on its access ports when unique is set
// (a real fleet: customers' descriptions), else the same texts on every
// device.
func switch48Interfaces(dev int, unique bool) map[uint32]Interface {
	m := map[uint32]Interface{}
	add := func(idx uint32, descr, name, alias string, typ, speed uint64) {
		e := Interface{Descr: descr, Name: name, Alias: alias, Type: typ, Speed: min(speed, math.MaxUint32),
			HighSpeed: speed / 1e6, Have: all}
		m[idx] = e
	}
	add(1, "Vlan1", "Vl1", "management", 53, 1e9)
	for p := 1; p <= 52; p++ {
		alias := fmt.Sprintf("access: desk 2F-%02d", p)
		if unique {
			alias = fmt.Sprintf("dev%06d desk 2F-%02d", dev, p)
		}
		add(uint32(10100+p), fmt.Sprintf("GigabitEthernet1/0/%d", p), fmt.Sprintf("Gi1/0/%d", p), alias, 6, 1e9)
	}
	add(14001, "FastEthernet0", "Fa0", "oob", 6, 1e8)
	add(14501, "Null0", "Nu0", "", 1, 0)
	return m
}

// BenchmarkInterfacesMemory reports the heap one device's Interfaces keep
// (heap-B/device, the Device struct they sit in included), switch48's 55
// interfaces, memoryDevices of them alive at once: with aliases every
// device shares, and with each device's own (the texts themselves then
// count too). Without the simulator:
//
//	go test -run '^$' -bench InterfacesMemory -benchtime 1x ./internal/enrich/
func BenchmarkInterfacesMemory(b *testing.B) {
	const devices = 2000
	for _, unique := range []bool{false, true} {
		b.Run(fmt.Sprintf("switch48/unique-aliases=%v", unique), func(b *testing.B) {
			ms := make([]map[uint32]Interface, devices)
			for i := range ms {
				ms[i] = switch48Interfaces(i, unique)
			}
			NewInterfaces(ms[0]) // the shared shape and texts are not a device's cost
			for b.Loop() {
				b.ReportMetric(heapsize.PerItem(devices, func(i int) *Device {
					return &Device{Interfaces: NewInterfaces(ms[i])}
				}), "heap-B/device")
			}
		})
	}
}

// randomInterfaces are n interfaces with the values real agents send and
// the edge cases: ifSpeed saturated at 2^32-1 beside ifHighSpeed, ifSpeed
// and ifHighSpeed that disagree (a truncating agent, only one of them),
// values over 32 bits (the wide rows at the end of speeds), empty and non-empty aliases,
// columns absent; distinct lists as many distinct speed pairs as rows.
func randomInterfaces(r *rand.Rand, n int, distinct bool) map[uint32]Interface {
	speeds := []uint64{0, 1e7, 1e8, 1e9, 1e10, 4e10, 1e11, 1544000, math.MaxUint32}
	m := make(map[uint32]Interface, n)
	for len(m) < n {
		e := Interface{Have: Column(r.IntN(64))}
		if r.IntN(3) > 0 {
			e.Alias = fmt.Sprintf("alias %d", r.IntN(50))
		}
		if r.IntN(2) == 0 {
			e.Name = fmt.Sprintf("Gi1/0/%d", r.IntN(64))
		}
		e.Type = uint64(r.IntN(300))
		s := speeds[r.IntN(len(speeds))]
		switch r.IntN(6) {
		case 0: // consistent, saturating ifSpeed
			e.Speed, e.HighSpeed = min(s, math.MaxUint32), s/1e6
		case 1: // truncated or rounded ifHighSpeed, or only one column
			e.Speed, e.HighSpeed = s, (s+500000)/1e6
		case 2:
			e.Speed = s
		case 3:
			e.HighSpeed = s / 1e6
		case 4: // anything in 32 bits
			e.Speed, e.HighSpeed = uint64(r.Uint32()), uint64(r.Uint32())
		default: // a broken agent: wider than the MIB's 32 bits
			e.Speed, e.HighSpeed = r.Uint64(), uint64(r.Uint32())
			if r.IntN(2) == 0 {
				e.Type = math.MaxUint16 + uint64(r.IntN(1000))
			}
		}
		if distinct {
			e.Speed, e.HighSpeed = uint64(len(m)), uint64(r.Uint32())
		}
		idx := r.Uint32()
		if r.IntN(4) == 0 {
			idx = uint32(r.IntN(100))
		}
		m[idx] = e
	}
	return m
}

// TestInterfacesCompactEqual: what Get and All return of the compact
// layout (aliases only when the device has one, speeds by palette code)
// equals what went in, on random devices of every size the palette's
// code widths cover (1, 2 and 4 bytes), and after a round trip through
// the KV's JSON.
func TestInterfacesCompactEqual(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 500))
	type tc struct {
		n        int
		distinct bool
	}
	cases := []tc{{1, false}, {2, false}, {55, false}, {300, false}, {300, true}, {257, true}, {256, true}, {70000, true}}
	for range 200 {
		cases = append(cases, tc{1 + r.IntN(120), r.IntN(4) == 0})
	}
	for _, c := range cases {
		m := randomInterfaces(r, c.n, c.distinct)
		s := NewInterfaces(m)
		check := func(name string, s Interfaces) {
			if s.Len() != len(m) {
				t.Fatalf("%s (%d rows): Len %d", name, c.n, s.Len())
			}
			for idx, want := range m {
				if got, ok := s.Get(idx); !ok || got != want {
					t.Fatalf("%s (%d rows): Get(%d) = %+v %v, want %+v", name, c.n, idx, got, ok, want)
				}
			}
			prev, seen := uint32(0), 0
			for idx, got := range s.All() {
				if seen > 0 && idx <= prev || got != m[idx] {
					t.Fatalf("%s (%d rows): All yields %d %+v after %d", name, c.n, idx, got, prev)
				}
				prev, seen = idx, seen+1
			}
			if seen != len(m) {
				t.Fatalf("%s (%d rows): All yields %d, want %d", name, c.n, seen, len(m))
			}
		}
		check("built", s)
		if c.n > 1000 {
			continue // the JSON of 70,000 rows: slow, and nothing new
		}
		b, err := s.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		var back Interfaces
		if err := back.UnmarshalJSON(b); err != nil {
			t.Fatal(err)
		}
		check("from JSON", back)
	}
}

// TestInterfacesCompactLayout: a switch's few speeds cost a byte a row,
// codes widen only past 256 distinct pairs, and a device without aliases
// keeps no alias array.
func TestInterfacesCompactLayout(t *testing.T) {
	sw := NewInterfaces(switch48Interfaces(1, true))
	if want := 4 + 8*3 + 55; len(sw.speeds) != want || sw.aliases == nil || sw.speeds.wideRows(55) != nil {
		t.Errorf("switch48: %d bytes of speeds (want %d: 3 pairs, 55 codes, no wide row), aliases %v", len(sw.speeds), want, sw.aliases != nil)
	}
	if n := unsafe.Sizeof(Device{}); n > 192 {
		t.Errorf("a Device takes %d bytes, want at most 192 (a size class)", n)
	}
	plain := switch48Interfaces(1, false)
	for idx, e := range plain {
		e.Alias = ""
		plain[idx] = e
	}
	if s := NewInterfaces(plain); s.aliases != nil {
		t.Error("a device without aliases keeps an alias array")
	}
	for _, c := range []struct{ n, width int }{{256, 1}, {257, 2}, {1 << 16, 2}, {1<<16 + 1, 4}} {
		m := make(map[uint32]Interface, c.n)
		for i := range c.n {
			m[uint32(i)] = Interface{Speed: uint64(i), HighSpeed: uint64(c.n - i), Have: HaveSpeed | HaveHighSpeed}
		}
		s := NewInterfaces(m)
		if len(s.speeds) != 4+8*c.n+c.width*c.n {
			t.Errorf("%d distinct speeds: %d bytes, want codes of %d bytes", c.n, len(s.speeds), c.width)
		}
		for idx, want := range m { // every row's own pair, across the code width's boundary
			if got, ok := s.Get(idx); !ok || got != want {
				t.Fatalf("%d distinct speeds: Get(%d) = %+v, %v; want %+v", c.n, idx, got, ok, want)
			}
		}
	}
}

// TestCacheEntrySize: a cache entry (one a resource) fits its 96-byte
// size class; a flag added between the words would push it to 112.
func TestCacheEntrySize(t *testing.T) {
	if n := unsafe.Sizeof(entry{}); n > 96 {
		t.Errorf("a cache entry takes %d bytes, want at most 96 (flags together at the end)", n)
	}
}

// wideRows returns the wide rows speeds s holds after n rows' codes.
func (s speeds) wideRows(n int) []wideRow {
	if s == "" {
		return nil
	}
	k := int(s.u32(0))
	var out []wideRow
	for off := 4 + 8*k + codeWidth(k)*n; off+wideLen <= len(s); off += wideLen {
		w, _ := s.wide(n, s.u32(off))
		out = append(out, w)
	}
	return out
}

// BenchmarkInterfacesGet: a poll's lookups, every interface of a switch48
// once (ns/op for 55 Gets).
func BenchmarkInterfacesGet(b *testing.B) {
	m := switch48Interfaces(1, true)
	s := NewInterfaces(m)
	var idx []uint32
	for i := range m {
		idx = append(idx, i)
	}
	var sum uint64
	for b.Loop() {
		for _, i := range idx {
			e, _ := s.Get(i)
			sum += e.Speed + uint64(len(e.Alias))
		}
	}
	runtime.KeepAlive(sum)
}
