package config

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/panoptes-go/panoptes/internal/plugin"
)

// Variables (${VAR}, ${VAR:-default}, $$ for a literal $) are expanded in
// the parsed tree, never in the text: a value is then exactly what the
// variable holds, whatever YAML would make of it ("pub #lic" is not cut at
// the #, 'q' keeps its quotes, { [ * & are not syntax). Before parsing,
// each reference is swapped for a token that is plain text anywhere in
// YAML (so that an unquoted ${VAR} inside {...} still parses, as it did),
// and the tokens are replaced in every key and value of the tree.

var (
	envRef   = regexp.MustCompile(`\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)
	tokenRef = regexp.MustCompile(`\$\$|__panoptes_var_(\d+)__`)
)

// varRef is one ${...} of the file.
type varRef struct {
	name, def string
	hasDef    bool
	line      int
}

// protectRefs replaces each ${...} of raw by a token; $$ stays (it is
// plain text to YAML) and is read in the tree.
func protectRefs(raw []byte) ([]byte, []varRef) {
	var refs []varRef
	lines := bytes.Split(raw, []byte("\n"))
	for i, line := range lines {
		if !bytes.Contains(line, []byte("${")) {
			continue
		}
		lines[i] = envRef.ReplaceAllFunc(line, func(m []byte) []byte {
			if string(m) == "$$" {
				return m
			}
			sub := envRef.FindSubmatch(m)
			refs = append(refs, varRef{name: string(sub[1]), def: string(sub[3]), hasDef: sub[2] != nil, line: i + 1})
			return []byte("__panoptes_var_" + strconv.Itoa(len(refs)-1) + "__")
		})
	}
	return bytes.Join(lines, []byte("\n")), refs
}

// expandTree replaces the tokens and $$ in every key and scalar value. An
// unset variable without a default is an error naming its line, so a
// missing secret is caught at start-up rather than sent to a device as an
// empty community; a value with a newline is refused. A reference left in
// a comment is never read.
func expandTree(doc *plugin.Doc, refs []varRef, lookup func(string) (string, bool)) []error {
	var errs []error
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		switch n.Kind {
		case yaml.MappingNode, yaml.SequenceNode, yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c)
			}
		case yaml.ScalarNode:
			errs = append(errs, expandScalar(doc.File, n, refs, lookup)...)
		}
	}
	if doc.Root != nil {
		walk(doc.Root)
	}
	return errs
}

func expandScalar(file string, n *yaml.Node, refs []varRef, lookup func(string) (string, bool)) []error {
	if !strings.Contains(n.Value, "$$") && !strings.Contains(n.Value, "__panoptes_var_") {
		return nil
	}
	var errs []error
	out := tokenRef.ReplaceAllStringFunc(n.Value, func(m string) string {
		if m == "$$" {
			return "$"
		}
		i, _ := strconv.Atoi(tokenRef.FindStringSubmatch(m)[1])
		if i >= len(refs) {
			return m // not one of ours
		}
		r := refs[i]
		v, ok := lookup(r.name)
		switch {
		case ok && strings.ContainsAny(v, "\n\r"):
			errs = append(errs, &plugin.Error{File: file, Line: r.line,
				Msg: fmt.Sprintf("environment variable %s contains a newline; config values must be one line", r.name)})
			return ""
		case ok:
			return v
		case r.hasDef:
			return r.def
		}
		errs = append(errs, &plugin.Error{File: file, Line: r.line,
			Msg: fmt.Sprintf("environment variable %s is not set (set it, or write ${%s:-default})", r.name, r.name)})
		return ""
	})
	if out == n.Value {
		return errs
	}
	n.Value = out
	if n.Style&(yaml.TaggedStyle|yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) == 0 {
		// A plain value is typed by what it now says, so a number, a
		// boolean or a duration from a variable decodes into its field;
		// only null stays the text it is ("${X:-}" is still empty).
		n.Tag = ""
		if n.Value != "" && n.ShortTag() == "!!null" {
			n.Style = yaml.DoubleQuotedStyle
		}
	}
	return errs
}
