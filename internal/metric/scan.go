package metric

import (
	"strconv"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"github.com/panoptes-go/panoptes/internal/resource"
)

// This file is the byte-level half of the hand-written decoder (decode.go is
// the schema half). It accepts exactly the JSON that encoding/json accepts
// (RFC 8259, nesting up to 10000 levels) so that Decode keeps the semantics
// of json.Unmarshal; FuzzDecode holds the two in step.

// maxDepth is encoding/json's nesting limit.
const maxDepth = 10000

// DecodeError says what is wrong with a message and where.
type DecodeError struct {
	Msg    string
	Offset int
}

func (e *DecodeError) Error() string { return e.Msg + " at offset " + strconv.Itoa(e.Offset) }

type decoder struct {
	data  []byte
	off   int
	depth int
	// scratch holds unescaped keys; it never reaches the caller.
	scratch [64]byte

	// view is Validate's mode (validate.go): every byte is checked as in
	// a decode, but no value outlives the call. Strings alias data (an
	// escaped one is still copied); what no rule of Group.Validate reads
	// is checked without being stored (floats, resource_metadata,
	// resource_plugin, dimension_value); the resource is res (hasRes: *p
	// would be non-nil); array elements are judged one by one into metrics
	// and dims instead of being kept.
	view          bool
	hasRes        bool
	res           resource.Resource
	metrics, dims elemCheck
}

func (d *decoder) errAt(off int, msg string) error { return &DecodeError{Msg: msg, Offset: off} }

// errChar reports the byte at d.off, or the end of input.
func (d *decoder) errChar(context string) error {
	if d.off >= len(d.data) {
		return d.errAt(d.off, "unexpected end of JSON input")
	}
	return d.errAt(d.off, "invalid character "+quoteChar(d.data[d.off])+" "+context)
}

func quoteChar(c byte) string {
	if c == '\'' {
		return `'\''`
	}
	if c == '"' {
		return `'"'`
	}
	s := strconv.Quote(string(rune(c)))
	return "'" + s[1:len(s)-1] + "'"
}

func (d *decoder) skipWS() {
	for d.off < len(d.data) {
		switch d.data[d.off] {
		case ' ', '\t', '\n', '\r':
			d.off++
		default:
			return
		}
	}
}

// peek skips whitespace and returns the next byte, or 0 at the end.
func (d *decoder) peek() byte {
	d.skipWS()
	if d.off < len(d.data) {
		return d.data[d.off]
	}
	return 0
}

// enter consumes '{' or '[' and counts the nesting.
func (d *decoder) enter() error {
	d.depth++
	if d.depth > maxDepth {
		return d.errAt(d.off, "exceeded max depth")
	}
	d.off++
	return nil
}

// nextKey advances to the next member of an object whose '{' was consumed
// and returns its unescaped key (valid until the next key is read) with
// d.off at the member's value; done reports the closing '}'.
func (d *decoder) nextKey(first bool) (key []byte, done bool, err error) {
	c := d.peek()
	if c == '}' {
		d.off++
		d.depth--
		return nil, true, nil
	}
	if !first {
		if c != ',' {
			return nil, false, d.errChar("after object key:value pair")
		}
		d.off++
		c = d.peek()
	}
	if c != '"' {
		return nil, false, d.errChar("looking for beginning of object key string")
	}
	raw, simple, err := d.scanString()
	if err != nil {
		return nil, false, err
	}
	key = raw
	if !simple {
		key = unquote(d.scratch[:0], raw)
	}
	if d.peek() != ':' {
		return nil, false, d.errChar("after object key")
	}
	d.off++
	d.skipWS()
	return key, false, nil
}

// nextElem advances to the next element of an array whose '[' was consumed;
// done reports the closing ']'.
func (d *decoder) nextElem(first bool) (done bool, err error) {
	c := d.peek()
	if c == ']' {
		d.off++
		d.depth--
		return true, nil
	}
	if !first {
		if c != ',' {
			return false, d.errChar("after array element")
		}
		d.off++
		d.skipWS()
	}
	return false, nil
}

// plainByte marks string bytes that need no attention.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// scanString validates the string at d.off and returns its bytes between
// the quotes; simple means they are the value as is (no escapes, valid UTF-8).
func (d *decoder) scanString() (raw []byte, simple bool, err error) {
	start := d.off + 1
	i := start
	data := d.data
	escaped, high := false, false
	for {
		for i < len(data) && plainByte[data[i]] {
			i++
		}
		if i >= len(data) {
			d.off = i
			return nil, false, d.errAt(i, "unexpected end of JSON input")
		}
		switch c := data[i]; {
		case c == '"':
			d.off = i + 1
			raw = data[start:i]
			if high && !utf8.Valid(raw) {
				escaped = true
			}
			return raw, !escaped, nil
		case c == '\\':
			escaped = true
			i++
			if i >= len(data) {
				return nil, false, d.errAt(i, "unexpected end of JSON input")
			}
			switch data[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				i++
				for k := 0; k < 4; k++ {
					if i >= len(data) {
						return nil, false, d.errAt(i, "unexpected end of JSON input")
					}
					if hexVal(data[i]) < 0 {
						d.off = i
						return nil, false, d.errChar("in \\u hexadecimal character escape")
					}
					i++
				}
			default:
				d.off = i
				return nil, false, d.errChar("in string escape code")
			}
		case c < 0x20:
			d.off = i
			return nil, false, d.errChar("in string literal")
		default: // non-ASCII
			high = true
			i++
		}
	}
}

func hexVal(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c - 'a' + 10)
	case 'A' <= c && c <= 'F':
		return int(c - 'A' + 10)
	}
	return -1
}

// getu4 decodes \uXXXX at the start of s, or returns -1.
func getu4(s []byte) rune {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range s[2:6] {
		v := hexVal(c)
		if v < 0 {
			return -1
		}
		r = r*16 + rune(v)
	}
	return r
}

// unquote appends the value of validated string bytes s to b exactly as
// encoding/json does: bad surrogates and invalid UTF-8 become U+FFFD.
func unquote(b, s []byte) []byte {
	for r := 0; r < len(s); {
		c := s[r]
		switch {
		case c == '\\':
			r++
			switch s[r] {
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				rr := getu4(s[r-1:])
				r += 5
				if utf16.IsSurrogate(rr) {
					if dec := utf16.DecodeRune(rr, getu4(s[r:])); dec != unicode.ReplacementChar {
						r += 6
						b = utf8.AppendRune(b, dec)
						continue
					}
					rr = unicode.ReplacementChar
				}
				b = utf8.AppendRune(b, rr)
				continue
			default: // '"', '\\', '/'
				b = append(b, s[r])
			}
			r++
		case c < utf8.RuneSelf:
			b = append(b, c)
			r++
		default:
			rr, size := utf8.DecodeRune(s[r:])
			r += size
			b = utf8.AppendRune(b, rr)
		}
	}
	return b
}

// unlessView is p, or nil (check only) in view mode: for values no rule
// of Group.Validate reads.
func (d *decoder) unlessView(p *string) *string {
	if d.view {
		return nil
	}
	return p
}

// readString reads the string at d.off as a new Go string (in view mode,
// one that aliases data unless it holds escapes).
func (d *decoder) readString() (string, error) {
	raw, simple, err := d.scanString()
	if err != nil {
		return "", err
	}
	if simple {
		if d.view {
			return unsafe.String(unsafe.SliceData(raw), len(raw)), nil
		}
		return string(raw), nil
	}
	var buf [128]byte
	return string(unquote(buf[:0], raw)), nil
}

// scanNumber validates the JSON number at d.off and returns its text;
// integer reports that it has no fraction or exponent.
func (d *decoder) scanNumber() (num []byte, integer bool, err error) {
	data, start, i := d.data, d.off, d.off
	digits := func() bool {
		n := i
		for i < len(data) && '0' <= data[i] && data[i] <= '9' {
			i++
		}
		return i > n
	}
	fail := func() error {
		d.off = i
		if i >= len(data) {
			return d.errAt(i, "unexpected end of JSON input")
		}
		return d.errChar("in numeric literal")
	}
	if i < len(data) && data[i] == '-' {
		i++
	}
	if i < len(data) && data[i] == '0' {
		i++
	} else if i >= len(data) || data[i] < '1' || data[i] > '9' {
		return nil, false, fail()
	} else {
		digits()
	}
	integer = true
	if i < len(data) && data[i] == '.' {
		integer = false
		i++
		if !digits() {
			return nil, false, fail()
		}
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		integer = false
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if !digits() {
			return nil, false, fail()
		}
	}
	d.off = i
	return data[start:i], integer, nil
}

// literal consumes the literal word (true, false, null) at d.off.
func (d *decoder) literal(word string) error {
	for k := 0; k < len(word); k++ {
		if d.off >= len(d.data) {
			return d.errAt(d.off, "unexpected end of JSON input")
		}
		if d.data[d.off] != word[k] {
			return d.errChar("in literal " + word + " (expecting " + quoteChar(word[k]) + ")")
		}
		d.off++
	}
	return nil
}

// skipValue validates and skips any JSON value at d.off.
func (d *decoder) skipValue() error {
	if d.off >= len(d.data) {
		return d.errAt(d.off, "unexpected end of JSON input")
	}
	switch c := d.data[d.off]; c {
	case '{':
		if err := d.enter(); err != nil {
			return err
		}
		for first := true; ; first = false {
			_, done, err := d.nextKey(first)
			if err != nil {
				return err
			}
			if done {
				return nil
			}
			if err := d.skipValue(); err != nil {
				return err
			}
		}
	case '[':
		if err := d.enter(); err != nil {
			return err
		}
		for first := true; ; first = false {
			done, err := d.nextElem(first)
			if err != nil {
				return err
			}
			if done {
				return nil
			}
			if err := d.skipValue(); err != nil {
				return err
			}
		}
	case '"':
		_, _, err := d.scanString()
		return err
	case 't':
		return d.literal("true")
	case 'f':
		return d.literal("false")
	case 'n':
		return d.literal("null")
	default:
		if c == '-' || '0' <= c && c <= '9' {
			_, _, err := d.scanNumber()
			return err
		}
		return d.errChar("looking for beginning of value")
	}
}

// foldName folds a key the way encoding/json matches field names case
// insensitively (ASCII upper case, smallest rune of each Unicode fold set).
func foldName(out, in []byte) []byte {
	for i := 0; i < len(in); {
		if c := in[i]; c < utf8.RuneSelf {
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			out = append(out, c)
			i++
			continue
		}
		r, n := utf8.DecodeRune(in[i:])
		for {
			r2 := unicode.SimpleFold(r)
			if r2 <= r {
				r = r2
				break
			}
			r = r2
		}
		out = utf8.AppendRune(out, r)
		i += n
	}
	return out
}

// foldIndex returns the index of the name in folded that key matches case
// insensitively, or -1.
func foldIndex(key []byte, folded []string) int {
	var buf [64]byte
	f := foldName(buf[:0], key)
	for i, name := range folded {
		if string(f) == name {
			return i
		}
	}
	return -1
}

func foldAll(names ...string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = string(foldName(nil, []byte(n)))
	}
	return out
}
