// Package poll holds the polling plugin framework (registry, runner, status
// groups) and the built-in SNMP polling plugins.
//
// A plugin turns one check of one resource into metrics groups. The Runner
// wraps every check: it resolves the SNMP target, recovers panics, maps the
// outcome to a Panoptes polling status and appends the `status` group, so a
// plugin only builds its own groups and reports what failed.
package poll

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/snmp"
)

// Request is one check to run.
type Request struct {
	Resource *resource.Resource
	Interval time.Duration
	Target   snmp.Target
	SNMP     *snmp.Pool
	// Now is when the check started: the groups' creation timestamp.
	Now    time.Time
	Logger *slog.Logger
	// Enrich serves slow-changing device data (names, aliases, speeds) to
	// plugins in enrichment mode; nil when the node has no cache.
	Enrich EnrichSource
	// History keeps values between polls for plugins that derive a value
	// from two of them; nil when the node keeps none (a plugin then keeps
	// its own, in memory).
	History History
}

// History keeps the previous value of counter series between checks, per
// resource (*rate.Processor: in memory and in the KV bucket of the rate
// state, so it survives a node restart). Swap stores value read at at
// (epoch seconds) and returns the sample it replaces; ok is false for the
// first sample of a series.
type History interface {
	Swap(ctx context.Context, resourceKey string, series uint64, value uint64, at float64) (prev uint64, prevAt float64, ok bool)
}

// HistoryUser is an optional interface of plugins that use
// Request.History: the node then keeps one even when no plugin asks for
// rates.
type HistoryUser interface {
	UsesHistory() bool
}

// Plugin polls one resource. It returns the groups it could build and an
// error for what failed; groups with a non-nil error mean partial success.
// A plugin instance is shared by all the resources it polls, so Poll must be
// safe for concurrent use.
type Plugin interface {
	Poll(ctx context.Context, req *Request) ([]*metric.Group, error)
}

// Factory builds a plugin from its configured options. Options it does not
// know are an error naming them (see Options).
type Factory func(options map[string]any) (Plugin, error)

var registry = struct {
	sync.RWMutex
	factories map[string]Factory
}{factories: map[string]Factory{}}

// Register makes a plugin type available under name. It is meant for init
// functions and panics on an empty or duplicate name or a nil factory, so
// that a wiring mistake stops the binary at start instead of silently
// replacing a plugin.
func Register(name string, f Factory) {
	if strings.TrimSpace(name) == "" {
		panic("poll.Register: empty plugin name")
	}
	if f == nil {
		panic("poll.Register: nil factory for plugin " + name)
	}
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.factories[name]; dup {
		panic("poll.Register: plugin " + name + " registered twice")
	}
	registry.factories[name] = f
}

// New builds the plugin registered under name with the given options.
func New(name string, options map[string]any) (Plugin, error) {
	registry.RLock()
	f, ok := registry.factories[name]
	registry.RUnlock()
	if !ok {
		return nil, fmt.Errorf("unknown polling plugin %q (registered: %s)", name, strings.Join(Names(), ", "))
	}
	p, err := f(options)
	if err != nil {
		return nil, fmt.Errorf("polling plugin %s: %w", name, err)
	}
	return p, nil
}

// Names returns the registered plugin names, sorted.
func Names() []string {
	registry.RLock()
	defer registry.RUnlock()
	names := make([]string, 0, len(registry.factories))
	for n := range registry.factories {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// StatusError lets a plugin choose the polling status of its failure (for
// example StatusMissingMetrics when the device answered but had no rows)
// instead of the Runner deriving it from the error.
type StatusError struct {
	Status int
	Err    error
}

func (e *StatusError) Error() string { return e.Err.Error() }
func (e *StatusError) Unwrap() error { return e.Err }

// WithStatus wraps err so that the Runner reports status for it.
func WithStatus(status int, err error) error {
	if err == nil {
		return nil
	}
	return &StatusError{Status: status, Err: err}
}

// ErrNoSNMP is returned by SNMP plugins called without a pool.
var ErrNoSNMP = errors.New("no SNMP pool in the request")
