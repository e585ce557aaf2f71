package ber

import (
	"bytes"
	"encoding/asn1"
	"testing"
)

// FuzzReadTLV walks any bytes as nested TLVs, the way the SNMP decoders
// do. Every TLV it accepts lies inside its parent; encoding/asn1 (DER, so
// stricter on lengths) never accepts a single-byte-tag TLV that ReadTLV
// refuses or reads with another extent; and the primitives inside decode and
// re-encode to the same octets wherever their encoding is minimal.
func FuzzReadTLV(f *testing.F) {
	f.Add([]byte{TagSequence, 0x03, TagInteger, 0x01, 0x01})
	f.Add(AppendHeader(nil, TagSequence, 200))
	f.Add([]byte{TagSequence, 0x84, 0xff, 0xff, 0xff, 0xff})    // huge length, nothing behind it
	f.Add([]byte{TagSequence, 0x85, 1, 0, 0, 0, 0, TagNull, 0}) // five length octets
	f.Add([]byte{TagSequence, 0x80, TagNull, 0, 0, 0})          // indefinite length
	f.Add([]byte{0x1f, 0x81, 0x01, 0x00})                       // multi-byte tag
	msg := AppendInt(nil, TagInteger, 1)                        // version
	msg = append(AppendHeader(msg, TagOctetString, 6), "public"...)
	oid, _ := AppendOIDString(nil, ".1.3.6.1.2.1.1.3.0")
	vb := append(AppendHeader(nil, TagOID, len(oid)), oid...)
	vb = append(vb, AppendUint(nil, TagTimeTicks, 1<<31)...)
	vbl := append(AppendHeader(nil, TagSequence, len(vb)), vb...)
	vbl = append(AppendHeader(nil, TagSequence, len(vbl)), vbl...)
	pdu := AppendInt(nil, TagInteger, 1234567)
	pdu = append(pdu, AppendInt(nil, TagInteger, 0)...)
	pdu = append(pdu, AppendInt(nil, TagInteger, 0)...)
	pdu = append(pdu, vbl...)
	msg = append(append(msg, AppendHeader(nil, PDUResponse, len(pdu))...), pdu...)
	f.Add(append(AppendHeader(nil, TagSequence, len(msg)), msg...))
	f.Fuzz(func(t *testing.T, b []byte) {
		if tag, _, end, ok := ReadTLV(b, 0); ok || len(b) > 0 && b[0]&0x1f != 0x1f {
			var raw asn1.RawValue
			if _, err := asn1.Unmarshal(b, &raw); err == nil && b[0]&0x1f != 0x1f && (!ok || end != len(raw.FullBytes) || tag != b[0]) {
				t.Fatalf("% x: encoding/asn1 reads a %d-octet TLV, ReadTLV %v (end %d)", b, len(raw.FullBytes), ok, end)
			}
		}
		walkTLVs(t, b, 0, len(b), 0)
	})
}

// walkTLVs reads the TLVs of b[from:to] in sequence, descending into
// constructed ones (SEQUENCE and the PDUs).
func walkTLVs(t *testing.T, b []byte, from, to, depth int) {
	if depth > len(b) {
		t.Fatalf("nesting deeper than the input is long")
	}
	for i := from; i < to; {
		tag, start, end, ok := ReadTLV(b[:to], i)
		if !ok {
			return
		}
		if start < i+2 || start > end || end > to {
			t.Fatalf("% x at %d: TLV [%d, %d) outside its parent [%d, %d)", b, i, start, end, from, to)
		}
		// No header is shorter than the minimal one; a short-form one is it.
		if hdr := AppendHeader(nil, tag, end-start); len(hdr) > start-i || b[i+1] < 0x80 && !bytes.Equal(hdr, b[i:start]) {
			t.Fatalf("% x at %d: header % x, minimal header % x", b, i, b[i:start], hdr)
		}
		checkPrimitive(t, tag, b[start:end])
		if tag == TagSequence || tag&0xe0 == 0xa0 {
			walkTLVs(t, b, start, end, depth+1)
		}
		if end == i { // cannot happen (start ≥ i+2), but never loop
			t.Fatalf("no progress at %d", i)
		}
		i = end
	}
}

// checkPrimitive decodes content by its tag and, when the encoding is
// minimal, encodes the value back to the same octets.
func checkPrimitive(t *testing.T, tag byte, c []byte) {
	switch tag {
	case TagInteger:
		v, ok := DecodeInt(c)
		if ok != (len(c) >= 1 && len(c) <= 8) {
			t.Fatalf("DecodeInt(% x) ok=%v", c, ok)
		}
		minimal := len(c) < 2 || !(c[0] == 0 && c[1]&0x80 == 0 || c[0] == 0xff && c[1]&0x80 != 0)
		if ok && minimal && !bytes.Equal(AppendInt(nil, tag, v)[2:], c) {
			t.Fatalf("INTEGER % x decodes to %d, encodes to % x", c, v, AppendInt(nil, tag, v)[2:])
		}
	case TagCounter32, TagGauge32, TagTimeTicks, TagCounter64, TagUinteger32:
		v, ok := DecodeUint(c)
		minimal := len(c) >= 1 && c[0]&0x80 == 0 && (len(c) < 2 || !(c[0] == 0 && c[1]&0x80 == 0))
		if ok && minimal && !bytes.Equal(AppendUint(nil, tag, v)[2:], c) {
			t.Fatalf("unsigned % x decodes to %d, encodes to % x", c, v, AppendUint(nil, tag, v)[2:])
		}
	case TagOID:
		arcs, ok := DecodeOID(nil, c)
		if ok && CheckArcs(arcs) == nil && !bytes.Equal(AppendOID(nil, arcs), c) {
			t.Fatalf("OID % x decodes to %v, encodes to % x", c, arcs, AppendOID(nil, arcs))
		}
	}
}

// FuzzIntegers: every signed and unsigned value survives the writers
// (append and prepend agree) and the readers.
func FuzzIntegers(f *testing.F) {
	for _, v := range []int64{0, 1, -1, 127, 128, -128, -129, 1<<31 - 1, -1 << 31, 1<<63 - 1, -1 << 63} {
		f.Add(v, uint64(v))
	}
	f.Fuzz(func(t *testing.T, v int64, u uint64) {
		b := AppendInt(nil, TagInteger, v)
		got, end, ok := ReadInt(b, 0)
		buf := make([]byte, 16)
		pos := PrependInt(buf, len(buf), v)
		if !ok || got != v || end != len(b) || !bytes.Equal(buf[pos:], b) || int(b[1]) != IntSize(v) {
			t.Fatalf("int %d: % x reads back %d %v; prepended % x", v, b, got, ok, buf[pos:])
		}
		ub := AppendUint(nil, TagCounter64, u)
		ugot, uok := DecodeUint(ub[2:])
		if !uok || ugot != u || ub[2]&0x80 != 0 || int(ub[1]) != UintSize(u) {
			t.Fatalf("uint %d: % x reads back %d %v", u, ub, ugot, uok)
		}
		n := int(u % (1 << 25))
		h := AppendHeader(nil, TagOctetString, n)
		pbuf := make([]byte, 8)
		if p := PrependHeader(pbuf, len(pbuf), TagOctetString, n); !bytes.Equal(pbuf[p:], h) || len(h) != 1+LenSize(n) {
			t.Fatalf("length %d: appended % x, prepended % x", n, h, pbuf[p:])
		}
	})
}
