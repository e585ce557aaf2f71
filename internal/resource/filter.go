package resource

import (
	"fmt"
	"strings"
)

// Filter selects resources with Panoptes' resource filter language, e.g.
//
//	resource_class = "network" AND resource_metadata.model LIKE "%3750%"
//
// Grammar (keywords and column names are case-insensitive):
//
//	expr       = and { OR and }
//	and        = primary { AND primary }
//	primary    = "(" expr ")" | comparison
//	comparison = column ( "=" | "!=" | LIKE | NOT LIKE ) value
//	           | column ( IN | NOT IN ) "(" value { "," value } ")"
//	column     = resource_site | resource_class | resource_subclass | resource_type
//	           | resource_id | resource_endpoint | resource_metadata.<key>
//	value      = "double quoted" | 'single quoted' | bare number (12, -3, 4.5)
//
// AND binds tighter than OR. Inside a string, \" \' and \\ stand for the
// quote or backslash; any other backslash escape is an error. A bare number
// is the same as its quoted text (7 and "7" are equal, 7.0 and 7 are not).
//
// Semantics follow the SQLite queries Panoptes ran:
//   - = and != compare exactly (case-sensitive), IN is a list of = tests.
//   - LIKE is case-insensitive for ASCII letters only (SQLite's default);
//     % matches any run of characters, _ exactly one (UTF-8) character, and
//     there is no escape character, so % and _ are always wildcards.
//   - A metadata key is case-sensitive, may contain letters, digits and
//     _ - . : / and compares as the empty string when the resource lacks it:
//     resource_metadata.model = "x" is false and != "x" is true for a
//     resource without "model"; = "" is true.
//
// The zero Filter, a nil *Filter and a filter parsed from an empty expression
// match every resource. A Filter is immutable and safe for concurrent use.
type Filter struct {
	root node // nil: match everything
	text string
}

// ParseFilter parses a filter expression. An empty or all-whitespace
// expression matches every resource. Errors are *FilterError values that say
// what was expected, where (byte offset) and which column was involved.
func ParseFilter(expr string) (*Filter, error) {
	p := parser{lx: lexer{src: expr}}
	p.next()
	if p.tok.kind == tokEOF {
		return &Filter{}, nil
	}
	root, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if p.tok.kind == tokRParen {
		return nil, p.errAt(p.tok.off, "", `found ")" without a matching "("`)
	}
	if p.tok.kind != tokEOF {
		return nil, p.unexpected("", "", "AND, OR or end of expression")
	}
	var b strings.Builder
	writeNode(&b, root, false)
	return &Filter{root: root, text: b.String()}, nil
}

// MustParseFilter is ParseFilter for constants and tests: it panics on error.
func MustParseFilter(expr string) *Filter {
	f, err := ParseFilter(expr)
	if err != nil {
		panic(err)
	}
	return f
}

// zeroResource stands in for a nil *Resource, so Match never dereferences nil.
var zeroResource Resource

// Match reports whether r satisfies the filter. A nil r is matched as a
// resource whose fields are all empty. Match does not allocate.
func (f *Filter) Match(r *Resource) bool {
	if f == nil || f.root == nil {
		return true
	}
	if r == nil {
		r = &zeroResource
	}
	return f.root.match(r)
}

// String returns the normalized expression: lower-case columns, upper-case
// keywords, double-quoted values, single spaces and only the parentheses
// that precedence needs. ParseFilter(f.String()) yields an equivalent filter
// with the same String.
func (f *Filter) String() string {
	if f == nil {
		return ""
	}
	return f.text
}

// FilterError is a syntax or column error in a filter expression.
type FilterError struct {
	Offset int    // byte offset in the expression where the problem starts
	Column string // the column involved, or "" when there is none
	Msg    string // what was expected and found, with its context
}

func (e *FilterError) Error() string {
	return fmt.Sprintf("filter: %s at offset %d", e.Msg, e.Offset)
}

// node is one element of a parsed filter.
type node interface {
	match(r *Resource) bool
}

// anyOf is a disjunction (OR) of at least two nodes, none of them an anyOf.
type anyOf []node

func (n anyOf) match(r *Resource) bool {
	for _, c := range n {
		if c.match(r) {
			return true
		}
	}
	return false
}

// allOf is a conjunction (AND) of at least two nodes, none of them an allOf.
type allOf []node

func (n allOf) match(r *Resource) bool {
	for _, c := range n {
		if !c.match(r) {
			return false
		}
	}
	return true
}

// joinAny builds an OR of nodes, splicing nested ORs so that String is
// stable under re-parsing.
func joinAny(nodes []node) node {
	if len(nodes) == 1 {
		return nodes[0]
	}
	out := make(anyOf, 0, len(nodes))
	for _, n := range nodes {
		if inner, ok := n.(anyOf); ok {
			out = append(out, inner...)
		} else {
			out = append(out, n)
		}
	}
	return out
}

// joinAll is joinAny for AND.
func joinAll(nodes []node) node {
	if len(nodes) == 1 {
		return nodes[0]
	}
	out := make(allOf, 0, len(nodes))
	for _, n := range nodes {
		if inner, ok := n.(allOf); ok {
			out = append(out, inner...)
		} else {
			out = append(out, n)
		}
	}
	return out
}

type column uint8

const (
	colSite column = iota
	colClass
	colSubclass
	colType
	colID
	colEndpoint
	colMetadata
)

// columnNames is indexed by column.
var columnNames = [...]string{
	colSite:     "resource_site",
	colClass:    "resource_class",
	colSubclass: "resource_subclass",
	colType:     "resource_type",
	colID:       "resource_id",
	colEndpoint: "resource_endpoint",
	colMetadata: "resource_metadata",
}

const metadataPrefix = "resource_metadata."

type op uint8

const (
	opEq op = iota
	opNe
	opLike
	opNotLike
	opIn
	opNotIn
)

var opNames = [...]string{opEq: "=", opNe: "!=", opLike: "LIKE", opNotLike: "NOT LIKE", opIn: "IN", opNotIn: "NOT IN"}

// inSetMin is the IN list length from which a map beats a linear scan.
const inSetMin = 8

// comparison is one column test.
type comparison struct {
	col   column
	key   string // metadata key when col == colMetadata
	op    op
	value string      // =, !=
	like  likePattern // LIKE, NOT LIKE
	list  []string    // IN, NOT IN, as written
	set   map[string]struct{}
}

func (c *comparison) field(r *Resource) string {
	switch c.col {
	case colSite:
		return r.Site
	case colClass:
		return r.Class
	case colSubclass:
		return r.Subclass
	case colType:
		return r.Type
	case colID:
		return r.ID
	case colEndpoint:
		return r.Endpoint
	default:
		return r.Metadata[c.key] // "" when missing, also for a nil map
	}
}

func (c *comparison) match(r *Resource) bool {
	v := c.field(r)
	switch c.op {
	case opEq:
		return v == c.value
	case opNe:
		return v != c.value
	case opLike:
		return c.like.match(v)
	case opNotLike:
		return !c.like.match(v)
	case opIn:
		return c.in(v)
	default: // opNotIn
		return !c.in(v)
	}
}

func (c *comparison) in(v string) bool {
	if c.set != nil {
		_, ok := c.set[v]
		return ok
	}
	for _, s := range c.list {
		if s == v {
			return true
		}
	}
	return false
}

func (c *comparison) columnName() string {
	if c.col == colMetadata {
		return metadataPrefix + c.key
	}
	return columnNames[c.col]
}

// writeNode writes n in normalized form; inAnd says n is an operand of AND,
// where an OR needs parentheses.
func writeNode(b *strings.Builder, n node, inAnd bool) {
	switch n := n.(type) {
	case anyOf:
		if inAnd {
			b.WriteByte('(')
		}
		for i, c := range n {
			if i > 0 {
				b.WriteString(" OR ")
			}
			writeNode(b, c, false)
		}
		if inAnd {
			b.WriteByte(')')
		}
	case allOf:
		for i, c := range n {
			if i > 0 {
				b.WriteString(" AND ")
			}
			writeNode(b, c, true)
		}
	case *comparison:
		b.WriteString(n.columnName())
		b.WriteByte(' ')
		b.WriteString(opNames[n.op])
		b.WriteByte(' ')
		switch n.op {
		case opIn, opNotIn:
			b.WriteByte('(')
			for i, v := range n.list {
				if i > 0 {
					b.WriteString(", ")
				}
				writeQuoted(b, v)
			}
			b.WriteByte(')')
		case opLike, opNotLike:
			writeQuoted(b, n.like.raw)
		default:
			writeQuoted(b, n.value)
		}
	}
}

// writeQuoted writes s as a double-quoted filter string.
func writeQuoted(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '"' || c == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
}
