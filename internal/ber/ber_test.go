package ber

import (
	"bytes"
	"testing"
)

func TestLengthsAndIntegers(t *testing.T) {
	for _, n := range []int{0, 1, 127, 128, 255, 256, 65535, 65536, 1 << 24} {
		h := AppendHeader(nil, TagSequence, n)
		buf := make([]byte, 16+n)
		pos := PrependHeader(buf, 16, TagSequence, n)
		if !bytes.Equal(buf[pos:16], h) {
			t.Errorf("length %d: prepend % x, append % x", n, buf[pos:16], h)
		}
		tag, start, end, ok := ReadTLV(buf[pos:], 0)
		if !ok || tag != TagSequence || end-start != n {
			t.Errorf("length %d: read back %v %d %d", n, ok, start, end)
		}
	}
	for _, v := range []int64{0, 1, -1, 127, 128, -128, -129, 255, 65535, 1 << 31, -(1 << 31), 1<<63 - 1, -1 << 63} {
		b := AppendInt(nil, TagInteger, v)
		got, end, ok := ReadInt(b, 0)
		buf := make([]byte, 12)
		pos := PrependInt(buf, 12, v)
		if !ok || got != v || end != len(b) || !bytes.Equal(buf[pos:], b) {
			t.Errorf("int %d: % x → %d %v; prepend % x", v, b, got, ok, buf[pos:])
		}
	}
	for _, v := range []uint64{0, 127, 128, 1<<32 - 1, 1 << 63, 1<<64 - 1} {
		b := AppendUint(nil, TagCounter64, v)
		got, ok := DecodeUint(b[2:])
		if b[1] != byte(UintSize(v)) || !ok || got != v || b[2]&0x80 != 0 {
			t.Errorf("uint %d: % x → %d %v", v, b, got, ok)
		}
	}
	if v, ok := DecodeUint(nil); !ok || v != 0 {
		t.Errorf("empty unsigned content: %d %v, want 0 (as net-snmp)", v, ok)
	}
	for _, c := range [][]byte{{1, 0, 0, 0, 0, 0, 0, 0, 0}, make([]byte, 10)} {
		if _, ok := DecodeUint(c); ok {
			t.Errorf("% x: overflow accepted", c)
		}
	}
	for _, c := range [][]byte{nil, make([]byte, 9)} {
		if _, ok := DecodeInt(c); ok {
			t.Errorf("% x: bad INTEGER content accepted", c)
		}
	}
	if _, _, _, ok := ReadTLV([]byte{0x30, 0x85, 1, 2, 3, 4, 5}, 0); ok {
		t.Error("5-octet length accepted")
	}
	if _, _, _, ok := ReadTLV([]byte{0x30, 0x05, 1}, 0); ok {
		t.Error("length past the end accepted")
	}
	if _, _, _, ok := ReadTLV([]byte{0x1f, 0x01, 1}, 0); ok {
		t.Error("multi-byte tag accepted")
	}
	if _, _, ok := Expect([]byte{0x02, 0x01, 1}, 0, TagOctetString); ok {
		t.Error("Expect accepted another tag")
	}
}

func TestReadTLVBounds(t *testing.T) {
	for _, i := range []int{-2, -1, 3, 100} {
		if _, _, _, ok := ReadTLV([]byte{0x04, 0x01, 'x'}, i); ok {
			t.Errorf("ReadTLV at %d accepted", i)
		}
	}
	for _, b := range [][]byte{{0x04, 0x03, 'x'}, {0x04, 0x82, 0x01, 0x00, 'x'}, {0x04, 0x80}} {
		if _, _, _, ok := ReadTLV(b, 0); ok {
			t.Errorf("% x: ReadTLV accepted a length past the end", b)
		}
	}
}
