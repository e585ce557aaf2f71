// Package apps is the app family: bus consumers with a job of their own
// (topology, BGP and interface monitors). An app reads the bus (the metrics
// stream, its own buckets), keeps its state in JetStream KV so that any
// node with its role can take over, and writes events to
// panoptes.events.<site>.<kind> on the events stream (internal/event),
// which alerting sinks consume like metric sinks.
//
// Each app type is a folder of its own that registers in init(); its name
// is also a role (config.RegisterRole): a node runs the configured
// instances of the types whose role it has, and by default a node has
// every role.
package apps

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/event"
	"github.com/panoptes-go/panoptes/internal/plugin"
	"github.com/panoptes-go/panoptes/internal/sink"
)

// App is a configured app instance.
type App interface {
	// Run works until ctx ends and returns nil then; an error ends only
	// this app (logged), not the node.
	Run(ctx context.Context, env *Env) error
}

// Deps are what a factory may use besides its block.
type Deps struct {
	// Name is the instance's name; Site is the node's.
	Name, Site string
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Factory builds an app from its options block without side effects (no
// bucket, no consumer until it runs). It decodes the block itself,
// strictly, and reports a bad option as a *plugin.FieldError; the family
// gives it its file, line and key.
type Factory func(options plugin.Block, deps Deps) (App, error)

var registry = plugin.NewRegistry[Factory]("app type")

// Register makes an app type available under name and adds the role of the
// same name; it panics on an empty or duplicate name, a nil factory or a
// name that is a built-in role.
func Register(name string, f Factory) {
	registry.Register(name, f)
	config.RegisterRole(name)
}

// Names lists the registered app types, sorted.
func Names() []string { return registry.Names() }

// Build builds the app of type name from its block. An unknown type is a
// *plugin.UnknownError; problems with the block name file, line and key.
func Build(name string, options plugin.Block, deps Deps) (App, error) {
	f, err := registry.Lookup(name)
	if err != nil {
		return nil, err
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	a, err := f(options, deps)
	if err != nil {
		return nil, options.Locate(err)
	}
	if a == nil {
		return nil, fmt.Errorf("app type %s: the factory returned nothing", name)
	}
	return a, nil
}

// Env is what a running app works with.
type Env struct {
	// Name is the instance's name, Site the node's.
	Name, Site string
	// JS is the bus: the metrics stream, the app's own KV buckets and
	// consumers (durable names should start with "app_" + Name).
	JS jetstream.JetStream
	// Replicas is the bus's replica count for what the app creates.
	Replicas int
	// Handle serves h under pattern (e.g. "GET /api/v1/topology") on the
	// node's HTTP server; it does nothing on a node without one.
	Handle func(pattern string, h http.Handler)
	// Owner decides which partitions of the metrics bus this node's
	// instance reads (sink.Owner: the instances of an app on several nodes
	// split the partitions, as sinks do); nil: every partition.
	Owner  sink.Owner
	Logger *slog.Logger
}

// ConsumerName is the bus consumer of the app instance named name: its
// durable is sink.DurableName(ConsumerName(name)), and a node running the
// instance lists it in its membership (cluster.Member.Consumers) so that
// the instances split the partitions.
func ConsumerName(name string) string { return "app_" + name }

// Publish writes ev to panoptes.events.<site>.<kind> (the site is the
// node's when ev has none) and waits for the events stream, which the node
// creates before its apps run, to store it; the same event published again
// is stored once (its id is the message id).
func (e *Env) Publish(ctx context.Context, ev *event.Event) error {
	if ev.Site == "" {
		ev.Site = e.Site
	}
	if err := event.Publish(ctx, e.JS, ev); err != nil {
		return fmt.Errorf("app %s: %w", e.Name, err)
	}
	return nil
}
