package resource

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

type tokKind uint8

const (
	tokEOF     tokKind = iota
	tokIdent           // column names and keywords
	tokString          // quoted string; val holds the unescaped text
	tokNumber          // bare number; val holds its text
	tokLParen          // (
	tokRParen          // )
	tokComma           // ,
	tokEq              // =
	tokNe              // !=
	tokOp              // an operator the language lacks, e.g. "==" or "<"
	tokIllegal         // a character that cannot start a token
	tokError           // a malformed token; err says why
)

type token struct {
	kind tokKind
	off  int    // byte offset in the expression
	raw  string // source text
	val  string // value of a string or number
	err  string // message of a tokError
}

// lexer splits an expression into tokens on demand.
type lexer struct {
	src string
	pos int
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}
func isDigit(c byte) bool { return '0' <= c && c <= '9' }
func isLetter(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_'
}

// isIdentByte reports a byte allowed after the first one of an identifier;
// . - : / let metadata keys like "snmp.sys-name" or "net:vlan/1" be written bare.
func isIdentByte(c byte) bool {
	return isLetter(c) || isDigit(c) || c == '.' || c == '-' || c == ':' || c == '/'
}

func isOpByte(c byte) bool { return c == '=' || c == '!' || c == '<' || c == '>' || c == '~' }

func (lx *lexer) next() token {
	for lx.pos < len(lx.src) && isSpace(lx.src[lx.pos]) {
		lx.pos++
	}
	start := lx.pos
	if start >= len(lx.src) {
		return token{kind: tokEOF, off: start}
	}
	c := lx.src[start]
	switch {
	case c == '(' || c == ')' || c == ',':
		lx.pos++
		kind := tokComma
		if c == '(' {
			kind = tokLParen
		} else if c == ')' {
			kind = tokRParen
		}
		return token{kind: kind, off: start, raw: lx.src[start:lx.pos]}
	case c == '"' || c == '\'':
		return lx.quoted(c)
	case isLetter(c):
		lx.pos++
		for lx.pos < len(lx.src) && isIdentByte(lx.src[lx.pos]) {
			lx.pos++
		}
		return token{kind: tokIdent, off: start, raw: lx.src[start:lx.pos]}
	case isDigit(c) || (c == '-' || c == '+') && start+1 < len(lx.src) && isDigit(lx.src[start+1]):
		return lx.number()
	case isOpByte(c):
		for lx.pos < len(lx.src) && isOpByte(lx.src[lx.pos]) {
			lx.pos++
		}
		t := token{kind: tokOp, off: start, raw: lx.src[start:lx.pos]}
		switch t.raw {
		case "=":
			t.kind = tokEq
		case "!=":
			t.kind = tokNe
		}
		return t
	default:
		_, w := utf8.DecodeRuneInString(lx.src[start:])
		lx.pos += w
		return token{kind: tokIllegal, off: start, raw: lx.src[start:lx.pos]}
	}
}

// number scans a bare number: [+-]digits[.digits]. Letters or more dots
// glued to it make it malformed rather than two tokens, so 10.0.0.1 or 5AND
// get a clear error instead of a confusing one later.
func (lx *lexer) number() token {
	start := lx.pos
	lx.pos++ // sign or first digit
	for lx.pos < len(lx.src) && isIdentByte(lx.src[lx.pos]) {
		lx.pos++
	}
	raw := lx.src[start:lx.pos]
	digits := strings.TrimLeft(raw, "+-")
	intPart, frac, hasDot := strings.Cut(digits, ".")
	if allDigits(intPart) && (!hasDot || allDigits(frac)) {
		return token{kind: tokNumber, off: start, raw: raw, val: raw}
	}
	return token{kind: tokError, off: start, raw: raw,
		err: fmt.Sprintf("malformed number %s (quote it if it is a string)", quoteShort(raw))}
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// quoted scans a string literal opened by q. Only \\, \" and \' are escapes.
func (lx *lexer) quoted(q byte) token {
	start := lx.pos
	var buf []byte // nil until the first escape
	from := start + 1
	for i := start + 1; i < len(lx.src); {
		switch c := lx.src[i]; c {
		case q:
			lx.pos = i + 1
			raw := lx.src[start:lx.pos]
			if buf == nil {
				return token{kind: tokString, off: start, raw: raw, val: lx.src[start+1 : i]}
			}
			buf = append(buf, lx.src[from:i]...)
			return token{kind: tokString, off: start, raw: raw, val: string(buf)}
		case '\\':
			if i+1 >= len(lx.src) {
				i++
				continue // reported as unterminated below
			}
			e := lx.src[i+1]
			if e != '\\' && e != '"' && e != '\'' {
				r, w := utf8.DecodeRuneInString(lx.src[i+1:])
				esc := `\` + string(r)
				if r == utf8.RuneError && w <= 1 {
					esc = fmt.Sprintf(`\ followed by byte 0x%02x`, e)
				}
				lx.pos = len(lx.src)
				return token{kind: tokError, off: i, raw: lx.src[i : i+1+w],
					err: "unknown escape " + esc + ` in string (only \\, \" and \' are escapes)`}
			}
			buf = append(buf, lx.src[from:i]...)
			buf = append(buf, e)
			i += 2
			from = i
		default:
			i++
		}
	}
	lx.pos = len(lx.src)
	return token{kind: tokError, off: start, raw: lx.src[start:],
		err: fmt.Sprintf("unterminated string: no closing %c", q)}
}

// maxDepth bounds parenthesis nesting so hostile input cannot exhaust the stack.
const maxDepth = 100

// parser is a recursive-descent parser with one token of lookahead.
type parser struct {
	lx    lexer
	tok   token
	depth int
}

func (p *parser) next() { p.tok = p.lx.next() }

func (p *parser) keyword(kw string) bool {
	return p.tok.kind == tokIdent && strings.EqualFold(p.tok.raw, kw)
}

func isKeyword(s string) bool {
	for _, kw := range [...]string{"AND", "OR", "NOT", "LIKE", "IN"} {
		if strings.EqualFold(s, kw) {
			return true
		}
	}
	return false
}

func (p *parser) errAt(off int, col, msg string) *FilterError {
	return &FilterError{Offset: off, Column: col, Msg: msg}
}

// unexpected reports the current token where `expected` should be; ctx
// (e.g. "after resource_class") prefixes the message.
func (p *parser) unexpected(col, ctx, expected string) *FilterError {
	msg := "expected " + expected + ", found " + describe(p.tok)
	if p.tok.kind == tokError {
		msg = p.tok.err
	}
	if ctx != "" {
		msg = ctx + ": " + msg
	}
	return p.errAt(p.tok.off, col, msg)
}

func describe(t token) string {
	switch t.kind {
	case tokEOF:
		return "end of expression"
	case tokString:
		return "string " + quoteShort(t.val)
	}
	return quoteShort(t.raw)
}

// quoteShort quotes s for an error message, cut to a readable length.
func quoteShort(s string) string {
	const max = 40
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		return fmt.Sprintf("%q...", s[:cut])
	}
	return fmt.Sprintf("%q", s)
}

func (p *parser) parseOr() (node, error) {
	n, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	nodes := []node{n}
	for p.keyword("OR") {
		p.next()
		if n, err = p.parseAnd(); err != nil {
			return nil, err
		}
		nodes = append(nodes, n)
	}
	return joinAny(nodes), nil
}

func (p *parser) parseAnd() (node, error) {
	n, err := p.parsePrimary()
	if err != nil {
		return nil, err
	}
	nodes := []node{n}
	for p.keyword("AND") {
		p.next()
		if n, err = p.parsePrimary(); err != nil {
			return nil, err
		}
		nodes = append(nodes, n)
	}
	return joinAll(nodes), nil
}

func (p *parser) parsePrimary() (node, error) {
	switch {
	case p.tok.kind == tokLParen:
		open := p.tok.off
		if p.depth >= maxDepth {
			return nil, p.errAt(open, "", fmt.Sprintf("parentheses nested deeper than %d", maxDepth))
		}
		p.depth++
		p.next()
		n, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		p.depth--
		switch p.tok.kind {
		case tokRParen:
			p.next()
			return n, nil
		case tokEOF:
			return nil, p.errAt(open, "", "unclosed parenthesis")
		}
		return nil, p.unexpected("", "", fmt.Sprintf(`AND, OR or ")" closing the parenthesis at offset %d`, open))
	case p.tok.kind == tokIdent && !isKeyword(p.tok.raw):
		return p.parseComparison()
	}
	return nil, p.unexpected("", "", `a column name or "("`)
}

// resolveColumn fills c.col and c.key from a column name.
func (p *parser) resolveColumn(c *comparison, t token) error {
	name := t.raw
	for i, known := range columnNames {
		if column(i) != colMetadata && strings.EqualFold(name, known) {
			c.col = column(i)
			return nil
		}
	}
	if len(name) >= len(metadataPrefix) && strings.EqualFold(name[:len(metadataPrefix)], metadataPrefix) {
		if key := name[len(metadataPrefix):]; key != "" {
			c.col, c.key = colMetadata, key
			return nil
		}
	}
	if strings.EqualFold(strings.TrimSuffix(name, "."), columnNames[colMetadata]) {
		return p.errAt(t.off, name, fmt.Sprintf("column %q needs a key: resource_metadata.<key>", name))
	}
	return p.errAt(t.off, name, fmt.Sprintf("column %q is unknown (known: %s, %s<key>)",
		name, strings.Join(columnNames[:colMetadata], ", "), metadataPrefix))
}

func (p *parser) parseComparison() (node, error) {
	c := &comparison{}
	if err := p.resolveColumn(c, p.tok); err != nil {
		return nil, err
	}
	col := c.columnName()
	p.next()
	switch {
	case p.tok.kind == tokEq:
		c.op = opEq
	case p.tok.kind == tokNe:
		c.op = opNe
	case p.keyword("LIKE"):
		c.op = opLike
	case p.keyword("IN"):
		c.op = opIn
	case p.keyword("NOT"):
		p.next()
		switch {
		case p.keyword("LIKE"):
			c.op = opNotLike
		case p.keyword("IN"):
			c.op = opNotIn
		default:
			return nil, p.unexpected(col, "after "+col+" NOT", "LIKE or IN")
		}
	default:
		return nil, p.unexpected(col, "after "+col, "=, !=, LIKE, NOT LIKE, IN or NOT IN")
	}
	p.next()
	ctx := "after " + col + " " + opNames[c.op]
	switch c.op {
	case opIn, opNotIn:
		return c, p.parseList(c, col, ctx)
	case opLike, opNotLike:
		v, err := p.parseValue(col, ctx)
		c.like = compileLike(v)
		return c, err
	default:
		v, err := p.parseValue(col, ctx)
		c.value = v
		return c, err
	}
}

func (p *parser) parseValue(col, ctx string) (string, error) {
	switch p.tok.kind {
	case tokString, tokNumber:
		v := p.tok.val
		p.next()
		return v, nil
	case tokIdent:
		e := p.unexpected(col, ctx, "a quoted string or number")
		e.Msg += ` (write "` + p.tok.raw + `" for a text value)`
		return "", e
	}
	return "", p.unexpected(col, ctx, "a quoted string or number")
}

func (p *parser) parseList(c *comparison, col, ctx string) error {
	if p.tok.kind != tokLParen {
		return p.unexpected(col, ctx, `"(" starting the list of values`)
	}
	open := p.tok.off
	p.next()
	if p.tok.kind == tokRParen {
		return p.errAt(p.tok.off, col, ctx+": empty IN list, give at least one value")
	}
	for {
		v, err := p.parseValue(col, ctx)
		if err != nil {
			return err
		}
		c.list = append(c.list, v)
		switch p.tok.kind {
		case tokComma:
			p.next()
			continue
		case tokRParen:
			p.next()
			if len(c.list) >= inSetMin {
				c.set = make(map[string]struct{}, len(c.list))
				for _, s := range c.list {
					c.set[s] = struct{}{}
				}
			}
			return nil
		case tokEOF:
			return p.errAt(open, col, ctx+": unclosed parenthesis")
		}
		return p.unexpected(col, ctx, `"," or ")"`)
	}
}
