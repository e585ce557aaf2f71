package profile

import (
	"fmt"
	"slices"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/types"
)

// compiler compiles a group's expressions against the names the evaluator
// will provide, so that a typo is a load error, not a poll-time surprise.
//
// Row environment (per-row groups, filters): every walked column by name
// (its SNMP value: int, uint64 for Counter64, string, float64), `index`
// (the row index after the column OID, "3004" or "1.1.0.0"),
// `index_parts` ([]int of that index), every scalar, every lookup (a map
// from index to value) and every enum (a map from value text to label).
//
// Table environment (per-table groups): `rows` (a list of rows, each a map
// of the columns plus index and index_parts), scalars, lookups and enums.
type compiler struct {
	row, table types.Map
	values     map[string]bool // columns and scalars: the names that can be nil
	columns    map[string]bool // walked columns: the fields of rows[i]
}

func newCompiler(g *Group, enums map[string]map[string]any) *compiler {
	shared := types.Map{}
	for _, s := range g.Scalars {
		shared[s.Name] = types.Any
	}
	for _, l := range g.Lookups {
		shared[l.Name] = types.TypeOf(map[string]any{})
	}
	for name := range enums {
		shared[name] = types.TypeOf(map[string]any{})
	}
	values, columns := map[string]bool{}, map[string]bool{}
	for _, c := range g.Scalars {
		values[c.Name] = true
	}
	for _, c := range g.Columns {
		values[c.Name], columns[c.Name] = true, true
	}
	row, table := types.Map{}, types.Map{}
	for k, v := range shared {
		row[k], table[k] = v, v
	}
	// An element of rows holds exactly the columns and the index, so a
	// misspelt column in count(rows, .x) is a load error, not a nil per row.
	tableRow := types.Map{"index": types.String, "index_parts": types.TypeOf([]int{})}
	for _, c := range g.Columns {
		row[c.Name], tableRow[c.Name] = types.Any, types.Any
	}
	row["index"] = types.String
	row["index_parts"] = types.TypeOf([]int{})
	table["rows"] = types.Array(tableRow)
	return &compiler{row: row, table: table, values: values, columns: columns}
}

// functions added to expr's builtins.
var functions = []expr.Option{
	// ascii turns index parts into text: string-indexed tables encode each
	// character as one sub-identifier (ascii(index_parts[1:])).
	expr.Function("ascii", func(params ...any) (any, error) {
		var b strings.Builder
		switch l := params[0].(type) {
		case []int:
			for _, c := range l {
				b.WriteRune(rune(c))
			}
		case []any:
			for _, c := range l {
				n, ok := c.(int)
				if !ok {
					return nil, fmt.Errorf("ascii: want a list of integers, got %T", c)
				}
				b.WriteRune(rune(n))
			}
		default:
			return nil, fmt.Errorf("ascii: want a list of integers, got %T", params[0])
		}
		return b.String(), nil
	}, new(func([]int) string), new(func([]any) string)),
	deltaFunction, // delta.go
}

// compile compiles src for the row or the table environment into an Expr
// named name; asBool requires a boolean result (filters).
func (c *compiler) compile(name, src string, row, asBool bool) (*Expr, error) {
	if strings.TrimSpace(src) == "" {
		return nil, fmt.Errorf("empty expression")
	}
	env := c.table
	if row {
		env = c.row
	}
	patch := &deltaPatcher{}
	opts := append([]expr.Option{expr.Env(env), expr.MaxNodes(2000), expr.Patch(patch)}, functions...)
	if asBool {
		opts = append(opts, expr.AsBool())
	}
	prog, err := expr.Compile(src, opts...)
	if patch.err != nil {
		return nil, fmt.Errorf("expression %q: %v", src, patch.err)
	}
	if err != nil {
		return nil, fmt.Errorf("expression %q: %s", src, exprMessage(err))
	}
	e := &Expr{Name: name, Source: src, Program: prog}
	node := prog.Node()
	// Operands of ?? are fallbacks the profile expects may be absent.
	guarded := map[ast.Node]bool{}
	ast.Walk(&node, visitor(func(n ast.Node) {
		if b, ok := n.(*ast.BinaryNode); ok && b.Operator == "??" {
			ast.Walk(&b.Left, visitor(func(n ast.Node) { guarded[n] = true }))
			ast.Walk(&b.Right, visitor(func(n ast.Node) { guarded[n] = true }))
		}
	}))
	ast.Walk(&node, visitor(func(n ast.Node) {
		name := ""
		switch n := n.(type) {
		case *ast.IdentifierNode:
			if !c.values[n.Value] {
				return
			}
			name = n.Value
			e.Inputs = addOnce(e.Inputs, name)
		case *ast.MemberNode: // a column of rows[i] in a table group
			if p, ok := n.Property.(*ast.StringNode); ok && c.columns[p.Value] {
				name = p.Value
			}
		}
		if name != "" {
			e.Reads = addOnce(e.Reads, name)
			if !guarded[n] {
				e.Needs = addOnce(e.Needs, name)
			}
		}
	}))
	return e, nil
}

// visitor adapts a function to ast.Visitor.
type visitor func(ast.Node)

func (v visitor) Visit(n *ast.Node) { v(*n) }

func addOnce(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

// exprMessage keeps expr's message and column, without its multi-line snippet.
func exprMessage(err error) string {
	if fe, ok := err.(*file.Error); ok {
		return fmt.Sprintf("%s (column %d)", fe.Message, fe.Column+1)
	}
	msg, _, _ := strings.Cut(err.Error(), "\n")
	return msg
}
