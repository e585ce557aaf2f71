// Package discovery is the discovery family: the Source interface and its
// registry, the parsers sources share (CSV with a header row, Panoptes JSON
// resource sets), and the resource manager, which diffs each new set
// against the inventory and refuses sets that look broken (failed, empty,
// mostly invalid) instead of wiping it. Each source lives in its own folder
// (csv, json, command, http) and registers itself.
package discovery

import (
	"context"
	"fmt"
	"strings"

	"github.com/panoptes-go/panoptes/internal/plugin"
	"github.com/panoptes-go/panoptes/internal/resource"
)

// Source produces the full list of resources it sees. An error means the
// whole source failed (unreadable file, missing header...); rejected rows
// are reported in Result.Rejected instead.
type Source interface {
	Discover(ctx context.Context) (*Result, error)
}

// Result is the outcome of one discovery run.
type Result struct {
	Set      *resource.Set
	Rejected []RowError
	// Rows counts the data rows (or array elements) seen, valid or not.
	Rows int
	// Warnings are problems that did not reject a row, such as a secret
	// column that was dropped. They name columns, never values.
	Warnings []string
}

// RowError is one rejected input row (or JSON array element).
type RowError struct {
	File   string
	Line   int
	Reason string
}

func (e RowError) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Reason) }

// Defaults fill the identity fields a source's rows leave empty (the
// config's discovery.defaults); Build fills what they leave empty with the
// Fallback* values.
type Defaults struct {
	Site, Class, Subclass, Type string
}

// Deps are what a source factory gets besides its block.
type Deps struct {
	// Name is the source's configured name: its resources'
	// resource_plugin, and the label of its messages and metrics.
	Name     string
	Defaults Defaults
}

// Factory builds a source from its block (the instance's keys other than
// name, plugin and the manager's own) without side effects: no file read,
// no command run, no request until Discover. It decodes the block itself,
// strictly (options.Decode), and reports a bad field as a
// *plugin.FieldError; the family gives it its file, line and key.
type Factory func(options plugin.Block, deps Deps) (Source, error)

// Fallbacks for resource fields when neither the source nor the configured
// defaults give a value. Site has no fallback: a resource without one is rejected.
const (
	FallbackClass    = "network"
	FallbackSubclass = "switch"
	FallbackType     = "generic"
)

var registry = plugin.NewRegistry[Factory]("discovery source")

// Register makes a plugin available to Build. It panics on an empty name, a
// nil factory or a name registered twice, so wiring mistakes fail at start-up.
func Register(name string, f Factory) { registry.Register(name, f) }

// Plugins lists the registered plugin names, sorted.
func Plugins() []string { return registry.Names() }

// Build builds the source deps.Name with the plugin registered under name.
// An unknown name is a *plugin.UnknownError; problems with the block name
// their file, line and key.
func Build(name string, options plugin.Block, deps Deps) (Source, error) {
	f, err := registry.Lookup(name)
	if err != nil {
		return nil, err
	}
	if deps.Name == "" {
		return nil, fmt.Errorf("discovery source with plugin %q has no name: set name", name)
	}
	deps.Defaults = deps.Defaults.withFallbacks()
	s, err := f(options, deps)
	if err != nil {
		return nil, options.Locate(err)
	}
	return s, nil
}

// withFallbacks returns d with the built-in fallbacks filled in.
func (d Defaults) withFallbacks() Defaults {
	if d.Class == "" {
		d.Class = FallbackClass
	}
	if d.Subclass == "" {
		d.Subclass = FallbackSubclass
	}
	if d.Type == "" {
		d.Type = FallbackType
	}
	return d
}

// applyDefaults fills the identity fields r leaves empty.
func applyDefaults(r *resource.Resource, d Defaults) {
	fill := func(v *string, def string) {
		if strings.TrimSpace(*v) == "" {
			*v = def
		}
	}
	fill(&r.Site, d.Site)
	fill(&r.Class, d.Class)
	fill(&r.Subclass, d.Subclass)
	fill(&r.Type, d.Type)
}
