package apps

import (
	"context"
	"log/slog"
	"net/http"
	"sync/atomic"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/panoptes-go/panoptes/internal/event"
	"github.com/panoptes-go/panoptes/internal/sink"
)

// Instance is one configured app.
type Instance struct {
	Name, Type string
	App        App
}

// Host is what a node gives the apps it runs: each gets an Env of its own.
type Host struct {
	Site     string
	JS       jetstream.JetStream
	Replicas int
	Handle   func(pattern string, h http.Handler)
	Owner    sink.Owner // which metrics partitions this node's instances read
	Logger   *slog.Logger
	// Forming retries the events stream's creation while the JetStream
	// cluster forms (nil: once).
	Forming func(ctx context.Context, what string, op func(context.Context) error) error

	prepared atomic.Bool
}

// Prepare creates the events stream the apps write to: before the first
// app runs.
func (h *Host) Prepare(ctx context.Context) error {
	create := func(ctx context.Context) error { return event.EnsureStream(ctx, h.JS, h.Replicas) }
	var err error
	if h.Forming == nil {
		err = create(ctx)
	} else {
		err = h.Forming(ctx, "create the events stream", create)
	}
	h.prepared.Store(err == nil)
	return err
}

// Run runs inst until ctx ends (App.Run), after Prepare: it prepares
// itself when nothing did (a config reload added the node's first app).
func (h *Host) Run(ctx context.Context, inst Instance) error {
	if !h.prepared.Load() {
		if err := h.Prepare(ctx); err != nil {
			return err
		}
	}
	return inst.App.Run(ctx, &Env{Name: inst.Name, Site: h.Site, JS: h.JS, Replicas: h.Replicas, Handle: h.Handle, Owner: h.Owner,
		Logger: h.Logger.With("app", inst.Name, "type", inst.Type)})
}
