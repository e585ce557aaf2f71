package sim

import (
	"bufio"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"

	"github.com/panoptes-go/panoptes/internal/ber"
)

// snmprec tags (the sum of the ASN.1 tag bits, as snmpsim writes them) → BER tag.
var snmprecTags = map[string]byte{
	"2": ber.TagInteger, "4": ber.TagOctetString, "5": ber.TagNull, "6": ber.TagOID,
	"64": ber.TagIPAddress, "65": ber.TagCounter32, "66": ber.TagGauge32, "67": ber.TagTimeTicks,
	"68": ber.TagOpaque, "70": ber.TagCounter64,
}

// parseSnmprec reads snmpsim's "OID|TAG|VALUE" lines. A tag may end in "x"
// (hex value) or "e" (Python-escaped value). A tag with a variation module
// ("2:delay") is served as a static value taken from the module's "value="
// or "hexvalue=" option, with a warning; a record without either is
// skipped. Malformed lines fail the load, naming the line.
func parseSnmprec(rd io.Reader, b *builder) error {
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 64*1024), 16<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r\n")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		oidStr, rest, ok1 := strings.Cut(line, "|")
		tag, value, ok2 := strings.Cut(rest, "|")
		if !ok1 || !ok2 {
			return fmt.Errorf("line %d: want OID|TAG|VALUE, got %q", n, clip(line))
		}
		arcs, err := ber.ParseOID(oidStr)
		if err != nil {
			return fmt.Errorf("line %d: %w", n, err)
		}
		if t, module, ok := strings.Cut(tag, ":"); ok {
			v, hexv, found := variationValue(value)
			if !found {
				b.warnf("line %d: %s: variation module %q has no value= or hexvalue=; record skipped", n, oidStr, module)
				continue
			}
			b.warnf("line %d: %s: variation module %q ignored, serving its value statically", n, oidStr, module)
			tag, value = t, v
			if hexv {
				tag = strings.TrimSuffix(t, "x") + "x"
			}
		}
		enc := byte(0)
		if strings.HasSuffix(tag, "x") || strings.HasSuffix(tag, "e") {
			enc = tag[len(tag)-1]
			tag = tag[:len(tag)-1]
		}
		berTag, ok := snmprecTags[tag]
		if !ok {
			if tag == "128" || tag == "129" || tag == "130" {
				b.warnf("line %d: %s: exception tag %s (noSuchObject/noSuchInstance/endOfMibView) skipped", n, oidStr, tag)
				continue
			}
			return fmt.Errorf("line %d: unknown tag %q (known: 2, 4, 5, 6, 64, 65, 66, 67, 68, 70, with an optional x or e suffix)", n, tag)
		}
		var raw []byte
		switch enc {
		case 'x':
			raw, err = hex.DecodeString(strings.TrimSpace(value))
			if err != nil {
				return fmt.Errorf("line %d: %s: tag %sx: value is not hex: %v", n, oidStr, tag, err)
			}
		case 'e':
			raw, err = unescapePython(value)
			if err != nil {
				return fmt.Errorf("line %d: %s: tag %se: %v", n, oidStr, tag, err)
			}
		}
		content, err := encodeTyped(berTag, value, raw, enc != 0)
		if err != nil {
			return fmt.Errorf("line %d: %s: %w", n, oidStr, err)
		}
		b.add(arcs, berTag, content, n)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read: %w", err)
	}
	return nil
}

// variationValue extracts "value=" or "hexvalue=" from a variation module's
// comma-separated options.
func variationValue(opts string) (value string, isHex, ok bool) {
	for kv := range strings.SplitSeq(opts, ",") {
		k, v, _ := strings.Cut(kv, "=")
		switch strings.TrimSpace(k) {
		case "hexvalue":
			return v, true, true
		case "value":
			value, ok = v, true
		}
	}
	return value, false, ok
}

// encodeTyped turns a textual value (or raw octets, when given) into BER
// content for tag.
func encodeTyped(tag byte, text string, raw []byte, isRaw bool) ([]byte, error) {
	switch tag {
	case ber.TagOctetString, ber.TagOpaque:
		if isRaw {
			return raw, nil
		}
		return []byte(text), nil
	case ber.TagNull:
		return nil, nil
	case ber.TagIPAddress:
		if isRaw {
			if len(raw) != 4 {
				return nil, fmt.Errorf("IpAddress: want 4 octets, got %d", len(raw))
			}
			return raw, nil
		}
		a, err := netip.ParseAddr(strings.TrimSpace(text))
		if err != nil || !a.Is4() {
			return nil, fmt.Errorf("IpAddress: want a dotted IPv4 address, got %q", clip(text))
		}
		ip := a.As4()
		return ip[:], nil
	}
	if isRaw { // numbers and OIDs given in hex are their BER content
		return raw, nil
	}
	text = strings.TrimSpace(text)
	switch tag {
	case ber.TagInteger:
		v, err := strconv.ParseInt(text, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("Integer32: want -2147483648..2147483647, got %q", clip(text))
		}
		return ber.AppendInt(nil, ber.TagInteger, v)[2:], nil
	case ber.TagCounter32, ber.TagGauge32, ber.TagTimeTicks:
		v, err := strconv.ParseUint(text, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("%s: want 0..4294967295, got %q", tagName(tag), clip(text))
		}
		return ber.AppendUint(nil, tag, v)[2:], nil
	case ber.TagCounter64:
		v, err := strconv.ParseUint(text, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("Counter64: want 0..18446744073709551615, got %q", clip(text))
		}
		return ber.AppendUint(nil, tag, v)[2:], nil
	case ber.TagOID:
		arcs, err := ber.ParseOID(text)
		if err != nil {
			return nil, err
		}
		return ber.AppendOID(nil, arcs), nil
	}
	return nil, fmt.Errorf("unsupported tag 0x%02x", tag)
}

func tagName(tag byte) string {
	switch tag {
	case ber.TagInteger:
		return "INTEGER"
	case ber.TagOctetString:
		return "OCTET STRING"
	case ber.TagNull:
		return "NULL"
	case ber.TagOID:
		return "OID"
	case ber.TagIPAddress:
		return "IpAddress"
	case ber.TagCounter32:
		return "Counter32"
	case ber.TagGauge32:
		return "Gauge32"
	case ber.TagTimeTicks:
		return "TimeTicks"
	case ber.TagOpaque:
		return "Opaque"
	case ber.TagCounter64:
		return "Counter64"
	}
	return fmt.Sprintf("tag 0x%02x", tag)
}

// unescapePython undoes the escapes snmpsim writes for "e" values:
// \\ \' \" \a \b \f \n \r \t \v and \xHH.
func unescapePython(s string) ([]byte, error) {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		if i >= len(s) {
			return nil, errors.New("value ends in a lone backslash")
		}
		switch s[i] {
		case '\\', '\'', '"':
			out = append(out, s[i])
		case 'a':
			out = append(out, 7)
		case 'b':
			out = append(out, 8)
		case 'f':
			out = append(out, 12)
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'v':
			out = append(out, 11)
		case 'x':
			if i+3 > len(s) {
				return nil, errors.New(`truncated \x escape`)
			}
			v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
			if err != nil {
				return nil, fmt.Errorf(`bad \x escape %q`, s[i-1:i+3])
			}
			out = append(out, byte(v))
			i += 2
		default:
			return nil, fmt.Errorf(`unknown escape \%c`, s[i])
		}
	}
	return out, nil
}

// clip shortens a value quoted in an error.
func clip(s string) string {
	if len(s) > 60 {
		return s[:57] + "..."
	}
	return s
}
