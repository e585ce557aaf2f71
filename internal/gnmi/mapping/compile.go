package mapping

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/types"
	"github.com/expr-lang/expr/vm"

	"github.com/panoptes-go/panoptes/internal/metric"
)

// program is a compiled expression with the leaves it reads (their
// timestamps stamp the metric).
type program struct {
	prog   *vm.Program
	src    string
	inputs []int // leaf indexes
}

type namedProgram struct {
	name string
	prog *program
}

type metricProgram struct {
	namedProgram
	counter bool
	bits    uint8
}

// compiler compiles a group's expressions against the names the builder
// provides. Row environment: every leaf by name (uint64, int64, float64,
// string, bool, or a list for a leaf with a wildcard key; nil when the row
// lacks it), `keys` (the row's key values by key name, e.g. keys.name),
// `now` (epoch seconds) and every enum. Table environment (per: table):
// `rows` (each row's environment), `now` and the enums.
type compiler struct {
	g          *Group
	row, table types.Map
}

func newCompiler(g *Group) *compiler {
	row, table := types.Map{}, types.Map{}
	for name := range g.enums {
		row[name] = types.TypeOf(map[string]any{})
		table[name] = row[name]
	}
	for _, l := range g.Leaves {
		row[l.Name] = types.Any
	}
	row["keys"] = types.TypeOf(map[string]string{})
	row["now"], table["now"] = types.Float, types.Float
	table["rows"] = types.Array(types.Any)
	return &compiler{g: g, row: row, table: table}
}

// functions added to expr's builtins.
var functions = []expr.Option{
	// identity strips a YANG identity's module prefix:
	// "iana-if-type:ethernetCsmacd" → "ethernetCsmacd"; nil stays nil.
	expr.Function("identity", func(p ...any) (any, error) {
		s, ok := p[0].(string)
		if !ok {
			return p[0], nil
		}
		if i := strings.LastIndexByte(s, ':'); i >= 0 {
			return s[i+1:], nil
		}
		return s, nil
	}),
	// enum looks v up in an enum map (by its text); nil when v is nil or
	// not in the map.
	expr.Function("enum", func(p ...any) (any, error) {
		m, ok := p[0].(map[string]any)
		if !ok || p[1] == nil {
			return nil, nil
		}
		v := p[1]
		if s, ok := v.(string); ok {
			if i := strings.LastIndexByte(s, ':'); i >= 0 {
				v = s[i+1:]
			}
		}
		return m[fmt.Sprint(v)], nil
	}),
	// speed_bps reads an openconfig-if-ethernet speed identity
	// (SPEED_10GB, SPEED_2500MB, SPEED_UNKNOWN) as bits/s; nil stays nil.
	expr.Function("speed_bps", func(p ...any) (any, error) {
		s, ok := p[0].(string)
		if !ok {
			return nil, nil
		}
		return speedBPS(s), nil
	}),
	// speed_name formats bits/s as the port_speed dimension: "1Gbps".
	expr.Function("speed_name", func(p ...any) (any, error) {
		v, ok := toUint(p[0])
		if !ok {
			return nil, nil
		}
		return portSpeed(v), nil
	}),
	// num converts a number sent as text (RFC 7951 64-bit integers) or a
	// number to an exact number; nil stays nil.
	expr.Function("num", func(p ...any) (any, error) {
		switch x := p[0].(type) {
		case string:
			v := numberOf(x)
			if _, isText := v.(string); isText {
				return nil, fmt.Errorf("num: %q is not a number", x)
			}
			return v, nil
		}
		return p[0], nil
	}),
}

// compile compiles src for the row or the table environment.
func (c *compiler) compile(src string, row, asBool bool) (*program, error) {
	if strings.TrimSpace(src) == "" {
		return nil, fmt.Errorf("empty expression")
	}
	env := c.table
	if row {
		env = c.row
	}
	opts := append([]expr.Option{expr.Env(env), expr.MaxNodes(2000)}, functions...)
	if asBool {
		opts = append(opts, expr.AsBool())
	}
	prog, err := expr.Compile(src, opts...)
	if err != nil {
		return nil, fmt.Errorf("expression %q: %s", src, exprMessage(err))
	}
	p := &program{prog: prog, src: src}
	node := prog.Node()
	ast.Walk(&node, &inputs{g: c.g, p: p, seen: map[int]bool{}})
	return p, nil
}

type inputs struct {
	g    *Group
	p    *program
	seen map[int]bool
}

func (v *inputs) Visit(n *ast.Node) {
	id, ok := (*n).(*ast.IdentifierNode)
	if !ok {
		return
	}
	for i, l := range v.g.Leaves {
		if l.Name == id.Value && !v.seen[i] {
			v.seen[i] = true
			v.p.inputs = append(v.p.inputs, i)
		}
	}
}

func exprMessage(err error) string {
	if fe, ok := err.(*file.Error); ok {
		return fmt.Sprintf("%s (column %d)", fe.Message, fe.Column+1)
	}
	msg, _, _ := strings.Cut(err.Error(), "\n")
	return msg
}

// run evaluates p with machine, reused across runs (a new VM per run was
// most of a group's cost).
func (p *program) run(machine *vm.VM, env map[string]any) (any, error) {
	v, err := machine.Run(p.prog, env)
	if err != nil {
		return nil, fmt.Errorf("expression %q: %s", p.src, exprMessage(err))
	}
	return v, nil
}

// speedBPS reads SPEED_<n><unit> as bits/s.
func speedBPS(s string) uint64 {
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		s = s[i+1:]
	}
	s = strings.TrimPrefix(s, "SPEED_")
	mul := uint64(0)
	switch {
	case strings.HasSuffix(s, "TB"):
		mul, s = 1e12, strings.TrimSuffix(s, "TB")
	case strings.HasSuffix(s, "GB"):
		mul, s = 1e9, strings.TrimSuffix(s, "GB")
	case strings.HasSuffix(s, "MB"):
		mul, s = 1e6, strings.TrimSuffix(s, "MB")
	case strings.HasSuffix(s, "KB"):
		mul, s = 1e3, strings.TrimSuffix(s, "KB")
	default:
		return 0 // SPEED_UNKNOWN
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0
	}
	return n * mul
}

// portSpeed formats bits/s as the SNMP interface plugin does (package
// poll's port_speed): the largest decimal unit leaving a whole part of at
// least 1, up to three decimals, no trailing zeros. The SNMP-vs-gNMI
// equivalence test holds the two to the same output.
func portSpeed(bps uint64) string {
	units := [...]string{"bps", "Kbps", "Mbps", "Gbps", "Tbps"}
	u, div := 0, uint64(1)
	for u < len(units)-1 && bps/(div*1000) >= 1 {
		u, div = u+1, div*1000
	}
	b := strconv.AppendUint(make([]byte, 0, 12), bps/div, 10)
	if div > 1 {
		frac := bps % div * 1000 / div
		if frac > 0 {
			b = append(b, '.', byte('0'+frac/100), byte('0'+frac/10%10), byte('0'+frac%10))
			for b[len(b)-1] == '0' {
				b = b[:len(b)-1]
			}
		}
	}
	return string(append(b, units[u]...))
}

func toUint(v any) (uint64, bool) {
	switch x := v.(type) {
	case uint64:
		return x, true
	case int64:
		return uint64(x), x >= 0
	case int:
		return uint64(x), x >= 0
	case float64:
		return uint64(x), x >= 0
	case string:
		u, err := strconv.ParseUint(x, 10, 64)
		return u, err == nil
	}
	return 0, false
}

func numberOf(s string) any {
	if u, err := strconv.ParseUint(s, 10, 64); err == nil {
		return u
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return f
	}
	return s
}

// metricValue converts an expression result into a metric value: integers
// stay exact, floats stay floats, booleans are 0 or 1, numeric text
// (RFC 7951 64-bit integers) is read as a number. ok is false for nil.
func metricValue(v any, counter bool) (metric.Value, bool, error) {
	switch x := v.(type) {
	case nil:
		return metric.Value{}, false, nil
	case uint64:
		return metric.Uint(x), true, nil
	case uint32:
		return metric.Uint(uint64(x)), true, nil
	case uint:
		return metric.Uint(uint64(x)), true, nil
	case int:
		return signed(int64(x), counter)
	case int64:
		return signed(x, counter)
	case int32:
		return signed(int64(x), counter)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return metric.Value{}, false, fmt.Errorf("result %v is not a finite number", x)
		}
		if counter {
			if x < 0 || x != math.Trunc(x) {
				return metric.Value{}, false, fmt.Errorf("counter result %v is not a whole non-negative number", x)
			}
			return metric.Uint(uint64(x)), true, nil
		}
		return metric.Float(x), true, nil
	case bool:
		if x {
			return metric.Uint(1), true, nil
		}
		return metric.Uint(0), true, nil
	case string:
		n := numberOf(x)
		if _, isText := n.(string); isText {
			return metric.Value{}, false, fmt.Errorf("result %q is not a number", x)
		}
		return metricValue(n, counter)
	}
	return metric.Value{}, false, fmt.Errorf("result %v (%T) is not a number", v, v)
}

func signed(i int64, counter bool) (metric.Value, bool, error) {
	if i >= 0 {
		return metric.Uint(uint64(i)), true, nil
	}
	if counter {
		return metric.Value{}, false, fmt.Errorf("counter result %d is negative", i)
	}
	return metric.Int(i), true, nil
}

// dimensionValue formats an expression result as a dimension value; nil
// and blank text are "<not set>", as the SNMP plugins write them.
func dimensionValue(v any) string {
	switch x := v.(type) {
	case nil:
		return NotSet
	case string:
		if strings.TrimSpace(x) == "" {
			return NotSet
		}
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

// NotSet is the value of a dimension the target did not send (Panoptes').
const NotSet = "<not set>"
