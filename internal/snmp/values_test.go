package snmp

import (
	"math"
	"slices"
	"testing"

	"github.com/gosnmp/gosnmp"
)

func TestIntegerReaders(t *testing.T) {
	for _, c := range []struct {
		name   string
		vb     Varbind
		u      uint64
		uOK    bool
		i      int64
		iOK    bool
		ticks  uint32
		tickOK bool
	}{
		{"INTEGER", Varbind{Type: gosnmp.Integer, Value: 42}, 42, true, 42, true, 0, false},
		{"negative INTEGER", Varbind{Type: gosnmp.Integer, Value: -7}, 0, false, -7, true, 0, false},
		{"Counter32", Varbind{Type: gosnmp.Counter32, Value: uint(4294967295)}, 4294967295, true, 4294967295, true, 0, false},
		{"Gauge32", Varbind{Type: gosnmp.Gauge32, Value: uint(1000)}, 1000, true, 1000, true, 0, false},
		{"Unsigned32", Varbind{Type: gosnmp.Uinteger32, Value: uint32(9)}, 9, true, 9, true, 0, false},
		{"TimeTicks", Varbind{Type: gosnmp.TimeTicks, Value: uint32(123456)}, 123456, true, 123456, true, 123456, true},
		{"Counter64", Varbind{Type: gosnmp.Counter64, Value: uint64(math.MaxUint64)}, math.MaxUint64, true, 0, false, 0, false},
		{"Counter64 in range", Varbind{Type: gosnmp.Counter64, Value: uint64(1 << 40)}, 1 << 40, true, 1 << 40, true, 0, false},
		{"int64", Varbind{Type: gosnmp.Integer, Value: int64(-1)}, 0, false, -1, true, 0, false},
		{"int32", Varbind{Type: gosnmp.Integer, Value: int32(5)}, 5, true, 5, true, 0, false},
		{"OCTET STRING", Varbind{Type: gosnmp.OctetString, Value: []byte("12")}, 0, false, 0, false, 0, false},
		{"noSuchInstance", Varbind{Type: gosnmp.NoSuchInstance}, 0, false, 0, false, 0, false},
		{"TimeTicks without a value", Varbind{Type: gosnmp.TimeTicks}, 0, false, 0, false, 0, false},
	} {
		if u, ok := Uint(&c.vb); ok != c.uOK || (ok && u != c.u) {
			t.Errorf("%s: Uint = %d, %v; want %d, %v", c.name, u, ok, c.u, c.uOK)
		}
		if i, ok := Int(&c.vb); ok != c.iOK || i != c.i {
			t.Errorf("%s: Int = %d, %v; want %d, %v", c.name, i, ok, c.i, c.iOK)
		}
		if v, ok := Ticks(&c.vb); ok != c.tickOK || v != c.ticks {
			t.Errorf("%s: Ticks = %d, %v; want %d, %v", c.name, v, ok, c.ticks, c.tickOK)
		}
	}
}

func TestTextReaders(t *testing.T) {
	for _, c := range []struct {
		name string
		vb   Varbind
		want string
		ok   bool
	}{
		{"plain", Varbind{Type: gosnmp.OctetString, Value: []byte("Gi0/1")}, "Gi0/1", true},
		{"NUL padded", Varbind{Type: gosnmp.OctetString, Value: []byte("eth0\x00\x00")}, "eth0", true},
		{"invalid UTF-8", Varbind{Type: gosnmp.OctetString, Value: []byte("a\xffb\x00")}, "a\uFFFDb", true},
		{"string value", Varbind{Type: gosnmp.OctetString, Value: "x\x00"}, "x", true},
		{"empty", Varbind{Type: gosnmp.OctetString, Value: []byte{}}, "", true},
		{"not an OCTET STRING", Varbind{Type: gosnmp.ObjectIdentifier, Value: ".1.3"}, "", false},
		{"no value", Varbind{Type: gosnmp.OctetString}, "", false},
	} {
		if s, ok := Text(&c.vb); s != c.want || ok != c.ok {
			t.Errorf("%s: Text = %q, %v; want %q, %v", c.name, s, ok, c.want, c.ok)
		}
		if b, ok := TextBytes(&c.vb); string(b) != c.want || ok != c.ok {
			t.Errorf("%s: TextBytes = %q, %v; want %q, %v", c.name, b, ok, c.want, c.ok)
		}
	}
	raw := []byte("ab\x00")
	if b, ok := Octets(&Varbind{Type: gosnmp.Opaque, Value: raw}); !ok || string(b) != "ab\x00" {
		t.Errorf("Octets of an Opaque = %q, %v; want the raw octets", b, ok)
	}
	if b, ok := Octets(&Varbind{Type: gosnmp.IPAddress, Value: "10.0.0.1"}); !ok || string(b) != "10.0.0.1" {
		t.Errorf("Octets of a string value = %q, %v", b, ok)
	}
	if _, ok := Octets(&Varbind{Type: gosnmp.Integer, Value: 3}); ok {
		t.Error("Octets of an INTEGER")
	}
}

func TestOIDAddressFloatReaders(t *testing.T) {
	if s, ok := OID(&Varbind{Type: gosnmp.ObjectIdentifier, Value: ".1.3.6.1.4.1.9"}); !ok || s != ".1.3.6.1.4.1.9" {
		t.Errorf("OID = %q, %v", s, ok)
	}
	if s, ok := OID(&Varbind{Type: gosnmp.ObjectIdentifier, Value: "1.3.6"}); !ok || s != ".1.3.6" {
		t.Errorf("OID without its leading dot = %q, %v", s, ok)
	}
	if _, ok := OID(&Varbind{Type: gosnmp.OctetString, Value: []byte(".1.3")}); ok {
		t.Error("OID of an OCTET STRING")
	}
	if s, ok := IPAddress(&Varbind{Type: gosnmp.IPAddress, Value: "192.0.2.1"}); !ok || s != "192.0.2.1" {
		t.Errorf("IPAddress = %q, %v", s, ok)
	}
	if _, ok := IPAddress(&Varbind{Type: gosnmp.IPAddress}); ok {
		t.Error("an IpAddress without a value (0 octets) must not read")
	}
	for _, c := range []struct {
		b    []byte
		want string
		ok   bool
	}{
		{[]byte{192, 0, 2, 1}, "192.0.2.1", true},
		{[]byte{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, "2001:db8::1", true},
		{[]byte{10, 0, 0, 1, 0, 0, 0, 3}, "10.0.0.1%3", true},
		{[]byte{0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2}, "fe80::1%2", true},
		{[]byte{1, 2, 3}, "", false},
	} {
		if s, ok := InetAddress(c.b); s != c.want || ok != c.ok {
			t.Errorf("InetAddress(% x) = %q, %v; want %q, %v", c.b, s, ok, c.want, c.ok)
		}
	}
	if f, ok := Float(&Varbind{Type: gosnmp.OpaqueFloat, Value: float32(1.5)}); !ok || f != 1.5 {
		t.Errorf("Float(float) = %v, %v", f, ok)
	}
	if f, ok := Float(&Varbind{Type: gosnmp.OpaqueDouble, Value: 2.25}); !ok || f != 2.25 {
		t.Errorf("Float(double) = %v, %v", f, ok)
	}
	if _, ok := Float(&Varbind{Type: gosnmp.Opaque, Value: []byte{1}}); ok {
		t.Error("Float of a raw Opaque")
	}
}

func TestIndexInts(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []int
	}{
		{"1.22.0", []int{1, 22, 0}},
		{"7", []int{7}},
		{"4294967295", []int{4294967295}},
		{"", nil},
		{"1..2", nil},
		{"1.", nil},
		{".1", nil},
		{"1.x", nil},
		{"4294967296", nil},
	} {
		if got := IndexInts(c.in); !slices.Equal(got, c.want) || (got == nil) != (c.want == nil) {
			t.Errorf("IndexInts(%q) = %v, want %v", c.in, got, c.want)
		}
	}
}

// The readers sit on every poll's hot path: reading a number or a valid
// text's bytes allocates nothing.
func TestReadersDoNotAllocate(t *testing.T) {
	c := Varbind{Type: gosnmp.Counter64, Value: uint64(1 << 50)}
	tt := Varbind{Type: gosnmp.TimeTicks, Value: uint32(1 << 20)}
	s := Varbind{Type: gosnmp.OctetString, Value: []byte("GigabitEthernet0/1\x00")}
	o := Varbind{Type: gosnmp.ObjectIdentifier, Value: ".1.3.6.1"}
	if n := testing.AllocsPerRun(100, func() {
		_, _ = Uint(&c)
		_, _ = Int(&c)
		_, _ = Ticks(&tt)
		_, _ = TextBytes(&s)
		_, _ = Octets(&s)
		_, _ = OID(&o)
	}); n != 0 {
		t.Errorf("readers allocate %v times", n)
	}
	if n := testing.AllocsPerRun(100, func() { textSink, _ = Text(&s) }); n != 1 {
		t.Errorf("Text allocates %v times, want 1 (the string)", n)
	}
}

var textSink string
