// Package ber holds the BER (X.690) primitives SNMP messages are made of,
// shared by the simulator's agent and the SNMP client: reading TLVs,
// integers and lengths, writing headers forwards (append) or backwards
// (prepend, so a message is built without knowing its lengths first), and
// OIDs to and from arcs and their dotted text. Nothing here allocates unless
// its name says it returns a new value: readers return spans of the input,
// writers append to or prepend into the caller's buffer.
package ber

import "encoding/binary"

// ASN.1/SMI tags used by SNMP.
const (
	TagInteger     = 0x02
	TagOctetString = 0x04
	TagNull        = 0x05
	TagOID         = 0x06
	TagSequence    = 0x30
	TagIPAddress   = 0x40
	TagCounter32   = 0x41
	TagGauge32     = 0x42
	TagTimeTicks   = 0x43
	TagOpaque      = 0x44
	TagCounter64   = 0x46
	TagUinteger32  = 0x47

	TagNoSuchObject   = 0x80
	TagNoSuchInstance = 0x81
	TagEndOfMibView   = 0x82
)

// PDU tags.
const (
	PDUGet      = 0xA0
	PDUGetNext  = 0xA1
	PDUResponse = 0xA2
	PDUSet      = 0xA3
	PDUGetBulk  = 0xA5
	PDUReport   = 0xA8
)

// ReadTLV reads the TLV at b[i:]: its tag, the start of its content and its
// end. Only single-byte tags and definite lengths up to 4 octets are valid.
func ReadTLV(b []byte, i int) (tag byte, start, end int, ok bool) {
	if i < 0 || i+2 > len(b) {
		return 0, 0, 0, false
	}
	tag = b[i]
	if tag&0x1f == 0x1f { // multi-byte tag: never used by SNMP
		return 0, 0, 0, false
	}
	l := int(b[i+1])
	start = i + 2
	if l&0x80 != 0 {
		n := l & 0x7f
		if n == 0 || n > 4 || start+n > len(b) {
			return 0, 0, 0, false
		}
		l = 0
		for _, c := range b[start : start+n] {
			l = l<<8 | int(c)
		}
		start += n
	}
	end = start + l
	if l < 0 || end > len(b) {
		return 0, 0, 0, false
	}
	return tag, start, end, true
}

// Expect reads a TLV with the given tag.
func Expect(b []byte, i int, want byte) (start, end int, ok bool) {
	tag, start, end, ok := ReadTLV(b, i)
	if !ok || tag != want {
		return 0, 0, false
	}
	return start, end, true
}

// ReadInt reads an INTEGER TLV at b[i:] as int64 and returns its end.
func ReadInt(b []byte, i int) (v int64, end int, ok bool) {
	start, end, ok := Expect(b, i, TagInteger)
	if !ok {
		return 0, 0, false
	}
	v, ok = DecodeInt(b[start:end])
	return v, end, ok
}

// DecodeInt decodes two's-complement INTEGER content of 1-8 octets.
func DecodeInt(c []byte) (int64, bool) {
	if len(c) == 0 || len(c) > 8 {
		return 0, false
	}
	v := int64(int8(c[0]))
	for _, x := range c[1:] {
		v = v<<8 | int64(x)
	}
	return v, true
}

// DecodeUint decodes unsigned content (Counter32, Gauge32, TimeTicks,
// Counter64): at most 8 octets, or 9 with a leading zero. Empty content is
// 0, as net-snmp and gosnmp read it.
func DecodeUint(c []byte) (uint64, bool) {
	if len(c) > 9 || len(c) == 9 && c[0] != 0 {
		return 0, false
	}
	var v uint64
	for _, x := range c {
		v = v<<8 | uint64(x)
	}
	return v, true
}

// LenSize is the size of a BER length field for n content octets.
func LenSize(n int) int {
	switch {
	case n < 0x80:
		return 1
	case n <= 0xff:
		return 2
	case n <= 0xffff:
		return 3
	case n <= 0xffffff:
		return 4
	}
	return 5
}

// AppendHeader appends a tag and a minimal definite length.
func AppendHeader(dst []byte, tag byte, n int) []byte {
	dst = append(dst, tag)
	switch LenSize(n) {
	case 1:
		return append(dst, byte(n))
	case 2:
		return append(dst, 0x81, byte(n))
	case 3:
		return append(dst, 0x82, byte(n>>8), byte(n))
	case 4:
		return append(dst, 0x83, byte(n>>16), byte(n>>8), byte(n))
	}
	return append(dst, 0x84, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

// PrependHeader writes a tag and length for n content octets so that they
// end at b[pos], and returns the header's start.
func PrependHeader(b []byte, pos int, tag byte, n int) int {
	s := LenSize(n)
	pos -= s + 1
	b[pos] = tag
	if s == 1 {
		b[pos+1] = byte(n)
		return pos
	}
	b[pos+1] = 0x80 | byte(s-1)
	for i := s - 1; i >= 1; i-- {
		b[pos+1+i] = byte(n)
		n >>= 8
	}
	return pos
}

// PrependBytes writes a TLV with content c ending at b[pos].
func PrependBytes(b []byte, pos int, tag byte, c []byte) int {
	pos -= len(c)
	copy(b[pos:], c)
	return PrependHeader(b, pos, tag, len(c))
}

// IntSize is the content size of a signed INTEGER.
func IntSize(v int64) int {
	n := 1
	for v > 127 || v < -128 {
		v >>= 8
		n++
	}
	return n
}

// UintSize is the content size of an unsigned value encoded as an INTEGER
// (a leading zero octet when the high bit would be set).
func UintSize(v uint64) int {
	n := 1
	for v > 127 {
		v >>= 8
		n++
	}
	return n
}

// AppendInt appends an INTEGER-like TLV with a signed value.
func AppendInt(dst []byte, tag byte, v int64) []byte {
	n := IntSize(v)
	dst = append(dst, tag, byte(n))
	for i := n - 1; i >= 0; i-- {
		dst = append(dst, byte(v>>(8*uint(i))))
	}
	return dst
}

// AppendUint appends an unsigned TLV (Counter32, Gauge32, TimeTicks,
// Counter64).
func AppendUint(dst []byte, tag byte, v uint64) []byte {
	n := UintSize(v)
	var b [9]byte
	binary.BigEndian.PutUint64(b[1:], v)
	dst = append(dst, tag, byte(n))
	return append(dst, b[9-n:]...)
}

// PrependInt writes a signed INTEGER TLV ending at b[pos].
func PrependInt(b []byte, pos int, v int64) int {
	n := IntSize(v)
	pos -= n
	for i := n - 1; i >= 0; i-- {
		b[pos+i] = byte(v)
		v >>= 8
	}
	pos -= 2
	b[pos], b[pos+1] = TagInteger, byte(n)
	return pos
}
