package sim

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/gosnmp/gosnmp"
)

func TestParseOID(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []uint32
		err  string
	}{
		{"1.3.6.1", []uint32{1, 3, 6, 1}, ""},
		{".1.3.6.1.4.1.9.1.1208", []uint32{1, 3, 6, 1, 4, 1, 9, 1, 1208}, ""},
		{"2.999.4294967295", []uint32{2, 999, 4294967295}, ""},
		{"", nil, "empty OID"},
		{"1", nil, "at least two arcs"},
		{"3.1", nil, "first arc"},
		{"1.40", nil, "second arc"},
		{"1.3.x", nil, `arc "x"`},
		{"1.3.4294967296", nil, "arc"},
		{"1.3." + strings.Repeat("1.", 127) + "1", nil, "at most 128"},
	} {
		got, err := parseOID(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("parseOID(%q) error %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("parseOID(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}

// TestOIDEncodingMatchesGosnmp checks our BER OID encoding against gosnmp's
// marshalling and decodes it back.
func TestOIDEncodingMatchesGosnmp(t *testing.T) {
	for _, s := range []string{".1.3.6.1.2.1.1.1.0", ".1.3.6.1.4.1.2636.1.1.1.2.29", ".1.3.6.1.2.1.31.1.1.1.6.4294967295",
		".1.3.6.1.6.3.13.1.3.1.5.36.116.114.97.112.104.111.115.116.46.115.117.114.101.110.100.114.97.49.46.49.48.46.50.48.52.46.56.56.46.49.53.56.46.49.54.50.1.2.840.10036",
		".2.100.3", ".0.0"} {
		arcs, err := parseOID(s)
		if err != nil {
			t.Fatal(err)
		}
		got := appendOIDContent(nil, arcs)
		p := &gosnmp.SnmpPacket{Version: gosnmp.Version2c, Community: "c", PDUType: gosnmp.GetRequest,
			Variables: []gosnmp.SnmpPDU{{Name: s, Type: gosnmp.Null}}}
		msg, err := p.MarshalMsg()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(msg, append([]byte{tagOID, byte(len(got))}, got...)) {
			t.Errorf("%s: our encoding % x not in gosnmp's message % x", s, got, msg)
		}
		back, ok := decodeOIDContent(nil, got)
		if !ok || formatOID(back) != s {
			t.Errorf("%s: decoded back to %s (ok %v)", s, formatOID(back), ok)
		}
	}
}

func TestDecodeOIDContentRejects(t *testing.T) {
	for _, b := range [][]byte{
		{},                                   // empty
		{0x2b, 0x86},                         // truncated sub-identifier
		{0x2b, 0x80, 0x01},                   // non-minimal
		{0x2b, 0x90, 0x80, 0x80, 0x80, 0x00}, // arc above 2^32-1
		append([]byte{0x2b}, bytes.Repeat([]byte{1}, 128)...), // 130 arcs
	} {
		if arcs, ok := decodeOIDContent(nil, b); ok {
			t.Errorf("% x decoded to %v", b, arcs)
		}
	}
}

func TestCompareArcs(t *testing.T) {
	sorted := []string{"1.3", "1.3.6", "1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.2.0", "1.3.6.1.2.1.2", "1.3.6.1.2.1.10", "1.3.6.1.2.1.128", "1.3.6.2"}
	for i := range sorted {
		for j := range sorted {
			a, _ := parseOID(sorted[i])
			b, _ := parseOID(sorted[j])
			if got := compareArcs(a, b); (got < 0) != (i < j) || (got == 0) != (i == j) {
				t.Errorf("compare(%s, %s) = %d", sorted[i], sorted[j], got)
			}
		}
	}
}

func TestBERLengthsAndIntegers(t *testing.T) {
	for _, n := range []int{0, 1, 127, 128, 255, 256, 65535, 65536, 1 << 24} {
		h := appendHeader(nil, tagSequence, n)
		buf := make([]byte, 16+n)
		pos := prependHeader(buf, 16, tagSequence, n)
		if !bytes.Equal(buf[pos:16], h) {
			t.Errorf("length %d: prepend % x, append % x", n, buf[pos:16], h)
		}
		tag, start, end, ok := readTLV(buf[pos:], 0)
		if !ok || tag != tagSequence || end-start != n {
			t.Errorf("length %d: read back %v %d %d", n, ok, start, end)
		}
	}
	for _, v := range []int64{0, 1, -1, 127, 128, -128, -129, 255, 65535, 1 << 31, -(1 << 31), 1<<63 - 1, -1 << 63} {
		b := appendInt(nil, tagInteger, v)
		got, end, ok := readInt(b, 0)
		buf := make([]byte, 12)
		pos := prependInt(buf, 12, v)
		if !ok || got != v || end != len(b) || !bytes.Equal(buf[pos:], b) {
			t.Errorf("int %d: % x → %d %v; prepend % x", v, b, got, ok, buf[pos:])
		}
	}
	for _, v := range []uint64{0, 127, 128, 1<<32 - 1, 1 << 63, 1<<64 - 1} {
		b := appendUint(nil, tagCounter64, v)
		if b[1] != byte(uintSize(v)) || decodeUnsigned(b[2:]) != v || b[2]&0x80 != 0 {
			t.Errorf("uint %d: % x", v, b)
		}
	}
	if _, _, _, ok := readTLV([]byte{0x30, 0x85, 1, 2, 3, 4, 5}, 0); ok {
		t.Error("5-octet length accepted")
	}
	if _, _, _, ok := readTLV([]byte{0x30, 0x05, 1}, 0); ok {
		t.Error("length past the end accepted")
	}
}
