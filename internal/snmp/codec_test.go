package snmp

import (
	"bytes"
	"fmt"
	"math"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/gosnmp/gosnmp"

	"github.com/panoptes-go/panoptes/internal/ber"
)

func TestDecodeGetBulkResponse(t *testing.T) {
	b := getBulkResponse(t)
	pkt, err := (&gosnmp.GoSNMP{Version: gosnmp.Version2c}).SnmpDecodePacket(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(pkt.Variables) != 25 || pkt.Variables[24].Value != uint64(29771896789864)+24*982451653 {
		t.Fatalf("decoded %d varbinds, last %v", len(pkt.Variables), pkt.Variables[len(pkt.Variables)-1])
	}
	sameAsGosnmp(t, b)
}

// sameAsGosnmp decodes a response with both decoders and fails the test
// unless both succeed with identical results (names, types, Go values).
func sameAsGosnmp(t *testing.T, msg []byte) []Varbind {
	t.Helper()
	want, err := (&gosnmp.GoSNMP{Version: gosnmp.Version2c}).SnmpDecodePacket(msg)
	if err != nil {
		t.Fatalf("gosnmp: %v", err)
	}
	got, r := decodeNative(t, msg)
	if len(want.Variables) == 0 {
		want.Variables = nil
	}
	if !reflect.DeepEqual(got, want.Variables) {
		t.Fatalf("native decoded\n%s\ngosnmp\n%s", dump(got), dump(want.Variables))
	}
	if r.status != want.Error || r.index != int(want.ErrorIndex) {
		t.Fatalf("native %+v, gosnmp %v/%d", r, want.Error, want.ErrorIndex)
	}
	return got
}

func dump(vbs []Varbind) string {
	var b strings.Builder
	for _, v := range vbs {
		fmt.Fprintf(&b, "  %s %v %T %#v\n", v.Name, v.Type, v.Value, v.Value)
	}
	return b.String()
}

// rawResponse builds a v2c Response message around hand-made varbinds,
// for encodings gosnmp's marshaller cannot produce.
func rawResponse(id, status, index int64, varbinds ...[]byte) []byte {
	vbl := ber.AppendHeader(nil, ber.TagSequence, len(bytes.Join(varbinds, nil)))
	vbl = append(vbl, bytes.Join(varbinds, nil)...)
	pdu := ber.AppendInt(nil, ber.TagInteger, id)
	pdu = ber.AppendInt(pdu, ber.TagInteger, status)
	pdu = ber.AppendInt(pdu, ber.TagInteger, index)
	pdu = append(pdu, vbl...)
	body := ber.AppendInt(nil, ber.TagInteger, 1)
	body = append(ber.AppendHeader(body, ber.TagOctetString, 6), "public"...)
	body = append(ber.AppendHeader(body, ber.PDUResponse, len(pdu)), pdu...)
	return append(ber.AppendHeader(nil, ber.TagSequence, len(body)), body...)
}

// rawVarbind is SEQUENCE { OID oid, tag content } with any content.
func rawVarbind(oid string, tag byte, content []byte) []byte {
	c, err := ber.AppendOIDString(nil, oid)
	if err != nil {
		panic(err)
	}
	inner := append(ber.AppendHeader(nil, ber.TagOID, len(c)), c...)
	inner = append(ber.AppendHeader(inner, tag, len(content)), content...)
	return append(ber.AppendHeader(nil, ber.TagSequence, len(inner)), inner...)
}

// TestDecodeLikeGosnmp covers every value type and the odd encodings agents
// send: the native decoder must give exactly gosnmp's varbinds.
func TestDecodeLikeGosnmp(t *testing.T) {
	f32 := []byte{0x9f, 0x78, 4, 0x40, 0x49, 0x0f, 0xdb}
	f64 := append([]byte{0x9f, 0x79, 8}, 0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18)
	mapped := append(bytes.Repeat([]byte{0}, 10), 0xff, 0xff, 10, 1, 2, 3)
	v6 := []byte{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}
	vbs := [][]byte{
		rawVarbind(".1.3.6.1.2.1.2.2.1.1.1", ber.TagInteger, []byte{0x01}),
		rawVarbind(".1.3.6.1.2.1.2.2.1.1.2", ber.TagInteger, []byte{0xff, 0x38}), // -200
		rawVarbind(".1.3.6.1.2.1.2.2.1.1.3", ber.TagInteger, []byte{0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}),
		rawVarbind(".1.3.6.1.2.1.2.2.1.1.4", ber.TagUinteger32, []byte{0x00, 0xff, 0xff, 0xff, 0xff}),
		rawVarbind(".1.3.6.1.2.1.2.2.1.2.1", ber.TagOctetString, []byte("GigabitEthernet1/0/1")),
		rawVarbind(".1.3.6.1.2.1.2.2.1.2.2", ber.TagOctetString, nil),
		rawVarbind(".1.3.6.1.2.1.2.2.1.6.1", ber.TagOctetString, []byte{0, 0x1b, 0x54, 0xc2, 0x10, 0x80}),
		rawVarbind(".1.3.6.1.2.1.1.2.0", ber.TagOID, []byte{0x2b, 6, 1, 4, 1, 9, 1, 0x84, 0x04}),
		rawVarbind(".1.3.6.1.2.1.1.2.1", ber.TagOID, nil), // ".0.0", as net-snmp
		rawVarbind(".1.3.6.1.2.1.4.20.1.1.1", ber.TagIPAddress, []byte{10, 0, 0, 1}),
		rawVarbind(".1.3.6.1.2.1.4.20.1.1.2", ber.TagIPAddress, nil),
		rawVarbind(".1.3.6.1.2.1.4.20.1.1.3", ber.TagIPAddress, v6),
		rawVarbind(".1.3.6.1.2.1.4.20.1.1.4", ber.TagIPAddress, mapped),
		rawVarbind(".1.3.6.1.2.1.2.2.1.10.1", ber.TagCounter32, []byte{0x00, 0xff, 0xff, 0xff, 0xff}),
		rawVarbind(".1.3.6.1.2.1.2.2.1.10.2", ber.TagCounter32, nil), // 0, as gosnmp
		rawVarbind(".1.3.6.1.2.1.2.2.1.5.1", ber.TagGauge32, []byte{0x3b, 0x9a, 0xca, 0x00}),
		rawVarbind(".1.3.6.1.2.1.1.3.0", ber.TagTimeTicks, []byte{0x01, 0x02, 0x03, 0x04, 0x05}), // truncated to 32 bits
		rawVarbind(".1.3.6.1.2.1.31.1.1.1.6.1", ber.TagCounter64, []byte{0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}),
		rawVarbind(".1.3.6.1.2.1.31.1.1.1.6.2", ber.TagCounter64, []byte{0x01, 0, 0, 0, 0, 0, 0, 0, 0}), // too large: no type, no value
		rawVarbind(".1.3.6.1.2.1.31.1.1.1.6.3", ber.TagCounter64, []byte{0x05}),
		rawVarbind(".1.3.6.1.4.1.2021.10.1.6.1", ber.TagOpaque, f32),
		rawVarbind(".1.3.6.1.4.1.2021.10.1.6.2", ber.TagOpaque, f64),
		rawVarbind(".1.3.6.1.4.1.2021.10.1.6.3", ber.TagOpaque, []byte{1, 2, 3}),
		rawVarbind(".1.3.6.1.2.1.1.99.0", ber.TagNull, nil),
		rawVarbind(".1.3.6.1.2.1.1.98.0", ber.TagNoSuchObject, nil),
		rawVarbind(".1.3.6.1.2.1.1.97.0", ber.TagNoSuchInstance, nil),
		rawVarbind(".1.3.6.1.2.1.1.96.0", ber.TagEndOfMibView, nil),
		rawVarbind(".1.3.6.1.2.1.1.95.0", 0x45, []byte{1, 2}), // NsapAddress: unknown to both
		rawVarbind(".1.3.6.1.4294967295.2.128.16384", ber.TagNull, nil),
	}
	got := sameAsGosnmp(t, rawResponse(77, 0, 0, vbs...))
	if got[20].Value != float32(math.Pi) || got[21].Value != math.Pi {
		t.Fatalf("opaque floats: %v %v", got[20].Value, got[21].Value)
	}
	sameAsGosnmp(t, rawResponse(1<<31-1, 5, 2, vbs[0], vbs[1]))
	sameAsGosnmp(t, rawResponse(3, 0, 0)) // no varbinds

	// MikroTik overstates an octet string's length by one.
	mikrotik := rawVarbind(".1.3.6.1.2.1.1.5.0", ber.TagOctetString, []byte("router"))
	mikrotik[len(mikrotik)-7]++
	sameAsGosnmp(t, rawResponse(4, 0, 0, mikrotik))
}

func TestDecodeRejects(t *testing.T) {
	for name, vb := range map[string][]byte{
		"empty INTEGER":      rawVarbind(".1.3.6.1.2.1.1.7.0", ber.TagInteger, nil),
		"9-octet INTEGER":    rawVarbind(".1.3.6.1.2.1.1.7.0", ber.TagInteger, make([]byte, 9)),
		"5-octet IpAddress":  rawVarbind(".1.3.6.1.2.1.4.20.1.1.1", ber.TagIPAddress, []byte{1, 2, 3, 4, 5}),
		"truncated OID":      rawVarbind(".1.3.6.1.2.1.1.2.0", ber.TagOID, []byte{0x2b, 0x86}),
		"empty Opaque":       rawVarbind(".1.3.6.1.4.1.2021.10.1.6.1", ber.TagOpaque, nil),
		"short Opaque float": rawVarbind(".1.3.6.1.4.1.2021.10.1.6.1", ber.TagOpaque, []byte{0x9f, 0x78, 2, 1, 2}),
		"no value":           {0x30, 0x04, 0x06, 0x02, 0x2b, 0x06},
		"name not an OID":    {0x30, 0x05, 0x04, 0x01, 0x2b, 0x05, 0x00},
		"value too long":     {0x30, 0x06, 0x06, 0x01, 0x2b, 0x02, 0x02, 0x01},
	} {
		var h header
		if !parseHeader(rawResponse(1, 0, 0, vb), &h) {
			t.Errorf("%s: header rejected", name)
			continue
		}
		var d decoder
		if vbs, err := d.varbinds(h.vbl, nil); err == nil {
			t.Errorf("%s: decoded to %v", name, vbs)
		}
	}
	good := rawResponse(1, 0, 0, rawVarbind(".1.3.6.1.2.1.1.5.0", ber.TagNull, nil))
	var h header
	for i := range good {
		if parseHeader(good[:i], &h) {
			t.Errorf("header of a message truncated to %d octets accepted", i)
		}
	}
	if parseHeader(append(slices.Clip(good), 0), &h) {
		t.Error("trailing octet accepted")
	}
}

// TestEncodeRequest: gosnmp (and so agents) read our requests as sent.
func TestEncodeRequest(t *testing.T) {
	oids := []string{".1.3.6.1.2.1.1.5.0", "1.3.6.1.2.1.31.1.1.1.6.4294967295", ".1.3.6.1.4.1.9.9.13.1.3.1.3.1005"}
	for _, c := range []struct {
		req     request
		version int64
		pdu     gosnmp.PDUType
	}{
		{request{pdu: ber.PDUGet, oids: oids}, 1, gosnmp.GetRequest},
		{request{pdu: ber.PDUGetNext, oids: oids[:1]}, 0, gosnmp.GetNextRequest},
		{request{pdu: ber.PDUGetBulk, oids: oids[1:2], maxReps: 50}, 1, gosnmp.GetBulkRequest},
	} {
		community := []byte(strings.Repeat("c", 200)) // long: multi-octet lengths
		msg, _, err := encodeRequest(make([]byte, 0, 8), c.version, community, 1<<31-1, &c.req)
		if err != nil {
			t.Fatal(err)
		}
		p, err := (&gosnmp.GoSNMP{Version: gosnmp.SnmpVersion(c.version)}).SnmpDecodePacket(msg)
		if err != nil {
			t.Fatalf("%v: gosnmp cannot read our request: %v", c.pdu, err)
		}
		if p.PDUType != c.pdu || p.RequestID != 1<<31-1 || p.Community != string(community) ||
			p.Version != gosnmp.SnmpVersion(c.version) || len(p.Variables) != len(c.req.oids) {
			t.Fatalf("%v: gosnmp read %+v", c.pdu, p)
		}
		for i, v := range p.Variables {
			if v.Name != normOID(c.req.oids[i]) || v.Type != gosnmp.Null {
				t.Fatalf("%v: varbind %d is %v", c.pdu, i, v)
			}
		}
		if c.pdu == gosnmp.GetBulkRequest && (p.MaxRepetitions != 50 || p.NonRepeaters != 0) {
			t.Fatalf("GETBULK: max-repetitions %d, non-repeaters %d", p.MaxRepetitions, p.NonRepeaters)
		}
	}
	if _, _, err := encodeRequest(nil, 1, nil, 1, &request{pdu: ber.PDUGet, oids: []string{".1.3.x"}}); err == nil ||
		!strings.Contains(err.Error(), `arc "x"`) {
		t.Fatalf("bad OID: %v", err)
	}
}

// TestBoxedValues: values boxed into slabs behave as normally boxed ones
// everywhere, also after the garbage collector ran.
func TestBoxedValues(t *testing.T) {
	var d decoder
	d.left = 1000
	vals := []any{
		boxWord(&d, uint64(1<<40+3)), boxWord(&d, uint(4000000000)), boxWord(&d, uint32(70000)),
		boxWord(&d, -5000000), boxWord(&d, 7), d.boxString(".1.3.6.1.4.1.9"), d.boxBytes([]byte("ether")),
	}
	want := []any{uint64(1<<40 + 3), uint(4000000000), uint32(70000), -5000000, 7, ".1.3.6.1.4.1.9", []byte("ether")}
	d = decoder{} // drop the decoder's references: only the interfaces keep the slabs
	runtime.GC()
	for i, v := range vals {
		if !reflect.DeepEqual(v, want[i]) || fmt.Sprint(v) != fmt.Sprint(want[i]) || reflect.TypeOf(v) != reflect.TypeOf(want[i]) {
			t.Errorf("value %d: %#v, want %#v", i, v, want[i])
		}
		if _, isBytes := v.([]byte); !isBytes && v != want[i] {
			t.Errorf("value %d: == is false", i)
		}
	}
	if x, ok := vals[0].(uint64); !ok || x != 1<<40+3 {
		t.Errorf("type assertion: %v %v", x, ok)
	}
	m := map[any]int{vals[1]: 1}
	if m[uint(4000000000)] != 1 {
		t.Error("boxed value as a map key")
	}
}

// TestDecodeAllocs: a 25-varbind Counter64 response costs a text arena and
// a word slab, not one allocation per value.
func TestDecodeAllocs(t *testing.T) {
	msg := getBulkResponse(t)
	var h header
	if !parseHeader(msg, &h) {
		t.Fatal("bad header")
	}
	dst := make([]Varbind, 0, 32)
	n := testing.AllocsPerRun(100, func() {
		var d decoder
		if _, err := d.varbinds(h.vbl, dst[:0]); err != nil {
			t.Fatal(err)
		}
	})
	if n > 2 {
		t.Fatalf("%v allocations per 25-varbind response, want 2", n)
	}
	var d decoder
	small := testing.AllocsPerRun(100, func() { _ = boxWord(&d, uint32(200)); _ = boxWord(&d, 100) })
	if small != 0 {
		t.Fatalf("boxing small values allocates %v times", small)
	}
}

// FuzzDecodeResponse: no input panics the decoder or makes it allocate
// more than a small multiple of its size, and whatever both decoders accept
// decodes identically.
func FuzzDecodeResponse(f *testing.F) {
	f.Add(getBulkResponse(f))
	f.Add(rawResponse(9, 0, 0, rawVarbind(".1.3.6.1.2.1.4.20.1.1.1", ber.TagIPAddress, []byte{10, 0, 0, 1}),
		rawVarbind(".1.3.6.1.2.1.1.2.0", ber.TagOID, []byte{0x2b, 6, 1}),
		rawVarbind(".1.3.6.1.4.1.2021.10.1.6.1", ber.TagOpaque, []byte{0x9f, 0x78, 4, 0x40, 0x49, 0x0f, 0xdb})))
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x01})
	for _, p := range simIfTableResponses(f)[:4] {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		before := ms.TotalAlloc
		var h header
		if !parseHeader(msg, &h) {
			return
		}
		var d decoder
		got, err := d.varbinds(h.vbl, nil)
		runtime.ReadMemStats(&ms)
		if limit := uint64(96*len(msg) + 16<<10); ms.TotalAlloc-before > limit {
			t.Fatalf("%d-octet message: %d bytes allocated, limit %d", len(msg), ms.TotalAlloc-before, limit)
		}
		if err != nil || h.pdu != ber.PDUResponse || h.version > 1 {
			return
		}
		want, gerr := gosnmpDecode(msg)
		if gerr != nil {
			return
		}
		if len(want.Variables) == 0 {
			want.Variables = nil
		}
		if !reflect.DeepEqual(got, want.Variables) {
			t.Fatalf("native decoded\n%s\ngosnmp\n%s", dump(got), dump(want.Variables))
		}
	})
}

// gosnmpDecode decodes with gosnmp, turning its panics on garbage into errors.
func gosnmpDecode(msg []byte) (p *gosnmp.SnmpPacket, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("gosnmp panicked: %v", r)
		}
	}()
	return (&gosnmp.GoSNMP{Version: gosnmp.Version2c}).SnmpDecodePacket(msg)
}

// TestOIDTextPrefixReuse: names built from the previous name's prefix are
// those built from scratch, whatever the two share.
func TestOIDTextPrefixReuse(t *testing.T) {
	oids := []string{
		".1.3.6.1.2.1.2.2.1.1.1", ".1.3.6.1.2.1.2.2.1.1.2", ".1.3.6.1.2.1.2.2.1.1.200", ".1.3.6.1.2.1.2.2.1.1.16384",
		".1.3.6.1.2.1.2.2.1.1.16385", ".1.3.6.1.2.1.2.2.1.2.1", ".1.3.6.1.2.1.2.2.1.2.1", ".1.3.6.1.2.1.2.2.1.2",
		".1.3.6.1.2.1.2.2.1.2.1.5.6", ".1.3.6.1.4.1.9.9.13", ".1.3.6.1.4.1.9.9.130", ".1.3.6.1.4.1.4294967295.1",
		".1.3.6.1.4.1.4294967294.1", ".1.3.6.1.4.1.128", ".2.1000.3", ".2.1000", ".0.0", ".1.3", ".1.3.6.1.4.1.127.1",
	}
	var d decoder
	d.left = 1000
	for _, o := range oids {
		c, err := ber.AppendOIDString(nil, o)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := d.oidText(c)
		if !ok || got != o {
			t.Fatalf("after %q: %q (ok %v), want %q", d.prevText, got, ok, o)
		}
	}
}
