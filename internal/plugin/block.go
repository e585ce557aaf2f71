package plugin

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Block is a plugin's own part of the config file: the mapping it decodes
// itself (Decode), strictly, into its own options type. For a polling
// plugin it is the instance's `options:`; for a sink or a discovery source,
// whose settings sit beside the common keys (name, type, ...), it is the
// instance's mapping minus those keys.
//
// The core config declares a block as a field of type Block: tagged with a
// key (`yaml:"options"`) it is that key's value; tagged `yaml:",inline"` it
// is every key the struct's other fields do not take.
type Block struct {
	node *yaml.Node
	omit []string // keys of node that are not the plugin's (inline blocks)
	doc  *Doc
	key  string
	err  error // BlockOf could not encode its value
	// print is the fingerprint taken when the file was loaded (attach).
	print string
}

// UnmarshalYAML keeps the node; the plugin decodes it later.
func (b *Block) UnmarshalYAML(n *yaml.Node) error {
	b.node = n
	return nil
}

// Key is the block's key path in its file: "sinks[0]",
// "polling.plugins[1].options".
func (b Block) Key() string { return b.key }

// Empty reports whether the block holds none of the plugin's keys.
func (b Block) Empty() bool {
	m := b.mapping()
	return m == nil || len(m.Content) == 0
}

// Decode decodes the block into into (a pointer to the plugin's options,
// holding its defaults), strictly: an unknown key, a value of the wrong
// type or an unreadable <secret>_file is an *Error naming file, line and
// key, and all of them are reported at once. An absent block leaves into
// as it is.
func (b Block) Decode(into any) error {
	if b.err != nil {
		return b.err
	}
	n := resolveAlias(b.node)
	if n == nil || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null") {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return &Error{File: b.d().File, Line: n.Line, Key: b.key, Msg: fmt.Sprintf("found a %s, want a mapping", kindName(n))}
	}
	return b.d().decode(b.mapping(), b.key, into, true, b.omit)
}

// Errorf makes an *Error at a field of the block ("url", "tls.ca_file").
func (b Block) Errorf(field, format string, a ...any) error {
	return b.d().Errorf(sub(b.key, field), format, a...)
}

// Locate gives each error in err its file, line and key: an *Error is kept,
// a *FieldError is placed at its field of the block, any other error at the
// block itself. Families call it on what a factory returned.
func (b Block) Locate(err error) error {
	if err == nil {
		return nil
	}
	var out []error
	for _, e := range Flatten(err) {
		var pe *Error
		var fe *FieldError
		switch {
		case errors.As(e, &pe):
			out = append(out, pe)
		case errors.As(e, &fe):
			out = append(out, b.Errorf(fe.Field, "%s", fe.Msg))
		default:
			out = append(out, b.d().Errorf(b.key, "%s", e.Error()))
		}
	}
	return errors.Join(out...)
}

// Abs makes a relative path relative to the config file's directory.
func (b Block) Abs(path string) string { return b.d().Abs(path) }

func (b Block) d() *Doc {
	if b.doc == nil {
		return &Doc{}
	}
	return b.doc
}

// mapping is the plugin's part of the node: without the omitted keys, with
// the keys of merged mappings ("<<: *base") brought in.
func (b Block) mapping() *yaml.Node {
	n := resolveAlias(b.node)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	if len(b.omit) == 0 {
		return n
	}
	m := *n
	m.Content = nil
	keys, vals := flatMapping(n)
	for i, k := range keys {
		if !slices.Contains(b.omit, k.Value) {
			m.Content = append(m.Content, k, vals[i])
		}
	}
	return &m
}

// BlockOf makes a block from a Go value (a map or a struct with yaml tags),
// for tests and for Go callers that hold options as values. Its errors name
// keys but no file.
func BlockOf(v any) Block {
	var n yaml.Node
	if err := n.Encode(v); err != nil {
		return Block{err: fmt.Errorf("options %v: %w", v, err)}
	}
	line := 0
	numberLines(&n, &line)
	d := &Doc{Root: &n}
	d.index()
	return Block{node: &n, doc: d}
}

// numberLines gives an encoded tree (which has no lines) one line per key
// or list item, so that errors find their key as they do in a file.
func numberLines(n *yaml.Node, line *int) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			*line++
			n.Content[i].Line, n.Content[i+1].Line = *line, *line
			numberLines(n.Content[i+1], line)
		}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			*line++
			c.Line = *line
			numberLines(c, line)
		}
	}
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "list"
	case yaml.MappingNode:
		return "mapping"
	}
	return yamlKind(strings.TrimPrefix(n.ShortTag(), "!!"))
}

// sub is the key path of field under key.
func sub(key, field string) string {
	switch {
	case field == "":
		return key
	case key == "":
		return field
	case strings.HasPrefix(field, "["):
		return key + field
	}
	return key + "." + field
}
