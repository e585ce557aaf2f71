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
	"time"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/plugin"
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
	// Rates says a <counter>_rate gauge may be appended to the groups'
	// counters after the poll: a plugin may leave room for them in each
	// group's Metrics (capacity beyond its length), which spares the rates
	// a copy of every group's metrics.
	Rates bool
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

// Factory builds a plugin from its options block (the instance's
// `options:`) without side effects. It decodes the block itself, strictly,
// into its own options type (options.Decode), and returns that error, or a
// *plugin.FieldError naming the option it finds wrong; the family gives
// either its file, line and key.
type Factory func(options plugin.Block) (Plugin, error)

var registry = plugin.NewRegistry[Factory]("polling plugin")

// Register makes a plugin type available under name. It is meant for init
// functions and panics on an empty or duplicate name or a nil factory, so
// that a wiring mistake stops the binary at start instead of silently
// replacing a plugin.
func Register(name string, f Factory) { registry.Register(name, f) }

// Names returns the registered plugin names, sorted.
func Names() []string { return registry.Names() }

// Build builds the plugin registered under name from its options block.
// An unknown name is a *plugin.UnknownError; problems with the options
// name their file, line and key.
func Build(name string, options plugin.Block) (Plugin, error) {
	f, err := registry.Lookup(name)
	if err != nil {
		return nil, err
	}
	p, err := f(options)
	if err != nil {
		return nil, options.Locate(err)
	}
	return p, nil
}

// New builds the plugin registered under name with options given as Go
// values (tests, programs that build a plugin without a config file).
func New(name string, options map[string]any) (Plugin, error) {
	p, err := Build(name, plugin.BlockOf(options))
	var unknown *plugin.UnknownError
	if err != nil && !errors.As(err, &unknown) {
		return nil, fmt.Errorf("polling plugin %s: %w", name, err)
	}
	return p, err
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
