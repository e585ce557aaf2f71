package profile

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

var (
	identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	oidRE   = regexp.MustCompile(`^\.?[0-9]+(\.[0-9]+)*$`)
	// groupTypeRE keeps group types usable as bus subject tokens.
	groupTypeRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
)

// reserved names are provided by the evaluator and cannot name a column.
var reserved = map[string]bool{"index": true, "index_parts": true, "rows": true}

// LoadFile reads and compiles one profile file.
func LoadFile(path string) (*Profile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read profile: %w", err)
	}
	return Parse(path, data)
}

// Parse compiles one profile from YAML; file names it in errors. Every
// problem found is reported (errors.Join), each as an *Error with the
// file, line and field.
func Parse(file string, data []byte) (*Profile, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, &Error{File: file, Msg: "not valid YAML: " + err.Error()}
	}
	if root.Kind != yaml.DocumentNode || len(root.Content) != 1 {
		return nil, &Error{File: file, Msg: "empty profile (want name, match and groups)"}
	}
	d := &decoder{file: file}
	p := d.profile(root.Content[0])
	if len(d.errs) > 0 {
		return nil, errors.Join(d.errs...)
	}
	p.sum = sha256.Sum256(data)
	return p, nil
}

func (d *decoder) profile(n *yaml.Node) *Profile {
	f := d.fields(n, "", "name", "description", "match", "enums", "groups")
	p := &Profile{File: d.file}
	p.Name = d.str(f["name"], "name")
	if f["name"] == nil || strings.TrimSpace(p.Name) == "" {
		d.fail(n, "name", "missing: every profile needs a name (resource_metadata.%s selects it)", MetadataKey)
	}
	p.Description = d.str(f["description"], "description")

	m := d.fields(f["match"], "match", "sys_object_id", "resource_type", "fallback")
	p.Match.Fallback = d.boolean(m["fallback"], "match.fallback")
	for i, o := range d.strings(m["sys_object_id"], "match.sys_object_id") {
		if !oidRE.MatchString(o) {
			d.fail(m["sys_object_id"], fmt.Sprintf("match.sys_object_id[%d]", i), "%q is not a numeric OID (like .1.3.6.1.4.1.9.1)", o)
			continue
		}
		p.Match.SysObjectID = append(p.Match.SysObjectID, normOID(o))
	}
	p.Match.ResourceType = d.strings(m["resource_type"], "match.resource_type")

	enums := d.enums(f["enums"])
	if f["groups"] == nil {
		d.fail(n, "groups", "missing: list at least one group")
		return p
	}
	if f["groups"].Kind != yaml.SequenceNode || len(f["groups"].Content) == 0 {
		d.fail(f["groups"], "groups", "want a non-empty list of groups")
		return p
	}
	for i, gn := range f["groups"].Content {
		if g := d.group(gn, fmt.Sprintf("groups[%d]", i), enums); g != nil {
			p.Groups = append(p.Groups, g)
		}
	}
	return p
}

// enums reads `enums: {name: {value: label}}`; expressions index them with a
// string: envmon_state[string(state)].
func (d *decoder) enums(n *yaml.Node) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, e := range d.mapping(n, "enums") {
		field := "enums." + e.key
		if !identRE.MatchString(e.key) || reserved[e.key] {
			d.fail(e.keyN, field, "not a usable name (letters, digits, _; not index, index_parts or rows)")
			continue
		}
		m := map[string]any{}
		for _, v := range d.mapping(e.value, field) {
			m[v.key] = d.str(v.value, join(field, v.key))
		}
		out[e.key] = m
	}
	return out
}

func (d *decoder) group(n *yaml.Node, field string, enums map[string]map[string]any) *Group {
	f := d.fields(n, field, "type", "optional", "per", "walk", "get", "lookup", "filter", "dimensions", "metrics")
	g := &Group{line: n.Line, enums: enums, Optional: d.boolean(f["optional"], field+".optional")}
	g.Type = d.str(f["type"], field+".type")
	if f["type"] == nil {
		d.fail(n, field+".type", "missing: name the metrics group type (cpu, memory, environment, ...)")
	} else if !groupTypeRE.MatchString(g.Type) {
		d.fail(f["type"], field+".type", "%q: use lower case letters, digits and _", g.Type)
	}

	names := map[string]string{} // name -> where it is defined, for duplicates
	for k := range enums {
		names[k] = "enums"
	}
	cols := func(key string) []Column {
		var out []Column
		for _, c := range d.mapping(f[key], field+"."+key) {
			cf := field + "." + key + "." + c.key
			if !identRE.MatchString(c.key) || reserved[c.key] {
				d.fail(c.keyN, cf, "not a usable name (letters, digits, _; not index, index_parts or rows)")
				continue
			}
			if where, dup := names[c.key]; dup {
				d.fail(c.keyN, cf, "name already defined in %s", where)
				continue
			}
			names[c.key] = key
			oidN, enrich := c.value, false
			if key == "lookup" && c.value.Kind == yaml.MappingNode {
				// Long form: {oid: ..., enrich: true}.
				lf := d.fields(c.value, cf, "oid", "enrich")
				if oidN = lf["oid"]; oidN == nil {
					d.fail(c.value, cf+".oid", "missing: the column OID")
					continue
				}
				enrich = d.boolean(lf["enrich"], cf+".enrich")
				cf += ".oid"
			}
			oid := d.str(oidN, cf)
			if !oidRE.MatchString(oid) {
				d.fail(oidN, cf, "%q is not a numeric OID", oid)
				continue
			}
			out = append(out, Column{Name: c.key, OID: normOID(oid), Enrich: enrich})
		}
		return out
	}
	g.Columns, g.Scalars, g.Lookups = cols("walk"), cols("get"), cols("lookup")
	if f["walk"] == nil && f["get"] == nil && f["lookup"] == nil {
		d.fail(n, field+".walk", "missing: a group needs a table to walk, OIDs to get or lookups")
		return nil
	}
	if len(g.Columns) == 0 && len(g.Scalars) == 0 && len(g.Lookups) == 0 {
		return nil // the bad entries are reported
	}

	per := d.str(f["per"], field+".per")
	switch per {
	case "":
		g.PerRow = len(g.Columns) > 0
	case "row":
		g.PerRow = true
		if len(g.Columns) == 0 {
			d.fail(f["per"], field+".per", "per: row needs a table (walk)")
		}
	case "table":
	default:
		d.fail(f["per"], field+".per", "%q: want row or table", per)
	}

	c := newCompiler(g, enums)
	if fn := f["filter"]; fn != nil {
		if len(g.Columns) == 0 {
			d.fail(fn, field+".filter", "a filter selects table rows: the group has no walk")
		} else if e, err := c.compile("filter", d.str(fn, field+".filter"), true, true); err != nil {
			d.fail(fn, field+".filter", "%v", err)
		} else {
			g.Filter = e
		}
	}
	for _, dn := range d.mapping(f["dimensions"], field+".dimensions") {
		df := field + ".dimensions." + dn.key
		src := d.str(dn.value, df)
		e, err := c.compile(dn.key, src, g.PerRow, false)
		if err != nil {
			d.fail(dn.value, df, "%v", err)
			continue
		}
		g.Dimensions = append(g.Dimensions, *e)
	}
	if f["metrics"] == nil {
		d.fail(n, field+".metrics", "missing: a group needs at least one metric")
	}
	for _, mn := range d.mapping(f["metrics"], field+".metrics") {
		if m, ok := d.metric(mn, field+".metrics."+mn.key, c, g.PerRow); ok {
			g.Metrics = append(g.Metrics, m)
		}
	}
	sort.SliceStable(g.Dimensions, func(i, j int) bool { return g.Dimensions[i].Name < g.Dimensions[j].Name })
	return g
}

// metric reads `name: expression` (a gauge) or `name: {value: expr, type: counter}`.
func (d *decoder) metric(p pair, field string, c *compiler, perRow bool) (MetricDef, bool) {
	m := MetricDef{Expr: Expr{Name: p.key}}
	srcNode := p.value
	if p.value.Kind == yaml.MappingNode {
		f := d.fields(p.value, field, "value", "type")
		srcNode = f["value"]
		if srcNode == nil {
			d.fail(p.value, field+".value", "missing: the metric's expression")
			return m, false
		}
		switch t := d.str(f["type"], field+".type"); t {
		case "", "gauge":
		case "counter":
			m.Counter = true
		default:
			d.fail(f["type"], field+".type", "%q: want gauge or counter", t)
		}
	}
	e, err := c.compile(p.key, d.str(srcNode, field), perRow, false)
	if err != nil {
		d.fail(srcNode, field, "%v", err)
		return m, false
	}
	m.Expr = *e
	return m, true
}

// LoadDir loads every *.yaml and *.yml file of the directories, in name
// order, and checks the set: names, resource types and sysObjectID
// prefixes must each belong to one profile.
func LoadDir(dirs ...string) (*Set, error) {
	var errs []error
	var profiles []*Profile
	for _, dir := range dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			errs = append(errs, fmt.Errorf("profile directory: %w", err))
			continue
		}
		for _, e := range entries {
			ext := filepath.Ext(e.Name())
			if e.IsDir() || (ext != ".yaml" && ext != ".yml") {
				continue
			}
			p, err := LoadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				errs = append(errs, err)
				continue
			}
			profiles = append(profiles, p)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return NewSet(profiles...)
}

// LoadFS loads every *.yaml profile at the top of fsys; name prefixes file
// names in messages (e.g. "profiles").
func LoadFS(fsys fs.FS, name string) (*Set, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("profiles %s: %w", name, err)
	}
	var errs []error
	var profiles []*Profile
	for _, e := range entries {
		ext := filepath.Ext(e.Name())
		if e.IsDir() || (ext != ".yaml" && ext != ".yml") {
			continue
		}
		data, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			errs = append(errs, err)
			continue
		}
		p, err := Parse(path.Join(name, e.Name()), data)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		profiles = append(profiles, p)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return NewSet(profiles...)
}

// normOID gives an OID a leading dot and no trailing dot.
func normOID(o string) string {
	o = strings.TrimSuffix(o, ".")
	if !strings.HasPrefix(o, ".") {
		o = "." + o
	}
	return o
}
