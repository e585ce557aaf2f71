// Package input is the streaming input family: plugins that hold a
// long-lived subscription per resource (gNMI telemetry) instead of polling
// on a schedule. An input is owned like a check, per resource, by the
// rendezvous-hash winner among the site's pollers: the collector opens a
// Stream for each resource this node owns that the instance's filter
// matches, runs it until the resource moves or leaves, and puts what it
// emits through the same rates and publisher as the polls.
//
// A plugin is a folder of its own that registers in init(); the binary's
// internal/plugins/all imports it.
package input

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/plugin"
	"github.com/panoptes-go/panoptes/internal/resource"
)

// Input is a configured streaming input instance. One instance serves
// every resource it streams; Open must be safe for concurrent use.
type Input interface {
	// Open prepares the stream of res (a target from its endpoint and
	// metadata) without connecting. An error (the resource lacks what the
	// input needs) is the resource's status 5 until it changes.
	Open(res *resource.Resource) (Stream, error)
}

// Stream is one resource's subscription.
type Stream interface {
	// Run subscribes until ctx ends and hands every batch of groups to
	// emit, from one goroutine: the rows that changed, and a `status`
	// group (polling_status, dimension plugin) when the stream's state
	// changes and every interval. emit owns each set it gets. Run
	// reconnects by itself; it returns nil when ctx ended and an error
	// only when it cannot go on, after which it is run again later.
	Run(ctx context.Context, emit func(*metric.GroupSet)) error
}

// Deps are what a factory may use besides its block.
type Deps struct {
	// Name is the instance's name: the status group's plugin dimension.
	Name string
	// Interval is the instance's interval: the groups' interval and how
	// often unchanged rows and the status group are published again.
	Interval   time.Duration
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Factory builds an input from its options block (the instance's
// `options:`) without side effects: no connection until a Stream runs. It
// decodes the block itself, strictly, and reports a bad option as a
// *plugin.FieldError; the family gives it its file, line and key.
type Factory func(options plugin.Block, deps Deps) (Input, error)

var registry = plugin.NewRegistry[Factory]("streaming input")

// Register makes an input available under name; it panics on an empty or
// duplicate name or a nil factory (a wiring mistake).
func Register(name string, f Factory) { registry.Register(name, f) }

// Names lists the registered inputs, sorted.
func Names() []string { return registry.Names() }

// Build builds the input registered under name from its block. An unknown
// name is a *plugin.UnknownError; problems with the block name their
// file, line and key.
func Build(name string, options plugin.Block, deps Deps) (Input, error) {
	f, err := registry.Lookup(name)
	if err != nil {
		return nil, err
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	in, err := f(options, deps)
	if err != nil {
		return nil, options.Locate(err)
	}
	if in == nil {
		return nil, fmt.Errorf("streaming input %s: the factory returned nothing", name)
	}
	return in, nil
}
