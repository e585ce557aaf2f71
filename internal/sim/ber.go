package sim

import "encoding/binary"

// BER helpers for the request/response hot path. They work on byte slices
// and offsets and never allocate: readers return spans of the input,
// writers append to or prepend into a caller's buffer.

// ASN.1/SMI tags used by SNMP.
const (
	tagInteger     = 0x02
	tagOctetString = 0x04
	tagNull        = 0x05
	tagOID         = 0x06
	tagSequence    = 0x30
	tagIPAddress   = 0x40
	tagCounter32   = 0x41
	tagGauge32     = 0x42
	tagTimeTicks   = 0x43
	tagOpaque      = 0x44
	tagCounter64   = 0x46

	tagNoSuchObject   = 0x80
	tagNoSuchInstance = 0x81
	tagEndOfMibView   = 0x82

	pduGet      = 0xA0
	pduGetNext  = 0xA1
	pduResponse = 0xA2
	pduSet      = 0xA3
	pduGetBulk  = 0xA5
	pduReport   = 0xA8
)

// readTLV reads the TLV at b[i:]: its tag, the start of its content and its
// end. Only single-byte tags and definite lengths up to 4 octets are valid.
func readTLV(b []byte, i int) (tag byte, start, end int, ok bool) {
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

// expect reads a TLV with the given tag.
func expect(b []byte, i int, want byte) (start, end int, ok bool) {
	tag, start, end, ok := readTLV(b, i)
	if !ok || tag != want {
		return 0, 0, false
	}
	return start, end, true
}

// readInt reads an INTEGER TLV at b[i:] as int64 and returns its end.
func readInt(b []byte, i int) (v int64, end int, ok bool) {
	start, end, ok := expect(b, i, tagInteger)
	if !ok {
		return 0, 0, false
	}
	v, ok = decodeInt(b[start:end])
	return v, end, ok
}

// decodeInt decodes two's-complement INTEGER content of 1-8 octets.
func decodeInt(c []byte) (int64, bool) {
	if len(c) == 0 || len(c) > 8 {
		return 0, false
	}
	v := int64(int8(c[0]))
	for _, x := range c[1:] {
		v = v<<8 | int64(x)
	}
	return v, true
}

// lenSize is the size of a BER length field for n content octets.
func lenSize(n int) int {
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

// appendHeader appends a tag and a minimal definite length.
func appendHeader(dst []byte, tag byte, n int) []byte {
	dst = append(dst, tag)
	switch lenSize(n) {
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

// prependHeader writes a tag and length for n content octets so that they
// end at b[pos], and returns the header's start.
func prependHeader(b []byte, pos int, tag byte, n int) int {
	s := lenSize(n)
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

// prependBytes writes a TLV with content c ending at b[pos].
func prependBytes(b []byte, pos int, tag byte, c []byte) int {
	pos -= len(c)
	copy(b[pos:], c)
	return prependHeader(b, pos, tag, len(c))
}

// intSize is the content size of a signed INTEGER.
func intSize(v int64) int {
	n := 1
	for v > 127 || v < -128 {
		v >>= 8
		n++
	}
	return n
}

// uintSize is the content size of an unsigned value encoded as an INTEGER
// (a leading zero octet when the high bit would be set).
func uintSize(v uint64) int {
	n := 1
	for v > 127 {
		v >>= 8
		n++
	}
	return n
}

// appendInt appends an INTEGER-like TLV with a signed value.
func appendInt(dst []byte, tag byte, v int64) []byte {
	n := intSize(v)
	dst = append(dst, tag, byte(n))
	for i := n - 1; i >= 0; i-- {
		dst = append(dst, byte(v>>(8*uint(i))))
	}
	return dst
}

// appendUint appends an unsigned TLV (Counter32, Gauge32, TimeTicks,
// Counter64).
func appendUint(dst []byte, tag byte, v uint64) []byte {
	n := uintSize(v)
	var b [9]byte
	binary.BigEndian.PutUint64(b[1:], v)
	dst = append(dst, tag, byte(n))
	return append(dst, b[9-n:]...)
}

// prependInt writes a signed INTEGER TLV ending at b[pos].
func prependInt(b []byte, pos int, v int64) int {
	n := intSize(v)
	pos -= n
	for i := n - 1; i >= 0; i-- {
		b[pos+i] = byte(v)
		v >>= 8
	}
	pos -= 2
	b[pos], b[pos+1] = tagInteger, byte(n)
	return pos
}
