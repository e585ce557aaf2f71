package sim

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// maxArcs is the largest number of sub-identifiers an SNMP OID may have
// (RFC 2578 section 3.5).
const maxArcs = 128

// parseOID parses a numeric OID ("1.3.6.1", ".1.3.6.1") into arcs.
func parseOID(s string) ([]uint32, error) {
	s = strings.TrimPrefix(strings.TrimSpace(s), ".")
	if s == "" {
		return nil, errors.New("empty OID")
	}
	arcs := make([]uint32, 0, strings.Count(s, ".")+1)
	for part := range strings.SplitSeq(s, ".") {
		v, err := strconv.ParseUint(part, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("OID %q: arc %q is not a number 0-4294967295", s, part)
		}
		arcs = append(arcs, uint32(v))
	}
	if err := checkArcs(arcs); err != nil {
		return nil, fmt.Errorf("OID %q: %w", s, err)
	}
	return arcs, nil
}

// checkArcs enforces what BER can encode: at least two arcs, the first 0-2,
// the second below 40 unless the first is 2, at most maxArcs.
func checkArcs(arcs []uint32) error {
	switch {
	case len(arcs) < 2:
		return errors.New("want at least two arcs")
	case len(arcs) > maxArcs:
		return fmt.Errorf("%d arcs, at most %d allowed", len(arcs), maxArcs)
	case arcs[0] > 2:
		return errors.New("first arc must be 0, 1 or 2")
	case arcs[0] < 2 && arcs[1] >= 40:
		return errors.New("second arc must be below 40")
	case arcs[0] == 2 && arcs[1] > 0xFFFFFFFF-80:
		return errors.New("second arc too large")
	}
	return nil
}

// formatOID renders arcs as ".1.3.6.1...".
func formatOID(arcs []uint32) string {
	b := make([]byte, 0, len(arcs)*4)
	for _, a := range arcs {
		b = append(b, '.')
		b = strconv.AppendUint(b, uint64(a), 10)
	}
	return string(b)
}

// compareArcs orders OIDs lexicographically by arc, a prefix first.
func compareArcs(a, b []uint32) int {
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

// hasPrefix reports whether oid starts with prefix.
func hasPrefix(oid, prefix []uint32) bool {
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

// appendOIDContent appends the BER content octets of an OID (no tag or
// length): the first two arcs combined, then base-128 sub-identifiers.
func appendOIDContent(dst []byte, arcs []uint32) []byte {
	dst = appendSubID(dst, uint64(arcs[0])*40+uint64(arcs[1]))
	for _, a := range arcs[2:] {
		dst = appendSubID(dst, uint64(a))
	}
	return dst
}

func appendSubID(dst []byte, v uint64) []byte {
	n := 1
	for t := v >> 7; t > 0; t >>= 7 {
		n++
	}
	for i := n - 1; i > 0; i-- {
		dst = append(dst, byte(v>>(7*uint(i)))|0x80)
	}
	return append(dst, byte(v&0x7f))
}

// decodeOIDContent appends the arcs of BER OID content to dst. It fails on
// an empty or truncated encoding, an arc above 2^32-1 or too many arcs.
func decodeOIDContent(dst []uint32, b []byte) ([]uint32, bool) {
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
		if v > 0xFFFFFFFF+80 {
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
		if len(dst)-start > maxArcs {
			return dst, false
		}
	}
	return dst, true
}
