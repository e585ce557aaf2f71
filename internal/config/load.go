package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Load reads, expands, decodes and validates a config file. Every error
// names the file, the line and the key: "panoptes.yaml:12: snmp.timeout: ...".
func Load(path string) (*Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(path, raw, os.LookupEnv)
}

// Parse decodes raw as the config file named file, expanding ${VAR} with lookup.
func Parse(file string, raw []byte, lookup func(string) (string, bool)) (*Config, error) {
	expanded, err := expandEnv(file, raw, lookup)
	if err != nil {
		return nil, err
	}
	var root yaml.Node
	if err := yaml.Unmarshal(expanded, &root); err != nil {
		return nil, decodeError(file, nil, err)
	}
	keys := indexKeys(&root)

	cfg := Default()
	cfg.file = file
	cfg.keys = keys
	dec := yaml.NewDecoder(bytes.NewReader(expanded))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return nil, decodeError(file, keys, err)
	}
	cfg.resolvePaths(filepath.Dir(file))
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

var envRef = regexp.MustCompile(`\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

// expandEnv replaces ${VAR} and ${VAR:-default}; $$ is a literal $. An unset
// variable without a default is an error naming its line, so a missing secret
// is caught at start-up rather than sent to a device as an empty community.
func expandEnv(file string, raw []byte, lookup func(string) (string, bool)) ([]byte, error) {
	var errs []error
	lines := bytes.Split(raw, []byte("\n"))
	for i, line := range lines {
		if bytes.HasPrefix(bytes.TrimSpace(line), []byte("#")) {
			continue
		}
		lines[i] = envRef.ReplaceAllFunc(line, func(m []byte) []byte {
			if string(m) == "$$" {
				return []byte("$")
			}
			sub := envRef.FindSubmatch(m)
			name := string(sub[1])
			if v, ok := lookup(name); ok {
				if strings.ContainsAny(v, "\n\r") {
					errs = append(errs, fmt.Errorf("%s:%d: environment variable %s contains a newline; config values must be one line", file, i+1, name))
					return nil
				}
				return []byte(v)
			}
			if sub[2] != nil {
				return sub[3]
			}
			errs = append(errs, fmt.Errorf("%s:%d: environment variable %s is not set (set it, or write ${%s:-default})", file, i+1, name, name))
			return nil
		})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return bytes.Join(lines, []byte("\n")), nil
}

// indexKeys maps every key path ("polling.plugins[0].interval") to its line,
// and remembers which path starts on each line, so decode errors (which only
// know a line) can name their key.
type keyIndex struct {
	line   map[string]int
	byLine map[int]string
}

func indexKeys(root *yaml.Node) *keyIndex {
	ix := &keyIndex{line: map[string]int{}, byLine: map[int]string{}}
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, path)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				p := k.Value
				if path != "" {
					p = path + "." + k.Value
				}
				ix.line[p] = k.Line
				if _, seen := ix.byLine[k.Line]; !seen || len(p) > len(ix.byLine[k.Line]) {
					ix.byLine[k.Line] = p
				}
				walk(v, p)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				p := fmt.Sprintf("%s[%d]", path, i)
				ix.line[p] = c.Line
				if _, seen := ix.byLine[c.Line]; !seen {
					ix.byLine[c.Line] = p
				}
				walk(c, p)
			}
		}
	}
	walk(root, "")
	return ix
}

var (
	lineErr     = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
	unknownKey  = regexp.MustCompile(`^field (\S+) not found in type (\S+)$`)
	cannotUnmar = regexp.MustCompile("^cannot unmarshal !!(\\w+)(?: `(.*)`)? into (\\S+)$")
)

// decodeError rewrites yaml.v3's "line N: ..." messages as "file:N: key: ...".
func decodeError(file string, keys *keyIndex, err error) error {
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
			errs = append(errs, fmt.Errorf("%s: %s", file, msg))
			continue
		}
		line, _ := strconv.Atoi(m[1])
		text := m[2]
		key := ""
		if keys != nil {
			key = keys.byLine[line]
		}
		if u := unknownKey.FindStringSubmatch(text); u != nil {
			text = fmt.Sprintf("unknown key %q (check its spelling and indentation; see the config reference in README.md)", u[1])
		} else if c := cannotUnmar.FindStringSubmatch(text); c != nil {
			if c[2] != "" {
				text = fmt.Sprintf("%q is a %s, want %s", c[2], yamlKind(c[1]), goKind(c[3]))
			} else {
				text = fmt.Sprintf("found a %s, want %s", yamlKind(c[1]), goKind(c[3]))
			}
		}
		if key != "" {
			errs = append(errs, fmt.Errorf("%s:%d: %s: %s", file, line, key, text))
		} else {
			errs = append(errs, fmt.Errorf("%s:%d: %s", file, line, text))
		}
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
	case "int", "float", "bool":
		return tag
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
	case strings.HasPrefix(t, "config."):
		return "a mapping"
	}
	return t
}

// File is the path the config was loaded from.
func (c *Config) File() string { return c.file }

// Line returns the line of a key path, or 0 when the key was not written
// (a default value).
func (c *Config) Line(path string) int {
	if c.keys == nil {
		return 0
	}
	return c.keys.line[path]
}

// Errorf makes an error that names the file, the line of path, and path. Use
// it for checks done outside this package (plugin options, sink settings).
func (c *Config) Errorf(path, format string, a ...any) error {
	msg := fmt.Sprintf(format, a...)
	if line := c.Line(path); line > 0 {
		return fmt.Errorf("%s:%d: %s: %s", c.file, line, path, msg)
	}
	// Not written in the file: point at the nearest written parent.
	for p := path; p != ""; {
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
		if line := c.Line(p); line > 0 {
			return fmt.Errorf("%s:%d: %s: %s", c.file, line, path, msg)
		}
	}
	return fmt.Errorf("%s: %s: %s", c.file, path, msg)
}
