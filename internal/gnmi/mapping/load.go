// Package mapping turns gNMI notifications into Panoptes metrics groups
// following declarative YAML mappings (gnmimaps/ ships the OpenConfig
// ones): which paths to subscribe, which leaves make a row, and how rows
// become groups, with expr-lang expressions as in the SNMP profiles.
//
// A State holds one target's latest leaf values, row by row; Build turns
// them into groups (every row, or those updated since the last Build).
// Counters keep their leaf's timestamp, so the rate processor computes
// rates from the target's own clock.
package mapping

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"regexp"
	"sort"
	"strings"
	"time"

	pb "github.com/openconfig/gnmi/proto/gnmi"
	"gopkg.in/yaml.v3"

	"github.com/panoptes-go/panoptes/internal/gnmi"
)

// Error is a mapping error: the file, the line and the field that is wrong.
type Error struct {
	File  string
	Line  int
	Field string
	Msg   string
}

func (e *Error) Error() string {
	s := e.File
	if e.Line > 0 {
		s += fmt.Sprintf(":%d", e.Line)
	}
	if e.Field != "" {
		s += ": " + e.Field
	}
	return s + ": " + e.Msg
}

// Mapping is one file: groups built from one model's paths.
type Mapping struct {
	Name, Description, File string
	// ResourceTypes, when set, limit the mapping to resources of these
	// types; by default it applies to every gNMI target.
	ResourceTypes []string
	Groups        []*Group
}

// Group says how rows under one path become groups of one type.
type Group struct {
	Type     string
	Origin   string          // "" is openconfig
	Path     []*pb.PathElem  // the rows: keyed elements with "*" values vary per row
	PathText string          // as written
	Subs     []Sub           // what to subscribe, relative to Path
	Leaves   []Leaf          // the named values of a row
	PerTable bool            // one group for all rows (metrics over `rows`)
	Optional bool            // no rows is not missing metrics
	Discont  int             // index of the leaf whose change breaks counters; -1: none
	filter   *program        // nil: every row
	dims     []namedProgram  // dimension name → expression
	metrics  []metricProgram // metric name → expression
	enums    map[string]map[string]any
	mapping  *Mapping
	line     int
	rowKeys  []rowKey // the keys of Path, in a fixed order
}

// rowKey is a key of a keyed element of a group's path: "*" varies per
// row, another value must match.
type rowKey struct {
	depth      int
	name, want string
}

// Sub is one subscription of a group.
type Sub struct {
	Path              string // relative to the group's path; "" is the path itself
	Mode              gnmi.Mode
	SampleInterval    time.Duration // 0: the input's interval
	HeartbeatInterval time.Duration
	SuppressRedundant bool
}

// Leaf is a named value of a row: a relative path below the row. With a
// wildcard key in it ("afi-safis/afi-safi[afi-safi-name=*]/state/prefixes/
// received") it is a list of the values of every matching entry.
type Leaf struct {
	Name  string
	Path  []*pb.PathElem
	Multi bool
}

var (
	identRE     = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	groupTypeRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
)

// reserved names are provided to expressions.
var reserved = map[string]bool{"keys": true, "rows": true, "now": true}

// LoadFile reads and compiles one mapping file.
func LoadFile(file string) (*Mapping, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read gNMI mapping: %w", err)
	}
	return Parse(file, data)
}

// LoadFS reads every *.yaml file of dir in fsys, in name order.
func LoadFS(fsys fs.FS, dir string) ([]*Mapping, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	var out []*Mapping
	var errs []error
	for _, e := range entries {
		if e.IsDir() || (!strings.HasSuffix(e.Name(), ".yaml") && !strings.HasSuffix(e.Name(), ".yml")) {
			continue
		}
		data, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		m, err := Parse(path.Join(dir, e.Name()), data)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, m)
	}
	return out, errors.Join(errs...)
}

// Parse compiles one mapping from YAML; every problem is reported, each
// naming the file, line and field.
func Parse(file string, data []byte) (*Mapping, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, &Error{File: file, Msg: "not valid YAML: " + err.Error()}
	}
	if root.Kind != yaml.DocumentNode || len(root.Content) != 1 {
		return nil, &Error{File: file, Msg: "empty mapping (want name and groups)"}
	}
	d := &decoder{file: file}
	m := d.mapping(root.Content[0])
	if len(d.errs) > 0 {
		return nil, errors.Join(d.errs...)
	}
	return m, nil
}

type decoder struct {
	file string
	errs []error
}

func (d *decoder) fail(n *yaml.Node, field, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	d.errs = append(d.errs, &Error{File: d.file, Line: line, Field: field, Msg: fmt.Sprintf(format, args...)})
}

type pair struct {
	key   string
	value *yaml.Node
	keyN  *yaml.Node
}

func (d *decoder) pairs(n *yaml.Node, field string) []pair {
	if n == nil {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		d.fail(n, field, "want a mapping (key: value)")
		return nil
	}
	var out []pair
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if seen[k.Value] {
			d.fail(k, join(field, k.Value), "duplicate key")
			continue
		}
		seen[k.Value] = true
		out = append(out, pair{key: k.Value, value: n.Content[i+1], keyN: k})
	}
	return out
}

func (d *decoder) fields(n *yaml.Node, field string, known ...string) map[string]*yaml.Node {
	out := map[string]*yaml.Node{}
	for _, p := range d.pairs(n, field) {
		ok := false
		for _, k := range known {
			ok = ok || k == p.key
		}
		if !ok {
			d.fail(p.keyN, join(field, p.key), "unknown field (known: %s)", strings.Join(known, ", "))
			continue
		}
		out[p.key] = p.value
	}
	return out
}

func (d *decoder) str(n *yaml.Node, field string) string {
	if n == nil {
		return ""
	}
	if n.Kind != yaml.ScalarNode {
		d.fail(n, field, "want a string")
		return ""
	}
	return n.Value
}

func (d *decoder) strs(n *yaml.Node, field string) []string {
	if n == nil {
		return nil
	}
	if n.Kind == yaml.ScalarNode {
		return []string{n.Value}
	}
	if n.Kind != yaml.SequenceNode {
		d.fail(n, field, "want a list of strings")
		return nil
	}
	var out []string
	for i, c := range n.Content {
		out = append(out, d.str(c, fmt.Sprintf("%s[%d]", field, i)))
	}
	return out
}

func (d *decoder) duration(n *yaml.Node, field string) time.Duration {
	s := d.str(n, field)
	if s == "" {
		return 0
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		d.fail(n, field, "%q is not a duration (like 10s)", s)
	}
	return v
}

func (d *decoder) boolean(n *yaml.Node, field string) bool {
	s := d.str(n, field)
	switch s {
	case "", "false":
		return false
	case "true":
		return true
	}
	d.fail(n, field, "want true or false, got %q", s)
	return false
}

func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + "." + b
}

func (d *decoder) mapping(n *yaml.Node) *Mapping {
	f := d.fields(n, "", "name", "description", "match", "enums", "groups")
	m := &Mapping{File: d.file, Name: d.str(f["name"], "name"), Description: d.str(f["description"], "description")}
	if strings.TrimSpace(m.Name) == "" {
		d.fail(n, "name", "missing: every mapping needs a name")
	}
	mt := d.fields(f["match"], "match", "resource_type")
	m.ResourceTypes = d.strs(mt["resource_type"], "match.resource_type")
	enums := map[string]map[string]any{}
	for _, p := range d.pairs(f["enums"], "enums") {
		if !identRE.MatchString(p.key) || reserved[p.key] {
			d.fail(p.keyN, "enums."+p.key, "not a usable name (letters, digits, _; not keys, rows or now)")
			continue
		}
		e := map[string]any{}
		for _, v := range d.pairs(p.value, "enums."+p.key) {
			e[v.key] = scalarValue(v.value)
		}
		enums[p.key] = e
	}
	gs := f["groups"]
	if gs == nil || gs.Kind != yaml.SequenceNode || len(gs.Content) == 0 {
		at := n
		if gs != nil {
			at = gs
		}
		d.fail(at, "groups", "want a non-empty list of groups")
		return m
	}
	for i, gn := range gs.Content {
		if g := d.group(gn, fmt.Sprintf("groups[%d]", i), enums); g != nil {
			g.mapping = m
			m.Groups = append(m.Groups, g)
		}
	}
	return m
}

// scalarValue is a YAML scalar as the closest Go value: an integer, a
// float, a bool, else the text.
func scalarValue(n *yaml.Node) any {
	var v any
	if err := n.Decode(&v); err != nil {
		return n.Value
	}
	if i, ok := v.(int); ok {
		return i
	}
	return v
}

func (d *decoder) group(n *yaml.Node, field string, enums map[string]map[string]any) *Group {
	f := d.fields(n, field, "type", "path", "subscribe", "leaves", "per", "filter", "optional", "dimensions", "metrics", "discontinuity")
	g := &Group{Type: d.str(f["type"], join(field, "type")), enums: enums, line: n.Line, Discont: -1}
	if !groupTypeRE.MatchString(g.Type) {
		d.fail(n, join(field, "type"), "%q: want a lower-case group type (letters, digits, _)", g.Type)
	}
	g.PathText = d.str(f["path"], join(field, "path"))
	p, err := gnmi.ParsePath(g.PathText)
	switch {
	case f["path"] == nil:
		d.fail(n, join(field, "path"), "missing: the path of the rows, like /interfaces/interface[name=*]")
	case err != nil:
		d.fail(f["path"], join(field, "path"), "%v", err)
	default:
		g.Origin, g.Path = p.GetOrigin(), p.GetElem()
		if g.Origin == "openconfig" {
			g.Origin = ""
		}
		for i, e := range g.Path {
			if e.GetName() == "*" || e.GetName() == "..." {
				d.fail(f["path"], join(field, "path"), "wildcard element %q: name every element (keys may be *)", e.GetName())
			}
			names := make([]string, 0, len(e.GetKey()))
			for k := range e.GetKey() {
				names = append(names, k)
			}
			sort.Strings(names)
			for _, k := range names {
				g.rowKeys = append(g.rowKeys, rowKey{depth: i, name: k, want: e.GetKey()[k]})
			}
		}
	}
	switch per := d.str(f["per"], join(field, "per")); per {
	case "", "row":
	case "table":
		g.PerTable = true
	default:
		d.fail(f["per"], join(field, "per"), "%q: want row or table", per)
	}
	g.Optional = d.boolean(f["optional"], join(field, "optional"))
	if sn := f["subscribe"]; sn != nil {
		if sn.Kind != yaml.SequenceNode {
			d.fail(sn, join(field, "subscribe"), "want a list of {path, mode, sample_interval, heartbeat_interval, suppress_redundant}")
		} else {
			for i, c := range sn.Content {
				g.Subs = append(g.Subs, d.sub(c, fmt.Sprintf("%s.subscribe[%d]", field, i)))
			}
		}
	}
	if len(g.Subs) == 0 {
		g.Subs = []Sub{{Mode: gnmi.TargetDefined}}
	}
	names := map[string]bool{}
	for _, lp := range d.pairs(f["leaves"], join(field, "leaves")) {
		lf := join(field, "leaves."+lp.key)
		if !identRE.MatchString(lp.key) || reserved[lp.key] || enums[lp.key] != nil {
			d.fail(lp.keyN, lf, "not a usable name (letters, digits, _; not keys, rows, now or an enum's name)")
			continue
		}
		rp, err := gnmi.ParsePath(d.str(lp.value, lf))
		if err != nil || len(rp.GetElem()) == 0 || rp.GetOrigin() != "" {
			d.fail(lp.value, lf, "%q: want a path relative to the group's path, like state/counters/in-octets", lp.value.Value)
			continue
		}
		l := Leaf{Name: lp.key, Path: rp.GetElem()}
		for _, e := range l.Path {
			for _, v := range e.GetKey() {
				l.Multi = l.Multi || v == "*"
			}
		}
		names[l.Name] = true
		g.Leaves = append(g.Leaves, l)
	}
	if len(g.Leaves) == 0 {
		d.fail(n, join(field, "leaves"), "missing: name at least one leaf (name: relative/path)")
	}
	if dn := f["discontinuity"]; dn != nil {
		name := d.str(dn, join(field, "discontinuity"))
		for i, l := range g.Leaves {
			if l.Name == name {
				g.Discont = i
			}
		}
		if g.Discont < 0 {
			d.fail(dn, join(field, "discontinuity"), "%q is not one of the group's leaves", name)
		}
	}
	c := newCompiler(g)
	if fn := f["filter"]; fn != nil {
		prog, err := c.compile(d.str(fn, join(field, "filter")), true, true)
		if err != nil {
			d.fail(fn, join(field, "filter"), "%v", err)
		}
		g.filter = prog
	}
	for _, p := range d.pairs(f["dimensions"], join(field, "dimensions")) {
		prog, err := c.compile(d.str(p.value, join(field, "dimensions."+p.key)), !g.PerTable, false)
		if err != nil {
			d.fail(p.value, join(field, "dimensions."+p.key), "%v", err)
			continue
		}
		g.dims = append(g.dims, namedProgram{name: p.key, prog: prog})
	}
	for _, p := range d.pairs(f["metrics"], join(field, "metrics")) {
		mf := join(field, "metrics."+p.key)
		src, typ, bits := "", "gauge", uint8(64)
		if p.value.Kind == yaml.MappingNode {
			mm := d.fields(p.value, mf, "value", "type", "bits")
			src, typ = d.str(mm["value"], mf+".value"), d.str(mm["type"], mf+".type")
			if typ == "" {
				typ = "gauge"
			}
			if b := d.str(mm["bits"], mf+".bits"); b != "" {
				switch b {
				case "32":
					bits = 32
				case "64":
				default:
					d.fail(mm["bits"], mf+".bits", "want 32 or 64")
				}
			}
		} else {
			src = d.str(p.value, mf)
		}
		if typ != "gauge" && typ != "counter" {
			d.fail(p.value, mf+".type", "%q: want gauge or counter", typ)
			continue
		}
		prog, err := c.compile(src, !g.PerTable, false)
		if err != nil {
			d.fail(p.value, mf, "%v", err)
			continue
		}
		g.metrics = append(g.metrics, metricProgram{namedProgram: namedProgram{name: p.key, prog: prog}, counter: typ == "counter", bits: bits})
	}
	if len(g.metrics) == 0 {
		d.fail(n, join(field, "metrics"), "missing: a group needs at least one metric")
	}
	return g
}

func (d *decoder) sub(n *yaml.Node, field string) Sub {
	f := d.fields(n, field, "path", "mode", "sample_interval", "heartbeat_interval", "suppress_redundant")
	s := Sub{Path: d.str(f["path"], join(field, "path"))}
	if _, err := gnmi.ParsePath(s.Path); err != nil || strings.HasPrefix(s.Path, "/") {
		d.fail(f["path"], join(field, "path"), "%q: want a path relative to the group's path (\"\" for the path itself)", s.Path)
	}
	var err error
	if s.Mode, err = gnmi.ParseMode(d.str(f["mode"], join(field, "mode"))); err != nil {
		d.fail(f["mode"], join(field, "mode"), "%v", err)
	}
	s.SampleInterval = d.duration(f["sample_interval"], join(field, "sample_interval"))
	s.HeartbeatInterval = d.duration(f["heartbeat_interval"], join(field, "heartbeat_interval"))
	s.SuppressRedundant = d.boolean(f["suppress_redundant"], join(field, "suppress_redundant"))
	return s
}
