package ber

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// MaxArcs is the largest number of sub-identifiers an SNMP OID may have
// (RFC 2578 section 3.5).
const MaxArcs = 128

// maxSubID bounds a sub-identifier while it is read: the first one combines
// two arcs (up to 2·40 + 2³²-1), the others are at most 2³²-1.
const maxSubID = 0xFFFFFFFF + 80

// ParseOID parses a numeric OID ("1.3.6.1", ".1.3.6.1") into arcs.
func ParseOID(s string) ([]uint32, error) {
	t := trimOID(s)
	return parseArcs(make([]uint32, 0, strings.Count(t, ".")+1), s)
}

// AppendOIDString appends the BER content octets of the numeric OID s
// (leading dot optional) to dst, without allocating. Errors are
// ParseOID's.
func AppendOIDString(dst []byte, s string) ([]byte, error) {
	var buf [MaxArcs]uint32
	arcs, err := parseArcs(buf[:0], s)
	if err != nil {
		return dst, err
	}
	return AppendOID(dst, arcs), nil
}

func trimOID(s string) string { return strings.TrimPrefix(strings.TrimSpace(s), ".") }

// parseArcs appends the arcs of s to dst, which must have room for MaxArcs
// arcs or for all of them.
func parseArcs(dst []uint32, s string) ([]uint32, error) {
	t := trimOID(s)
	if t == "" {
		return nil, errors.New("empty OID")
	}
	if n := strings.Count(t, ".") + 1; n > MaxArcs {
		return nil, fmt.Errorf("OID %q: %d arcs, at most %d allowed", t, n, MaxArcs)
	}
	for i := 0; i <= len(t); i++ {
		j, v := i, uint64(0)
		for ; j < len(t) && t[j] != '.'; j++ {
			c := t[j] - '0'
			if c > 9 || v > 0xFFFFFFFF {
				v = 1 << 33 // invalid: reported below
				break
			}
			v = v*10 + uint64(c)
		}
		if j == i || v > 0xFFFFFFFF || j < len(t) && t[j] != '.' {
			part, _, _ := strings.Cut(t[i:], ".")
			return nil, fmt.Errorf("OID %q: arc %q is not a number 0-4294967295", t, part)
		}
		dst = append(dst, uint32(v))
		i = j
	}
	if err := CheckArcs(dst); err != nil {
		return nil, fmt.Errorf("OID %q: %w", t, err)
	}
	return dst, nil
}

// CheckArcs enforces what BER can encode: at least two arcs, the first 0-2,
// the second below 40 unless the first is 2, at most MaxArcs.
func CheckArcs(arcs []uint32) error {
	switch {
	case len(arcs) < 2:
		return errors.New("want at least two arcs")
	case len(arcs) > MaxArcs:
		return fmt.Errorf("%d arcs, at most %d allowed", len(arcs), MaxArcs)
	case arcs[0] > 2:
		return errors.New("first arc must be 0, 1 or 2")
	case arcs[0] < 2 && arcs[1] >= 40:
		return errors.New("second arc must be below 40")
	case arcs[0] == 2 && arcs[1] > 0xFFFFFFFF-80:
		return errors.New("second arc too large")
	}
	return nil
}

// FormatOID renders arcs as ".1.3.6.1...".
func FormatOID(arcs []uint32) string {
	b := make([]byte, 0, len(arcs)*4)
	for _, a := range arcs {
		b = append(b, '.')
		b = strconv.AppendUint(b, uint64(a), 10)
	}
	return string(b)
}

// CompareArcs orders OIDs lexicographically by arc, a prefix first.
func CompareArcs(a, b []uint32) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	return len(a) - len(b)
}

// HasPrefix reports whether oid starts with prefix.
func HasPrefix(oid, prefix []uint32) bool {
	if len(prefix) > len(oid) {
		return false
	}
	for i, a := range prefix {
		if oid[i] != a {
			return false
		}
	}
	return true
}

// AppendOID appends the BER content octets of an OID (no tag or length):
// the first two arcs combined, then base-128 sub-identifiers. arcs must
// have passed CheckArcs.
func AppendOID(dst []byte, arcs []uint32) []byte {
	dst = appendSubID(dst, uint64(arcs[0])*40+uint64(arcs[1]))
	for _, a := range arcs[2:] {
		dst = appendSubID(dst, uint64(a))
	}
	return dst
}

func appendSubID(dst []byte, v uint64) []byte {
	if v < 0x80 {
		return append(dst, byte(v))
	}
	n := 1
	for t := v >> 7; t > 0; t >>= 7 {
		n++
	}
	for i := n - 1; i > 0; i-- {
		dst = append(dst, byte(v>>(7*uint(i)))|0x80)
	}
	return append(dst, byte(v&0x7f))
}

// readSubID reads the base-128 sub-identifier at b[i:]. It fails when the
// encoding is truncated or the value exceeds maxSubID.
func readSubID(b []byte, i int) (v uint64, next int, ok bool) {
	for ; i < len(b); i++ {
		c := b[i]
		v = v<<7 | uint64(c&0x7f)
		if v > maxSubID {
			return 0, 0, false
		}
		if c&0x80 == 0 {
			return v, i + 1, true
		}
	}
	return 0, 0, false
}

// DecodeOID appends the arcs of BER OID content to dst. It is strict: it
// fails on an empty, truncated or non-minimal encoding, an arc above 2³²-1
// or more than MaxArcs arcs.
func DecodeOID(dst []uint32, b []byte) ([]uint32, bool) {
	if len(b) == 0 {
		return dst, false
	}
	start := len(dst)
	var v uint64
	first := true
	for i, c := range b {
		if v == 0 && c == 0x80 { // non-minimal sub-identifier
			return dst, false
		}
		v = v<<7 | uint64(c&0x7f)
		if v > maxSubID {
			return dst, false
		}
		if c&0x80 != 0 {
			if i == len(b)-1 {
				return dst, false
			}
			continue
		}
		if first {
			first = false
			switch {
			case v < 40:
				dst = append(dst, 0, uint32(v))
			case v < 80:
				dst = append(dst, 1, uint32(v-40))
			default:
				dst = append(dst, 2, uint32(v-80))
			}
		} else {
			if v > 0xFFFFFFFF {
				return dst, false
			}
			dst = append(dst, uint32(v))
		}
		v = 0
		if len(dst)-start > MaxArcs {
			return dst, false
		}
	}
	return dst, true
}

// AppendOIDText appends the dotted form (".1.3.6.1") of BER OID content to
// dst. It reads what agents send as net-snmp and gosnmp do: empty content is
// ".0.0" and non-minimal sub-identifiers are accepted; it fails on a
// truncated encoding or a sub-identifier above 2³²-1.
func AppendOIDText(dst, b []byte) ([]byte, bool) {
	if len(b) == 0 {
		return append(dst, ".0.0"...), true
	}
	v, i, ok := readSubID(b, 0)
	if !ok || v > 0xFFFFFFFF {
		return dst, false
	}
	switch {
	case v < 40:
		dst = append(dst, ".0."...)
	case v < 80:
		dst, v = append(dst, ".1."...), v-40
	default:
		dst, v = append(dst, ".2."...), v-80
	}
	return AppendSubIDsText(appendArc(dst, v), b[i:])
}

// AppendSubIDsText appends ".n" for each sub-identifier of b, the part of
// an OID's content after its first sub-identifier.
func AppendSubIDsText(dst, b []byte) ([]byte, bool) {
	for i := 0; i < len(b); {
		if c := b[i]; c < 0x80 { // most arcs are below 128
			dst = appendArc(append(dst, '.'), uint64(c))
			i++
			continue
		}
		v, next, ok := readSubID(b, i)
		if !ok || v > 0xFFFFFFFF {
			return dst, false
		}
		dst = appendArc(append(dst, '.'), v)
		i = next
	}
	return dst, true
}

const digitPairs = "00010203040506070809101112131415161718192021222324252627282930313233343536373839" +
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879" +
	"8081828384858687888990919293949596979899"

// appendArc appends v in decimal, two digits at a time; arcs are mostly
// small, and strconv's general path costs more than the rest of decoding a
// name.
func appendArc(dst []byte, v uint64) []byte {
	if v < 10 {
		return append(dst, byte('0'+v))
	}
	if v < 100 { // a column or a small index: no copy of a scratch buffer
		return append(dst, digitPairs[2*v], digitPairs[2*v+1])
	}
	var buf [20]byte
	i := len(buf)
	for v >= 100 {
		r := v % 100
		v /= 100
		i -= 2
		buf[i], buf[i+1] = digitPairs[2*r], digitPairs[2*r+1]
	}
	if v >= 10 {
		i -= 2
		buf[i], buf[i+1] = digitPairs[2*v], digitPairs[2*v+1]
	} else {
		i--
		buf[i] = byte('0' + v)
	}
	return append(dst, buf[i:]...)
}
