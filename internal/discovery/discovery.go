// Package discovery holds the discovery plugins (CSV, Panoptes JSON resource
// sets), which turn an inventory file into a resource.Set, and the resource
// manager, which diffs each new set against the inventory and refuses sets
// that look broken (failed, empty, mostly invalid) instead of wiping it.
package discovery

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/panoptes-go/panoptes/internal/config"
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

// Factory builds a source from its configuration. Defaults are passed as the
// config gives them; plugins fall back to the Fallback* values when empty.
type Factory func(cfg config.Source, defaults config.ResourceDefaults) (Source, error)

// Fallbacks for resource fields when neither the source nor the configured
// defaults give a value. Site has no fallback: a resource without one is rejected.
const (
	FallbackClass    = "network"
	FallbackSubclass = "switch"
	FallbackType     = "generic"
)

var (
	registryMu sync.RWMutex
	registry   = map[string]Factory{}
)

// Register makes a plugin available to New. It panics on an empty name, a nil
// factory or a name registered twice, so wiring mistakes fail at start-up.
func Register(plugin string, f Factory) {
	if plugin == "" {
		panic("discovery: Register with an empty plugin name")
	}
	if f == nil {
		panic("discovery: Register " + plugin + " with a nil factory")
	}
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[plugin]; dup {
		panic("discovery: plugin " + plugin + " registered twice")
	}
	registry[plugin] = f
}

// Plugins lists the registered plugin names, sorted.
func Plugins() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// New builds the source cfg names with the plugin cfg.Plugin.
func New(cfg config.Source, defaults config.ResourceDefaults) (Source, error) {
	registryMu.RLock()
	f, ok := registry[cfg.Plugin]
	registryMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("discovery source %q: unknown plugin %q (known: %s)",
			cfg.Name, cfg.Plugin, strings.Join(Plugins(), ", "))
	}
	if cfg.Name == "" {
		return nil, fmt.Errorf("discovery source with plugin %q has no name: set name", cfg.Plugin)
	}
	s, err := f(cfg, defaults)
	if err != nil {
		return nil, fmt.Errorf("discovery source %q: %w", cfg.Name, err)
	}
	return s, nil
}

// withFallbacks returns d with the built-in fallbacks filled in.
func withFallbacks(d config.ResourceDefaults) config.ResourceDefaults {
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
func applyDefaults(r *resource.Resource, d config.ResourceDefaults) {
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
