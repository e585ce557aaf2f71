package profile

import (
	"fmt"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/types"
	"github.com/expr-lang/expr/vm"
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
	values := map[string]bool{}
	for _, c := range append(append([]Column(nil), g.Columns...), g.Scalars...) {
		values[c.Name] = true
	}
	row, table := types.Map{}, types.Map{}
	for k, v := range shared {
		row[k], table[k] = v, v
	}
	for _, c := range g.Columns {
		row[c.Name] = types.Any
	}
	row["index"] = types.String
	row["index_parts"] = types.TypeOf([]int{})
	table["rows"] = types.Array(types.Any)
	return &compiler{row: row, table: table, values: values}
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

// compile compiles src for the row or the table environment; asBool
// requires a boolean result (filters).
func (c *compiler) compile(src string, row, asBool bool) (*vm.Program, []string, error) {
	if strings.TrimSpace(src) == "" {
		return nil, nil, fmt.Errorf("empty expression")
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
		return nil, nil, fmt.Errorf("expression %q: %v", src, patch.err)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("expression %q: %s", src, exprMessage(err))
	}
	v := &inputCollector{values: c.values, seen: map[string]bool{}}
	node := prog.Node()
	ast.Walk(&node, v)
	return prog, v.inputs, nil
}

// inputCollector lists the columns and scalars an expression reads.
type inputCollector struct {
	values map[string]bool
	seen   map[string]bool
	inputs []string
}

func (v *inputCollector) Visit(n *ast.Node) {
	if id, ok := (*n).(*ast.IdentifierNode); ok && v.values[id.Value] && !v.seen[id.Value] {
		v.seen[id.Value] = true
		v.inputs = append(v.inputs, id.Value)
	}
}

// exprMessage keeps expr's message and column, without its multi-line snippet.
func exprMessage(err error) string {
	if fe, ok := err.(*file.Error); ok {
		return fmt.Sprintf("%s (column %d)", fe.Message, fe.Column+1)
	}
	msg, _, _ := strings.Cut(err.Error(), "\n")
	return msg
}
