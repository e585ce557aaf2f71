package ber

import (
	"bytes"
	"slices"
	"strconv"
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
		{" 2.999.4294967295 ", []uint32{2, 999, 4294967295}, ""},
		{"", nil, "empty OID"},
		{"1", nil, "at least two arcs"},
		{"3.1", nil, "first arc"},
		{"1.40", nil, "second arc"},
		{"1.3.x", nil, `arc "x"`},
		{"1.3.", nil, `arc ""`},
		{"1..3", nil, `arc ""`},
		{"1.3.-1", nil, `arc "-1"`},
		{"1.3.4294967296", nil, `arc "4294967296"`},
		{"1.3.99999999999999999999", nil, `arc "99999999999999999999"`},
		{"1.3." + strings.Repeat("1.", 127) + "1", nil, "130 arcs, at most 128"},
	} {
		got, err := ParseOID(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseOID(%q) error %v, want %q", c.in, err, c.err)
			}
			if _, err2 := AppendOIDString(nil, c.in); err2 == nil || err2.Error() != err.Error() {
				t.Errorf("AppendOIDString(%q) error %v, ParseOID's %v", c.in, err2, err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("ParseOID(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}

// TestOIDEncodingMatchesGosnmp checks our BER OID encoding against gosnmp's
// marshalling and decodes it back, to arcs and to text.
func TestOIDEncodingMatchesGosnmp(t *testing.T) {
	for _, s := range []string{".1.3.6.1.2.1.1.1.0", ".1.3.6.1.4.1.2636.1.1.1.2.29", ".1.3.6.1.2.1.31.1.1.1.6.4294967295",
		".1.3.6.1.6.3.13.1.3.1.5.36.116.114.97.112.104.111.115.116.46.115.117.114.101.110.100.114.97.49.46.49.48.46.50.48.52.46.56.56.46.49.53.56.46.49.54.50.1.2.840.10036",
		".2.100.3", ".0.0", ".1.39.127.128.16383.16384.2097151.2097152"} {
		arcs, err := ParseOID(s)
		if err != nil {
			t.Fatal(err)
		}
		got := AppendOID(nil, arcs)
		if direct, err := AppendOIDString(nil, s); err != nil || !bytes.Equal(direct, got) {
			t.Errorf("%s: AppendOIDString % x (%v), AppendOID % x", s, direct, err, got)
		}
		p := &gosnmp.SnmpPacket{Version: gosnmp.Version2c, Community: "c", PDUType: gosnmp.GetRequest,
			Variables: []gosnmp.SnmpPDU{{Name: s, Type: gosnmp.Null}}}
		msg, err := p.MarshalMsg()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(msg, append([]byte{TagOID, byte(len(got))}, got...)) {
			t.Errorf("%s: our encoding % x not in gosnmp's message % x", s, got, msg)
		}
		back, ok := DecodeOID(nil, got)
		if !ok || FormatOID(back) != s {
			t.Errorf("%s: decoded back to %s (ok %v)", s, FormatOID(back), ok)
		}
		text, ok := AppendOIDText([]byte("x"), got)
		if !ok || string(text) != "x"+s {
			t.Errorf("%s: AppendOIDText gave %q (ok %v)", s, text, ok)
		}
	}
}

func TestDecodeOIDRejects(t *testing.T) {
	for _, b := range [][]byte{
		{},                                   // empty
		{0x2b, 0x86},                         // truncated sub-identifier
		{0x2b, 0x80, 0x01},                   // non-minimal
		{0x2b, 0x90, 0x80, 0x80, 0x80, 0x00}, // arc above 2^32-1
		append([]byte{0x2b}, bytes.Repeat([]byte{1}, 128)...), // 130 arcs
	} {
		if arcs, ok := DecodeOID(nil, b); ok {
			t.Errorf("% x decoded to %v", b, arcs)
		}
	}
}

// TestOIDTextLikeGosnmp: the dotted text of odd encodings agents send is
// what gosnmp (and net-snmp) make of them.
func TestOIDTextLikeGosnmp(t *testing.T) {
	cases := []struct {
		content []byte
		want    string // "" = rejected
	}{
		{nil, ".0.0"},
		{[]byte{0x2b, 0x80, 0x01}, ".1.3.1"}, // non-minimal: accepted
		{[]byte{0x8f, 0xff, 0xff, 0xff, 0x7f}, ".2.4294967215"}, // largest first sub-identifier
		{[]byte{0x2b, 0x86}, ""},                                // truncated
		{[]byte{0x2b, 0x90, 0x80, 0x80, 0x80, 0x00}, ""},        // above 2^32-1
		{[]byte{0x90, 0x80, 0x80, 0x80, 0x00}, ""},              // first above 2^32-1
	}
	for _, c := range cases {
		got, ok := AppendOIDText(nil, c.content)
		if c.want == "" {
			if ok {
				t.Errorf("% x accepted as %s", c.content, got)
			}
			continue
		}
		if !ok || string(got) != c.want {
			t.Errorf("% x: got %q (ok %v), want %q", c.content, got, ok, c.want)
		}
	}
}

func TestCompareArcs(t *testing.T) {
	sorted := []string{"1.3", "1.3.6", "1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.2.0", "1.3.6.1.2.1.2", "1.3.6.1.2.1.10", "1.3.6.1.2.1.128", "1.3.6.2"}
	for i := range sorted {
		for j := range sorted {
			a, _ := ParseOID(sorted[i])
			b, _ := ParseOID(sorted[j])
			if got := CompareArcs(a, b); (got < 0) != (i < j) || (got == 0) != (i == j) {
				t.Errorf("compare(%s, %s) = %d", sorted[i], sorted[j], got)
			}
			// BER content of minimal encodings orders as the arcs do.
			if got := bytes.Compare(AppendOID(nil, a), AppendOID(nil, b)); (got < 0) != (i < j) {
				t.Errorf("BER compare(%s, %s) = %d", sorted[i], sorted[j], got)
			}
		}
	}
	if !HasPrefix([]uint32{1, 3, 6}, []uint32{1, 3}) || HasPrefix([]uint32{1, 3}, []uint32{1, 3, 6}) {
		t.Error("HasPrefix")
	}
}

func TestAppendOIDStringAllocs(t *testing.T) {
	buf := make([]byte, 0, 64)
	if n := testing.AllocsPerRun(100, func() { buf, _ = AppendOIDString(buf[:0], ".1.3.6.1.2.1.31.1.1.1.6.10101") }); n != 0 {
		t.Errorf("AppendOIDString allocates %v times", n)
	}
	content := AppendOID(nil, []uint32{1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6, 10101})
	if n := testing.AllocsPerRun(100, func() { buf, _ = AppendOIDText(buf[:0], content) }); n != 0 {
		t.Errorf("AppendOIDText allocates %v times", n)
	}
}

// FuzzOIDText: text decoding agrees with arc decoding wherever the strict
// decoder accepts, and encoding the text gives the content back.
func FuzzOIDText(f *testing.F) {
	f.Add([]byte{0x2b, 6, 1, 2, 1})
	f.Add([]byte{0x2b, 0x80, 0x01})
	f.Add([]byte{0x88, 0x37, 0x03})
	f.Fuzz(func(t *testing.T, b []byte) {
		text, okText := AppendOIDText(nil, b)
		arcs, okArcs := DecodeOID(nil, b)
		if !okArcs {
			return
		}
		if !okText && arcs[0] == 2 && arcs[1] > 0xFFFFFFFF-80 {
			return // strict allows a first sub-identifier above 2^32-1; gosnmp does not
		}
		if !okText || string(text) != FormatOID(arcs) {
			t.Fatalf("% x: text %q (%v), arcs %v", b, text, okText, arcs)
		}
		back, err := AppendOIDString(nil, string(text))
		if err != nil || !bytes.Equal(back, b) {
			t.Fatalf("% x: %s encodes to % x (%v)", b, text, back, err)
		}
	})
}

func BenchmarkAppendOIDText(b *testing.B) {
	content, _ := AppendOIDString(nil, ".1.3.6.1.2.1.31.1.1.1.6.10101")
	buf := make([]byte, 0, 64)
	for b.Loop() {
		buf, _ = AppendOIDText(buf[:0], content)
	}
}

func TestAppendArc(t *testing.T) {
	for _, v := range []uint64{0, 9, 10, 99, 100, 101, 999, 1000, 10101, 65535, 123456789, 4294967295, 1<<64 - 1} {
		if got, want := string(appendArc([]byte("x"), v)), "x"+strconv.FormatUint(v, 10); got != want {
			t.Errorf("appendArc(%d) = %q, want %q", v, got, want)
		}
	}
}
