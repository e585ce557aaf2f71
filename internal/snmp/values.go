package snmp

import (
	"bytes"
	"encoding/binary"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gosnmp/gosnmp"
)

// Readers of varbind values: the one place that knows which Go value each
// SNMP type decodes to (both decoders give the same: INTEGER int, Counter32
// and Gauge32 uint, TimeTicks and Unsigned32 uint32, Counter64 uint64,
// OCTET STRING []byte, OID and IpAddress string, Opaque float32, float64 or
// []byte, nil for NULL and the exceptions). They take a pointer so that a
// loop over a response copies nothing, and allocate nothing unless said.

// Uint reads an integer value (Counter32/64, Gauge32, TimeTicks,
// Unsigned32, INTEGER) as a uint64; ok is false for a negative INTEGER and
// for values that are not integers.
func Uint(vb *Varbind) (uint64, bool) {
	switch v := vb.Value.(type) {
	case uint:
		return uint64(v), true
	case uint64:
		return v, true
	case uint32:
		return uint64(v), true
	case int:
		return uint64(v), v >= 0
	case int64:
		return uint64(v), v >= 0
	case int32:
		return uint64(v), v >= 0
	}
	return 0, false
}

// Int reads an integer value as an int64; ok is false for values that are
// not integers and for a Counter64 above math.MaxInt64.
func Int(vb *Varbind) (int64, bool) {
	switch v := vb.Value.(type) {
	case int:
		return int64(v), true
	case uint:
		if uint64(v) > math.MaxInt64 {
			return 0, false
		}
		return int64(v), true
	case uint32:
		return int64(v), true
	case uint64:
		if v > math.MaxInt64 {
			return 0, false
		}
		return int64(v), true
	case int64:
		return v, true
	case int32:
		return int64(v), true
	}
	return 0, false
}

// Ticks reads a TimeTicks value (sysUpTime, ifTableLastChange) in
// hundredths of a second; ok is false for any other type.
func Ticks(vb *Varbind) (uint32, bool) {
	if vb.Type != gosnmp.TimeTicks {
		return 0, false
	}
	v, ok := Uint(vb)
	return uint32(v), ok
}

// Float reads an Opaque float or double.
func Float(vb *Varbind) (float64, bool) {
	switch v := vb.Value.(type) {
	case float32:
		return float64(v), true
	case float64:
		return v, true
	}
	return 0, false
}

// Octets returns the octets of an OCTET STRING or Opaque value, whatever
// the varbind's type says. The slice is the varbind's own: read it, do not
// keep or change it. A string value (an OID or IpAddress) is copied.
func Octets(vb *Varbind) ([]byte, bool) {
	switch v := vb.Value.(type) {
	case []byte:
		return v, true
	case string:
		return []byte(v), true
	}
	return nil, false
}

// Text reads an OCTET STRING as text: trailing NULs some agents pad with
// are cut and invalid UTF-8 is replaced with U+FFFD, so that JSON stays
// valid. ok is false for other types. It allocates the string.
func Text(vb *Varbind) (string, bool) {
	b, ok := TextBytes(vb)
	if !ok {
		return "", false
	}
	return string(b), true
}

// TextBytes is Text without the string: when the value is valid UTF-8 the
// slice is the varbind's own (read it, do not keep or change it), else a
// corrected copy.
func TextBytes(vb *Varbind) ([]byte, bool) {
	if vb.Type != gosnmp.OctetString {
		return nil, false
	}
	var b []byte
	switch v := vb.Value.(type) {
	case []byte:
		b = v
	case string:
		b = []byte(v)
	default:
		return nil, false
	}
	b = bytes.TrimRight(b, "\x00")
	if !utf8.Valid(b) {
		b = bytes.ToValidUTF8(b, []byte("\uFFFD"))
	}
	return b, true
}

// OID reads an OBJECT IDENTIFIER value in numeric form with a leading dot.
func OID(vb *Varbind) (string, bool) {
	if vb.Type != gosnmp.ObjectIdentifier {
		return "", false
	}
	s, ok := vb.Value.(string)
	if !ok {
		return "", false
	}
	if !strings.HasPrefix(s, ".") {
		s = "." + s
	}
	return s, true
}

// IPAddress reads an IpAddress value as text (dotted IPv4).
func IPAddress(vb *Varbind) (string, bool) {
	if vb.Type != gosnmp.IPAddress {
		return "", false
	}
	s, ok := vb.Value.(string)
	return s, ok
}

// InetAddress renders the octets of an InetAddress (INET-ADDRESS-MIB): a
// dotted IPv4 or an IPv6 address, with "%zone" for the zoned forms (ipv4z,
// ipv6z: a 4-octet zone index after the address). ok is false for other
// sizes.
func InetAddress(b []byte) (string, bool) {
	switch len(b) {
	case 4, 16:
		a, _ := netip.AddrFromSlice(b)
		return a.String(), true
	case 8, 20:
		n := len(b) - 4
		a, _ := netip.AddrFromSlice(b[:n])
		return a.String() + "%" + strconv.FormatUint(uint64(binary.BigEndian.Uint32(b[n:])), 10), true
	}
	return "", false
}

// IndexInts splits a row index ("1.22.0", the OID after a column) into its
// sub-identifiers; nil when it is empty or a part is not a 32-bit number.
func IndexInts(index string) []int {
	if index == "" {
		return nil
	}
	out := make([]int, strings.Count(index, ".")+1)
	for i := range out {
		var part string
		part, index, _ = strings.Cut(index, ".")
		v, err := strconv.ParseUint(part, 10, 32)
		if err != nil {
			return nil
		}
		out[i] = int(v)
	}
	return out
}
