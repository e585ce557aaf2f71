package plugin

import (
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// Decode decodes the whole file into into, strictly: an unknown key, a
// value of the wrong type and an unreadable secret file are errors naming
// file, line and key, and decoding goes on past each so that all of them
// are reported at once. Blocks in into (fields of type Block) are attached
// to the file, ready for their plugin to decode.
func (d *Doc) Decode(into any) error {
	if d.Root == nil {
		return nil
	}
	return d.decode(d.Root, "", into, false, nil)
}

// decode decodes n, the node at key, into into. In a plugin's block an
// unknown key's message lists the known keys (the fields of into, and known
// at the top) rather than pointing at README.md.
func (d *Doc) decode(n *yaml.Node, key string, into any, block bool, known []string) error {
	n = cloneNode(n, map[*yaml.Node]*yaml.Node{})
	t := reflect.TypeOf(into)
	if t == nil || t.Kind() != reflect.Pointer {
		return fmt.Errorf("plugin: decode into %T: want a pointer", into)
	}
	w := &walker{doc: d, known: known, block: block}
	w.check(n, t, key, true)
	errs := w.errs
	if err := n.Decode(into); err != nil {
		errs = append(errs, d.translate(err))
	}
	d.attach(n, reflect.ValueOf(into), key)
	return errors.Join(errs...)
}

var (
	blockType       = reflect.TypeFor[Block]()
	nodeType        = reflect.TypeFor[yaml.Node]()
	unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()
)

// walker checks a tree against the Go type it is decoded into (yaml.v3
// decodes a node leniently) and reads secrets given as <key>_file.
type walker struct {
	doc   *Doc
	known []string // extra known keys at the top of a plugin's block
	block bool     // a plugin's block: list the known keys in messages
	errs  []error
}

func (w *walker) check(n *yaml.Node, t reflect.Type, key string, top bool) {
	n = resolveAlias(n)
	if n == nil {
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nodeType || t.Implements(unmarshalerType) || reflect.PointerTo(t).Implements(unmarshalerType) {
		return // decodes itself
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return // yaml.v3 reports the type error
		}
		si := structInfoOf(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if isMerge(k) {
				for _, m := range mergedMappings(v) {
					w.check(m, t, key, top)
				}
				continue
			}
			if f, ok := si.fields[k.Value]; ok {
				w.check(v, f.typ, join(key, k.Value), false)
				continue
			}
			if base, ok := strings.CutSuffix(k.Value, "_file"); ok && si.fields[base].secret {
				w.secretFile(n, i, base, key)
				continue
			}
			if si.rest == nil {
				w.unknown(k, join(key, k.Value), si, top)
			}
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			w.check(n.Content[i+1], t.Elem(), join(key, n.Content[i].Value), false)
		}
	case reflect.Slice, reflect.Array:
		if n.Kind != yaml.SequenceNode {
			return
		}
		for i, c := range n.Content {
			w.check(c, t.Elem(), fmt.Sprintf("%s[%d]", key, i), false)
		}
	}
}

func (w *walker) unknown(k *yaml.Node, key string, si *structInfo, top bool) {
	msg := fmt.Sprintf("unknown key %q (check its spelling and indentation; see the config reference in README.md)", k.Value)
	if w.block {
		names := slices.Clone(si.names)
		if top {
			names = append(names, w.known...)
		}
		slices.Sort(names)
		msg = fmt.Sprintf("unknown key %q (check its spelling and indentation; known keys here: %s)", k.Value, strings.Join(slices.Compact(names), ", "))
	}
	w.errs = append(w.errs, &Error{File: w.doc.File, Line: k.Line, Key: key, Msg: msg})
}

// secretFile replaces "<base>_file: path" in mapping m by "<base>: <the
// file's content>", its trailing newlines trimmed. The secret never
// appears in an error; the path may.
func (w *walker) secretFile(m *yaml.Node, i int, base, key string) {
	k, v := m.Content[i], m.Content[i+1]
	fileKey := join(key, k.Value)
	fail := func(format string, a ...any) {
		w.errs = append(w.errs, &Error{File: w.doc.File, Line: k.Line, Key: fileKey, Msg: fmt.Sprintf(format, a...)})
	}
	w.doc.alias(join(key, base), k.Line) // later problems with the secret point here
	for j := 0; j+1 < len(m.Content); j += 2 {
		if m.Content[j].Value == base {
			fail("is set together with %s; give one of them", base)
			return
		}
	}
	v = resolveAlias(v)
	if v == nil || v.Kind != yaml.ScalarNode || strings.TrimSpace(v.Value) == "" {
		fail("want the path of a file that holds %s", base)
		return
	}
	raw, err := readSecretFile(w.doc.Abs(v.Value))
	if err != nil {
		fail("cannot read %s from it: %v", base, err)
		return
	}
	m.Content[i] = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: base, Line: k.Line, Column: k.Column}
	m.Content[i+1] = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Style: yaml.DoubleQuotedStyle,
		Value: strings.TrimRight(string(raw), "\r\n"), Line: v.Line, Column: v.Column}
}

// maxSecretFile bounds a <secret>_file: secrets are short, and a path to a
// device, a pipe or a large file given by mistake must fail at once, not
// hang the loader or fill its memory (/dev/zero did both).
const maxSecretFile = 64 << 10

// readSecretFile reads a regular file of at most maxSecretFile bytes.
func readSecretFile(path string) ([]byte, error) {
	if fi, err := os.Stat(path); err == nil && !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return nil, err
	}
	if len(raw) > maxSecretFile {
		return nil, fmt.Errorf("%s is larger than %d KiB: not a secret", path, maxSecretFile>>10)
	}
	return raw, nil
}

// attach gives every Block in v (decoded from n, at key) its file and key
// path; an inline Block gets its struct's mapping minus the struct's keys.
func (d *Doc) attach(n *yaml.Node, v reflect.Value, key string) {
	n = resolveAlias(n)
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	if n == nil || !containsBlock(v.Type()) {
		return
	}
	t := v.Type()
	if t == blockType {
		b := v.Addr().Interface().(*Block)
		b.doc, b.key = d, key
		b.print = b.fingerprint()
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return
		}
		si := structInfoOf(t)
		if si.rest != nil && si.restIsBlock {
			b := v.FieldByIndex(si.rest).Addr().Interface().(*Block)
			b.doc, b.key, b.omit = d, key, si.names
			b.print = b.fingerprint()
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			if isMerge(k) {
				for _, m := range mergedMappings(val) {
					d.attach(m, v, key)
				}
			} else if f, ok := si.fields[k.Value]; ok {
				d.attach(val, v.FieldByIndex(f.index), join(key, k.Value))
			}
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode || v.IsNil() || t.Key().Kind() != reflect.String {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			mk := reflect.ValueOf(n.Content[i].Value).Convert(t.Key())
			mv := v.MapIndex(mk)
			if !mv.IsValid() {
				continue
			}
			e := reflect.New(t.Elem()).Elem()
			e.Set(mv)
			d.attach(n.Content[i+1], e, join(key, n.Content[i].Value))
			v.SetMapIndex(mk, e)
		}
	case reflect.Slice, reflect.Array:
		if n.Kind != yaml.SequenceNode {
			return
		}
		for i := 0; i < len(n.Content) && i < v.Len(); i++ {
			d.attach(n.Content[i], v.Index(i), fmt.Sprintf("%s[%d]", key, i))
		}
	}
}

// structInfo is what decoding needs of a struct type: its keys, which of
// them hold secrets, and where the keys no field takes go.
type structInfo struct {
	fields      map[string]fieldInfo
	names       []string // sorted
	rest        []int    // field index of an inline Block or map; nil when none
	restIsBlock bool
}

type fieldInfo struct {
	index  []int
	typ    reflect.Type
	secret bool // tagged secret:"true": <key>_file reads it from a file
}

var structInfos sync.Map // reflect.Type → *structInfo

func structInfoOf(t reflect.Type) *structInfo {
	if si, ok := structInfos.Load(t); ok {
		return si.(*structInfo)
	}
	si := &structInfo{fields: map[string]fieldInfo{}}
	var add func(t reflect.Type, prefix []int)
	add = func(t reflect.Type, prefix []int) {
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			tag := f.Tag.Get("yaml")
			if tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			index := append(slices.Clone(prefix), i)
			if slices.Contains(strings.Split(opts, ","), "inline") {
				switch {
				case f.Type == blockType:
					si.rest, si.restIsBlock = index, true
				case f.Type.Kind() == reflect.Map:
					si.rest = index
				case f.Type.Kind() == reflect.Struct:
					add(f.Type, index)
				}
				continue
			}
			if name == "" {
				name = strings.ToLower(f.Name)
			}
			_, secret := f.Tag.Lookup("secret")
			si.fields[name] = fieldInfo{index: index, typ: f.Type, secret: secret}
			si.names = append(si.names, name)
		}
	}
	add(t, nil)
	slices.Sort(si.names)
	structInfos.Store(t, si)
	return si
}

var (
	blockMu  sync.Mutex
	hasBlock = map[reflect.Type]bool{}
)

// containsBlock reports whether a value of type t can hold a Block, so
// attach skips the rest of the config quickly.
func containsBlock(t reflect.Type) bool {
	blockMu.Lock()
	defer blockMu.Unlock()
	return containsBlockLocked(t)
}

func containsBlockLocked(t reflect.Type) bool {
	if v, ok := hasBlock[t]; ok {
		return v
	}
	hasBlock[t] = false // a recursive type holds no Block through itself
	var r bool
	switch t.Kind() {
	case reflect.Struct:
		if t == blockType {
			r = true
			break
		}
		for i := range t.NumField() {
			if f := t.Field(i); f.IsExported() && f.Tag.Get("yaml") != "-" && containsBlockLocked(f.Type) {
				r = true
				break
			}
		}
	case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
		r = containsBlockLocked(t.Elem())
	}
	hasBlock[t] = r
	return r
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func isMerge(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.Value == "<<" && (k.Tag == "!!merge" || k.Tag == "tag:yaml.org,2002:merge")
}

// mergedMappings are the mappings a merge key ("<<: *base" or
// "<<: [*a, *b]") brings in.
func mergedMappings(v *yaml.Node) []*yaml.Node {
	v = resolveAlias(v)
	if v == nil {
		return nil
	}
	if v.Kind == yaml.MappingNode {
		return []*yaml.Node{v}
	}
	var out []*yaml.Node
	if v.Kind == yaml.SequenceNode {
		for _, c := range v.Content {
			if c = resolveAlias(c); c != nil && c.Kind == yaml.MappingNode {
				out = append(out, c)
			}
		}
	}
	return out
}

// cloneNode copies a tree (aliases point into the copy), so decoding, which
// rewrites secret keys, leaves the parsed file as it was.
func cloneNode(n *yaml.Node, seen map[*yaml.Node]*yaml.Node) *yaml.Node {
	if n == nil {
		return nil
	}
	if c, ok := seen[n]; ok {
		return c
	}
	c := *n
	seen[n] = &c
	c.Alias = cloneNode(n.Alias, seen)
	if n.Content != nil {
		c.Content = make([]*yaml.Node, len(n.Content))
		for i, ch := range n.Content {
			c.Content[i] = cloneNode(ch, seen)
		}
	}
	return &c
}
