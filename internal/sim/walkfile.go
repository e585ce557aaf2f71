package sim

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/panoptes-go/panoptes/internal/ber"
)

// parseWalk reads net-snmp snmpwalk output recorded with numeric OIDs
// (snmpwalk -On; "iso.3.6..." also works): "OID = TYPE: VALUE" lines, where
// quoted strings and Hex-STRINGs may continue over several lines. Types:
// INTEGER (also "up(1)", "60 seconds"), STRING, Hex-STRING, OID, IpAddress,
// Network Address, Counter32, Gauge32, Unsigned32, Timeticks, Counter64,
// Opaque (hex, Float:, Double:), BITS, NULL and "" (empty string). "No Such
// ..." and "No more variables" lines are skipped. A value without a type is
// TimeTicks, as snmpsim reads it.
func parseWalk(rd io.Reader, b *builder) error {
	br := bufio.NewReaderSize(rd, 64*1024)
	var cur *walkRec
	flush := func() error {
		if cur == nil {
			return nil
		}
		r := cur
		cur = nil
		return r.emit(b)
	}
	for n := 1; ; n++ {
		raw, err := br.ReadString('\n')
		if raw == "" && err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return fmt.Errorf("read: %w", err)
		}
		// Keep a CR: inside a multi-line STRING it is the device's CRLF.
		line := strings.TrimSuffix(raw, "\n")
		if oid, rest, ok := recordStart(line); ok {
			if err := flush(); err != nil {
				return err
			}
			cur = &walkRec{line: n, oid: oid, rest: rest}
			continue
		}
		switch {
		case cur != nil && cur.openString():
			cur.rest += "\n" + line
		case cur != nil && cur.hexContinues(line):
			cur.rest += " " + strings.TrimSpace(line)
		case strings.TrimSpace(line) == "" || strings.HasPrefix(line, "End of MIB") || strings.HasPrefix(line, "#"):
		default:
			return fmt.Errorf("line %d: not an snmpwalk line %q (record with snmpwalk -On)", n, clip(strings.TrimRight(line, "\r")))
		}
	}
	return flush()
}

// recordStart splits "OID = rest" when line begins with a numeric OID.
func recordStart(line string) (oid, rest string, ok bool) {
	oid, rest, ok = strings.Cut(line, " = ")
	if !ok {
		if o, found := strings.CutSuffix(line, " ="); found {
			oid, rest, ok = o, "", true
		} else {
			return "", "", false
		}
	}
	for _, p := range [][2]string{{"iso.", "1."}, {"ccitt.", "0."}, {"joint-iso-ccitt.", "2."}} {
		if strings.HasPrefix(oid, p[0]) {
			oid = p[1] + oid[len(p[0]):]
		}
	}
	o := strings.TrimPrefix(oid, ".")
	if o == "" {
		return "", "", false
	}
	for _, c := range o {
		if c != '.' && (c < '0' || c > '9') {
			return "", "", false
		}
	}
	return o, rest, true
}

type walkRec struct {
	line      int
	oid, rest string
}

// openString: a quoted STRING whose closing quote has not come yet.
func (w *walkRec) openString() bool {
	v, ok := strings.CutPrefix(strings.TrimRight(w.rest, "\r"), "STRING: ")
	if !ok || !strings.HasPrefix(v, `"`) {
		return false
	}
	v = v[1:]
	if !strings.HasSuffix(v, `"`) {
		return true
	}
	// a closing quote counts unless escaped by an odd number of backslashes
	bs := 0
	for i := len(v) - 2; i >= 0 && v[i] == '\\'; i-- {
		bs++
	}
	return bs%2 == 1
}

// hexContinues: line is more hex octets of a Hex-STRING, BITS or Opaque.
func (w *walkRec) hexContinues(line string) bool {
	if !strings.HasPrefix(w.rest, "Hex-STRING:") && !strings.HasPrefix(w.rest, "BITS:") && !strings.HasPrefix(w.rest, "Opaque:") {
		return false
	}
	f := strings.Fields(line)
	if len(f) == 0 {
		return false
	}
	for _, x := range f {
		if len(x) != 2 || !isHex(x[0]) || !isHex(x[1]) {
			return false
		}
	}
	return true
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func (w *walkRec) emit(b *builder) error {
	fail := func(format string, a ...any) error {
		return fmt.Errorf("line %d: %s: %s", w.line, w.oid, fmt.Sprintf(format, a...))
	}
	arcs, err := ber.ParseOID(w.oid)
	if err != nil {
		return fmt.Errorf("line %d: %w", w.line, err)
	}
	rest := strings.TrimRight(w.rest, "\r")
	if strings.HasPrefix(rest, "Wrong Type (should be ") {
		if i := strings.Index(rest, "): "); i > 0 {
			rest = rest[i+3:]
		}
	}
	if strings.HasPrefix(rest, "No Such ") || strings.HasPrefix(rest, "No more variables") {
		return nil
	}
	switch rest {
	case `""`:
		b.add(arcs, ber.TagOctetString, nil, w.line)
		return nil
	case "NULL":
		b.add(arcs, ber.TagNull, nil, w.line)
		return nil
	}
	typ, val, ok := strings.Cut(rest, ": ")
	if !ok {
		if t, found := strings.CutSuffix(rest, ":"); found { // "STRING:" with an empty value
			typ, val = t, ""
		} else {
			typ, val = "Timeticks", rest
		}
	}
	val = strings.TrimSpace(val)
	add := func(tag byte, content []byte) error {
		b.add(arcs, tag, content, w.line)
		return nil
	}
	switch strings.ToUpper(typ) {
	case "INTEGER":
		n, err := leadingInt(val)
		if err != nil || n < math.MinInt32 || n > math.MaxInt32 {
			return fail("INTEGER: want a 32-bit number, got %q", clip(val))
		}
		return add(ber.TagInteger, ber.AppendInt(nil, ber.TagInteger, n)[2:])
	case "STRING":
		return add(ber.TagOctetString, []byte(unquoteNetSNMP(val)))
	case "HEX-STRING", "BITS":
		h, err := hexOctets(val, typ == "BITS")
		if err != nil {
			return fail("%s: %v", typ, err)
		}
		return add(ber.TagOctetString, h)
	case "OPAQUE":
		c, err := opaqueContent(val)
		if err != nil {
			return fail("Opaque: %v", err)
		}
		return add(ber.TagOpaque, c)
	case "OID":
		if o, _, ok := recordStart(val + " = x"); ok {
			val = o
		}
		c, err := encodeTyped(ber.TagOID, val, nil, false)
		if err != nil {
			return fail("OID value %q: %v (record with snmpwalk -On)", clip(val), err)
		}
		return add(ber.TagOID, c)
	case "IPADDRESS":
		c, err := encodeTyped(ber.TagIPAddress, val, nil, false)
		if err != nil {
			return fail("%v", err)
		}
		return add(ber.TagIPAddress, c)
	case "NETWORK ADDRESS":
		h, err := hex.DecodeString(strings.ReplaceAll(val, ":", ""))
		if err != nil || len(h) != 4 {
			return fail("Network Address: want 4 hex octets, got %q", clip(val))
		}
		return add(ber.TagIPAddress, h)
	case "COUNTER32", "GAUGE32", "UNSIGNED32", "TIMETICKS", "COUNTER64":
		tag := map[string]byte{"COUNTER32": ber.TagCounter32, "GAUGE32": ber.TagGauge32, "UNSIGNED32": ber.TagGauge32,
			"TIMETICKS": ber.TagTimeTicks, "COUNTER64": ber.TagCounter64}[strings.ToUpper(typ)]
		if i, j := strings.IndexByte(val, '('), strings.IndexByte(val, ')'); tag == ber.TagTimeTicks && i >= 0 && j > i {
			val = val[i+1 : j]
		}
		n, err := leadingInt(val)
		if err != nil || n < 0 || (tag != ber.TagCounter64 && n > math.MaxUint32) {
			if u, err2 := strconv.ParseUint(strings.Fields(val + " x")[0], 10, 64); err2 == nil && tag == ber.TagCounter64 {
				return add(tag, ber.AppendUint(nil, tag, u)[2:])
			}
			return fail("%s: want an unsigned number, got %q", typ, clip(val))
		}
		return add(tag, ber.AppendUint(nil, tag, uint64(n))[2:])
	}
	return fail("unknown type %q", typ)
}

// leadingInt reads "6", "up(1)" (the number in parentheses) or "60 seconds".
func leadingInt(s string) (int64, error) {
	if i, j := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')'); i >= 0 && j > i {
		return strconv.ParseInt(s[i+1:j], 10, 64)
	}
	if f := strings.Fields(s); len(f) > 0 {
		return strconv.ParseInt(f[0], 10, 64)
	}
	return 0, errors.New("empty")
}

// unquoteNetSNMP strips the quotes net-snmp puts around a STRING and undoes
// its \" and \\ escapes.
func unquoteNetSNMP(v string) string {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return v
	}
	v = v[1 : len(v)-1]
	if !strings.Contains(v, `\`) {
		return v
	}
	var sb strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] == '\\' && i+1 < len(v) && (v[i+1] == '"' || v[i+1] == '\\') {
			i++
		}
		sb.WriteByte(v[i])
	}
	return sb.String()
}

// hexOctets reads "43 69 73" (BITS: stops at the first non-hex token, the
// bit names net-snmp appends).
func hexOctets(v string, lenient bool) ([]byte, error) {
	var out []byte
	for _, f := range strings.Fields(v) {
		if len(f) != 2 || !isHex(f[0]) || !isHex(f[1]) {
			if lenient {
				break
			}
			return nil, fmt.Errorf("want hex octets, got %q", clip(f))
		}
		c, _ := strconv.ParseUint(f, 16, 8)
		out = append(out, byte(c))
	}
	return out, nil
}

// opaqueContent reads net-snmp's Opaque forms: hex octets, or "Float: 1.5"
// and "Double: 1.5", which it encodes as the opaque-wrapped ASN.1 float
// (9F 78) and double (9F 79).
func opaqueContent(v string) ([]byte, error) {
	for _, p := range []struct {
		prefix string
		tag    byte
	}{{"Float: ", 0x78}, {"Double: ", 0x79}} {
		s, ok := strings.CutPrefix(v, p.prefix)
		if !ok {
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return nil, fmt.Errorf("bad %s%q", p.prefix, s)
		}
		if p.tag == 0x78 {
			return binary.BigEndian.AppendUint32([]byte{0x9f, 0x78, 4}, math.Float32bits(float32(f))), nil
		}
		return binary.BigEndian.AppendUint64([]byte{0x9f, 0x79, 8}, math.Float64bits(f)), nil
	}
	return hexOctets(v, false)
}
