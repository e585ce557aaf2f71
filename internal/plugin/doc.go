package plugin

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// Doc is a parsed config file: its YAML tree and the line of every key path
// ("polling.plugins[0].interval"), so that any problem found later, by the
// core config or by a plugin decoding its block, names file, line and key.
type Doc struct {
	// File is the path the text came from, as given; "" for a block made
	// in Go (BlockOf), whose errors then name only keys.
	File string
	// Root is the document's top node (nil for an empty file).
	Root *yaml.Node

	mu     sync.Mutex
	line   map[string]int // key path → line
	byLine map[int]string // line → the key path that starts on it
}

// ParseDoc parses raw as the YAML config file named file. A syntax error
// is returned as file:line: reason.
func ParseDoc(file string, raw []byte) (*Doc, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(raw, &root); err != nil {
		d := &Doc{File: file}
		return nil, d.translate(err)
	}
	d := &Doc{File: file}
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		d.Root = root.Content[0]
	}
	d.index()
	return d, nil
}

// Reindex records the key paths again after the tree's keys were changed
// (variables expanded in them).
func (d *Doc) Reindex() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.index()
}

// index records the line of every key path, and which path starts on each
// line: yaml.v3's type errors know only a line.
func (d *Doc) index() {
	d.line, d.byLine = map[string]int{}, map[int]string{}
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				p := join(path, k.Value)
				d.line[p] = k.Line
				if _, seen := d.byLine[k.Line]; !seen || len(p) > len(d.byLine[k.Line]) {
					d.byLine[k.Line] = p
				}
				walk(v, p)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				p := fmt.Sprintf("%s[%d]", path, i)
				d.line[p] = c.Line
				if _, seen := d.byLine[c.Line]; !seen {
					d.byLine[c.Line] = p
				}
				walk(c, p)
			}
		}
	}
	if d.Root != nil {
		walk(d.Root, "")
	}
}

// Line returns the line of a key path, or 0 when the key was not written.
func (d *Doc) Line(key string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.line[key]
}

// alias records that key (a secret read from key_file) is at line.
func (d *Doc) alias(key string, line int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.line[key]; !ok {
		d.line[key] = line
	}
}

// Errorf makes an *Error at key. A key that was not written (a default
// value) is shown at the line of its nearest written parent.
func (d *Doc) Errorf(key, format string, a ...any) error {
	return &Error{File: d.File, Line: d.lineOrParent(key), Key: key, Msg: fmt.Sprintf(format, a...)}
}

func (d *Doc) lineOrParent(key string) int {
	for p := key; p != ""; {
		if line := d.Line(p); line > 0 {
			return line
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return 0
}

// Abs makes a relative path relative to the config file's directory, so a
// config works from any working directory.
func (d *Doc) Abs(path string) string {
	if path == "" || filepath.IsAbs(path) || d == nil || d.File == "" {
		return path
	}
	return filepath.Join(filepath.Dir(d.File), path)
}

var (
	lineErr     = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
	unknownKey  = regexp.MustCompile(`^field (\S+) not found in type (\S+)$`)
	cannotUnmar = regexp.MustCompile("^cannot unmarshal !!(\\w+)(?: `(.*)`)? into (\\S+)$")
)

// translate rewrites yaml.v3's "line N: ..." messages as *Errors, naming
// the key that starts on line N.
func (d *Doc) translate(err error) error {
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{err.Error()}
	}
	var errs []error
	for _, msg := range msgs {
		m := lineErr.FindStringSubmatch(msg)
		if m == nil {
			errs = append(errs, &Error{File: d.File, Msg: msg})
			continue
		}
		line, _ := strconv.Atoi(m[1])
		text := m[2]
		if u := unknownKey.FindStringSubmatch(text); u != nil {
			text = fmt.Sprintf("unknown key %q (check its spelling and indentation; see the config reference in README.md)", u[1])
		} else if c := cannotUnmar.FindStringSubmatch(text); c != nil {
			if c[2] != "" {
				text = fmt.Sprintf("%q is a %s, want %s", c[2], yamlKind(c[1]), goKind(c[3]))
			} else {
				text = fmt.Sprintf("found a %s, want %s", yamlKind(c[1]), goKind(c[3]))
			}
		}
		d.mu.Lock()
		key := d.byLine[line]
		d.mu.Unlock()
		errs = append(errs, &Error{File: d.File, Line: line, Key: key, Msg: text})
	}
	return errors.Join(errs...)
}

func yamlKind(tag string) string {
	switch tag {
	case "str":
		return "string"
	case "seq":
		return "list"
	case "map":
		return "mapping"
	}
	return tag
}

func goKind(t string) string {
	switch {
	case strings.HasPrefix(t, "[]"):
		return "a list"
	case strings.HasPrefix(t, "map["):
		return "a mapping"
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"):
		return "an integer"
	case strings.HasPrefix(t, "float"):
		return "a number"
	case t == "bool":
		return "true or false"
	case t == "string":
		return "a string"
	case strings.Contains(t, "."): // a struct of the config or of a plugin
		return "a mapping"
	}
	return t
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
