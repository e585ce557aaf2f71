package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/panoptes-go/panoptes/internal/plugin"
)

// Check validates what the config package cannot see itself: the plugins'
// blocks, which only their plugins decode (node.Check builds every plugin,
// source and sink). Its errors join the config's own.
type Check func(*Config) error

// Load reads, expands, decodes and validates a config file, then runs the
// checks. Every error names the file, the line and the key
// ("panoptes.yaml:12: snmp.timeout: ..."), and one run reports all of them,
// sorted by line: a value that does not decode keeps its default and the
// rest of the file is still checked.
func Load(path string, checks ...Check) (*Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(path, raw, os.LookupEnv, checks...)
}

// Parse decodes raw as the config file named file, expanding ${VAR} with
// lookup, and runs the checks (see Load).
func Parse(file string, raw []byte, lookup func(string) (string, bool), checks ...Check) (*Config, error) {
	protected, refs := protectRefs(raw)
	doc, err := plugin.ParseDoc(file, protected)
	if err != nil {
		return nil, err
	}
	// Problems of single values first: unset variables, values that do
	// not decode. Checks of the values come after, and one of them that
	// lands on a line already reported is the same problem seen again
	// (a field left at its default), so it is left out.
	early := expandTree(doc, refs, lookup)
	doc.Reindex() // keys may have held variables
	cfg := Default()
	cfg.doc = doc
	if err := doc.Decode(cfg); err != nil {
		early = append(early, err)
	}
	cfg.resolvePaths(filepath.Dir(file))
	late := []error{cfg.Validate()}
	for _, check := range checks {
		late = append(late, check(cfg))
	}
	if err := joinProblems(early, late); err != nil {
		return nil, err
	}
	return cfg, nil
}

// joinProblems joins early and late problems sorted by line, leaving out
// late ones on a line an early one already names.
func joinProblems(early, late []error) error {
	reported := map[int]bool{}
	for _, e := range plugin.Flatten(plugin.Join(early...)) {
		if l := plugin.LineOf(e); l > 0 {
			reported[l] = true
		}
	}
	all := early
	for _, e := range plugin.Flatten(plugin.Join(late...)) {
		if l := plugin.LineOf(e); l == 0 || !reported[l] {
			all = append(all, e)
		}
	}
	return plugin.Join(all...)
}

// File is the path the config was loaded from.
func (c *Config) File() string { return c.doc.File }

// Line returns the line of a key path, or 0 when the key was not written
// (a default value).
func (c *Config) Line(path string) int { return c.doc.Line(path) }

// Errorf makes an error that names the file, the line of path, and path;
// a path that was not written is shown at its nearest written parent. Use
// it for checks done outside this package.
func (c *Config) Errorf(path, format string, a ...any) error {
	return c.doc.Errorf(path, format, a...)
}

// Locate gives the error a plugin family returned for instance i of list
// ("sinks", "discovery.sources", "polling.plugins") its file, line and key:
// an unknown plugin is shown at the instance's nameKey ("type", "plugin"),
// an error the plugin's block already located is kept, a
// *plugin.FieldError is placed under the instance, anything else at the
// instance itself.
func (c *Config) Locate(list string, i int, nameKey string, err error) error {
	at := fmt.Sprintf("%s[%d]", list, i)
	var out []error
	for _, e := range plugin.Flatten(err) {
		var located *plugin.Error
		var unknown *plugin.UnknownError
		var field *plugin.FieldError
		switch {
		case errors.As(e, &located):
			out = append(out, located)
		case errors.As(e, &unknown):
			out = append(out, c.Errorf(at+"."+nameKey, "%v", unknown))
		case errors.As(e, &field):
			out = append(out, c.Errorf(at+"."+field.Field, "%s", field.Msg))
		default:
			out = append(out, c.Errorf(at, "%v", e))
		}
	}
	return errors.Join(out...)
}
