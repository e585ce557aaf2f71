package profile

import (
	"fmt"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Error is a profile error: the file, the line and the field that is wrong.
type Error struct {
	File  string
	Line  int
	Field string // dotted path: groups[1].metrics.memory_used
	Msg   string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Field != "" {
		b.WriteString(": " + e.Field)
	}
	b.WriteString(": " + e.Msg)
	return b.String()
}

// decoder walks a yaml.v3 node tree, recording errors with positions.
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

// pair is one key of a mapping with its value, in file order.
type pair struct {
	key   string
	keyN  *yaml.Node
	value *yaml.Node
}

// mapping returns n's keys in order; a non-mapping is an error.
func (d *decoder) mapping(n *yaml.Node, field string) []pair {
	if n == nil {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		d.fail(n, field, "want a mapping (key: value), got %s", kindName(n))
		return nil
	}
	out := make([]pair, 0, len(n.Content)/2)
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if seen[k.Value] {
			d.fail(k, join(field, k.Value), "duplicate key")
			continue
		}
		seen[k.Value] = true
		out = append(out, pair{key: k.Value, keyN: k, value: n.Content[i+1]})
	}
	return out
}

// fields reads a mapping with a fixed set of keys: an unknown key is an
// error that lists the known ones (a typo must not be ignored).
func (d *decoder) fields(n *yaml.Node, field string, known ...string) map[string]*yaml.Node {
	out := map[string]*yaml.Node{}
	for _, p := range d.mapping(n, field) {
		ok := false
		for _, k := range known {
			ok = ok || k == p.key
		}
		if !ok {
			sorted := append([]string(nil), known...)
			sort.Strings(sorted)
			d.fail(p.keyN, join(field, p.key), "unknown field (known: %s)", strings.Join(sorted, ", "))
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
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		d.fail(n, field, "want a string, got %s", kindName(n))
		return ""
	}
	return n.Value
}

func (d *decoder) boolean(n *yaml.Node, field string) bool {
	if n == nil {
		return false
	}
	var b bool
	if n.Kind != yaml.ScalarNode || n.Decode(&b) != nil {
		d.fail(n, field, "want true or false, got %q", n.Value)
	}
	return b
}

// strings reads a list of strings; a single string is a list of one.
func (d *decoder) strings(n *yaml.Node, field string) []string {
	if n == nil {
		return nil
	}
	if n.Kind == yaml.ScalarNode {
		return []string{d.str(n, field)}
	}
	if n.Kind != yaml.SequenceNode {
		d.fail(n, field, "want a list of strings, got %s", kindName(n))
		return nil
	}
	out := make([]string, 0, len(n.Content))
	for i, e := range n.Content {
		out = append(out, d.str(e, fmt.Sprintf("%s[%d]", field, i)))
	}
	return out
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	if n.Tag == "!!null" {
		return "nothing"
	}
	return fmt.Sprintf("%q", n.Value)
}

func join(field, key string) string {
	if field == "" {
		return key
	}
	return field + "." + key
}
