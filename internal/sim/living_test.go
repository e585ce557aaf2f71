package sim

import (
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/panoptes-go/panoptes/internal/ber"
)

// dial is a gosnmp v2c client of d.
func dial(t testing.TB, d *Device, timeout time.Duration) *gosnmp.GoSNMP {
	t.Helper()
	g := &gosnmp.GoSNMP{Target: d.Host, Port: uint16(d.Port), Community: "public", Version: gosnmp.Version2c,
		Timeout: timeout, Retries: 0, Transport: "udp", MaxRepetitions: 25}
	if err := g.Connect(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Close() })
	return g
}

// getUint GETs one unsigned value over the wire.
func getUint(t *testing.T, g *gosnmp.GoSNMP, oid string) uint64 {
	t.Helper()
	p, err := g.Get([]string{oid})
	if err != nil {
		t.Fatalf("get %s: %v", oid, err)
	}
	return gosnmp.ToBigInt(p.Variables[0].Value).Uint64()
}

// TestSeededRates: two polls Δt apart differ by exactly Rate × Δt, rates
// are the same for the same seed and differ between devices, and 32- and
// 64-bit twins advance together.
func TestSeededRates(t *testing.T) {
	integration(t)
	clock := newTestClock()
	f := startFarm(t, Options{Devices: 2, Seed: 7, Now: clock.Now})
	const hcIn, in = ".1.3.6.1.2.1.31.1.1.1.6.10102", ".1.3.6.1.2.1.2.2.1.10.10102"
	d0, d1 := f.Devices()[0], f.Devices()[1]
	r0, ok := d0.Rate(hcIn)
	r1, _ := d1.Rate(hcIn)
	if !ok || r0 == 0 || r0 == r1 {
		t.Fatalf("rates %d (ok %v) and %d: want non-zero and different per device", r0, ok, r1)
	}
	if r32, _ := d0.Rate(in); r32 != r0 {
		t.Errorf("ifInOctets rate %d != ifHCInOctets rate %d", r32, r0)
	}
	if _, ok := d0.Rate(".1.3.6.1.2.1.1.5.0"); ok {
		t.Error("sysName has a rate")
	}
	g := dial(t, d0, time.Second)
	v1 := getUint(t, g, hcIn)
	w1 := getUint(t, g, in)
	clock.Add(90 * time.Second)
	v2 := getUint(t, g, hcIn)
	w2 := getUint(t, g, in)
	if v2-v1 != 90*r0 || uint32(w2-w1) != uint32(90*r0) {
		t.Errorf("Δ ifHCInOctets %d, Δ ifInOctets %d over 90 s; want %d", v2-v1, uint32(w2-w1), 90*r0)
	}
	if uint32(v2) != uint32(w2) {
		t.Errorf("ifInOctets %d is not the low 32 bits of ifHCInOctets %d", w2, v2)
	}
	if at, _ := d0.CounterAt(hcIn, clock.Now()); at != v2 {
		t.Errorf("CounterAt %d, served %d", at, v2)
	}
	// sub-second steps truncate, never drift
	clock.Add(1500 * time.Millisecond)
	if v3 := getUint(t, g, hcIn); v3-v1 != 90*r0+r0*3/2 {
		t.Errorf("after 91.5 s: Δ %d, want %d", v3-v1, 90*r0+r0*3/2)
	}
	// same seed, same rates; another seed, other rates
	f2 := startFarm(t, Options{Devices: 1, Seed: 7, Now: clock.Now})
	f3 := startFarm(t, Options{Devices: 1, Seed: 8, Now: clock.Now})
	if r, _ := f2.Devices()[0].Rate(hcIn); r != r0 {
		t.Errorf("seed 7 again: rate %d, want %d", r, r0)
	}
	if r, _ := f3.Devices()[0].Rate(hcIn); r == r0 {
		t.Errorf("seed 8: rate %d equals seed 7's", r)
	}
}

// TestCounter32Wraps: a 32-bit counter wraps modulo 2^32 while its 64-bit
// twin keeps counting.
func TestCounter32Wraps(t *testing.T) {
	integration(t)
	clock := newTestClock()
	f := startFarm(t, Options{Seed: 3, Now: clock.Now})
	d := f.Devices()[0]
	const in, hcIn = ".1.3.6.1.2.1.2.2.1.10.10102", ".1.3.6.1.2.1.31.1.1.1.6.10102"
	r, _ := d.Rate(in)
	g := dial(t, d, time.Second)
	before, hcBefore := getUint(t, g, in), getUint(t, g, hcIn)
	// step to just past the wrap
	step := time.Duration((1<<32-before)/r+1) * time.Second
	clock.Add(step)
	after := getUint(t, g, in)
	want := uint64(uint32(before + r*uint64(step/time.Second)))
	if after >= before || after != want {
		t.Errorf("after %v: ifInOctets %d (before %d); want the wrapped %d", step, after, before, want)
	}
	if hc := getUint(t, g, hcIn); hc != hcBefore+r*uint64(step/time.Second) || uint32(hc) != uint32(after) {
		t.Errorf("ifHCInOctets %d, want %d (no wrap, low 32 bits = ifInOctets %d)", hc, hcBefore+r*uint64(step/time.Second), after)
	}
	// and the rate computed across the wrap, modulo 2^32, is the seeded one
	if uint32(after-before) != uint32(r*uint64(step/time.Second)) {
		t.Errorf("Δ mod 2^32 = %d, want %d", uint32(after-before), uint32(r*uint64(step/time.Second)))
	}
}

// TestRestart: sysUpTime and counters start again from 0.
func TestRestart(t *testing.T) {
	integration(t)
	clock := newTestClock()
	f := startFarm(t, Options{Seed: 3, Now: clock.Now})
	d := f.Devices()[0]
	g := dial(t, d, time.Second)
	const upTime, hcIn = ".1.3.6.1.2.1.1.3.0", ".1.3.6.1.2.1.31.1.1.1.6.10102"
	u0 := getUint(t, g, upTime)
	clock.Add(10 * time.Second)
	if u := getUint(t, g, upTime); u != u0+1000 {
		t.Errorf("sysUpTime %d after 10 s, want %d", u, u0+1000)
	}
	if d.Uptime(clock.Now()) != uint32(u0+1000) {
		t.Errorf("Uptime() %d", d.Uptime(clock.Now()))
	}
	d.Restart()
	clock.Add(5 * time.Second)
	r, _ := d.Rate(hcIn)
	if u := getUint(t, g, upTime); u != 500 {
		t.Errorf("sysUpTime %d 5 s after restart, want 500", u)
	}
	if v := getUint(t, g, hcIn); v != 5*r {
		t.Errorf("ifHCInOctets %d 5 s after restart, want %d", v, 5*r)
	}
	if l := d.life.Load(); l.boots != 2 {
		t.Errorf("engine boots %d after restart, want 2", l.boots)
	}
}

// TestIdleInterfaces: counters of interfaces that are not up do not move.
func TestIdleInterfaces(t *testing.T) {
	r := builtins["switch48"]()
	d := testDevice(t, r, newTestClock())
	moving, still := 0, 0
	for i := range r.entries {
		e := &r.entries[i]
		if e.tag != ber.TagCounter64 {
			continue
		}
		q, idx, ok := interfaceQuantity(r.oidArcs(e))
		if !ok || q%16 != kOctets {
			continue
		}
		oper, _ := ber.ParseOID(ber.FormatOID(oidIfOperStatus) + "." + itoa(idx))
		_, v := value(t, r, ber.FormatOID(oper))
		rt := rate(e.class, d.seed, e.rateKey)
		if v[0] == 1 {
			moving++
			if rt == 0 {
				t.Errorf("ifIndex %d is up but its octets do not move", idx)
			}
		} else {
			still++
			if rt != 0 {
				t.Errorf("ifIndex %d is down but moves at %d/s", idx, rt)
			}
		}
	}
	if moving == 0 || still == 0 {
		t.Errorf("%d moving and %d still interfaces: want both", moving, still)
	}
}

func itoa(v uint32) string { return ber.FormatOID([]uint32{0, v})[3:] }

func TestAdvance(t *testing.T) {
	for _, c := range []struct {
		base, rate uint64
		ns         int64
		want       uint64
	}{
		{10, 3, 1e9, 13},
		{10, 3, 1.5e9, 14},
		{0, 12_500_000, 86400e9 * 365, 12_500_000 * 86400 * 365},
		{1<<64 - 1, 1, 1e9, 0},
		{5, 1 << 40, 2e9, 5 + 1<<41},
		{5, 7, -1e9, 5},
	} {
		if got := advance(c.base, c.rate, c.ns); got != c.want {
			t.Errorf("advance(%d, %d, %d) = %d, want %d", c.base, c.rate, c.ns, got, c.want)
		}
	}
}
