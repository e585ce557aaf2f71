package topology

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/panoptes-go/panoptes/internal/apps"
	"github.com/panoptes-go/panoptes/internal/apps/tracker"
	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/inventory"
	"github.com/panoptes-go/panoptes/internal/sink"
)

// DefaultReconcileInterval is how often link changes are looked for.
const DefaultReconcileInterval = 30 * time.Second

// Paths are the HTTP patterns Handler serves.
var Paths = []string{"GET /api/v1/topology", "GET /api/v1/topology/devices/{id}", "GET /api/v1/topology.dot"}

// RunOptions configure the app as a node runs it.
type RunOptions struct {
	// Name is the instance's name: its durable consumer of the metrics
	// stream is the sink "app_<name>"'s (sink.DurableName).
	Name string
	// Replicas of the buckets and streams it creates (the bus's).
	Replicas int
	// Handle mounts the graph's handler on the node's HTTP server (Paths);
	// nil: not served.
	Handle            func(pattern string, h http.Handler)
	ReconcileInterval time.Duration // default DefaultReconcileInterval
	// Owner decides which partitions of the metrics bus this instance
	// reads when the app runs on several nodes (apps.Env.Owner); nil: all.
	Owner      sink.Owner
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Run runs the topology app on a node until ctx ends: it follows the
// inventory (its KV bucket), reads the neighbour groups of every site as a
// durable consumer of each partition of the metrics bus (the nodes with
// the role split the partitions, o.Owner: each group is folded once, and
// the records in KV are every node's), serves the graph, and records link changes as events
// every interval on the one node holding the reconciler lease (a KV entry
// renewed by compare-and-set; taken over after 3 intervals without
// renewal). It returns nil when ctx ended.
func Run(ctx context.Context, js jetstream.JetStream, o RunOptions) error {
	if o.Name == "" {
		o.Name = "topology"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.ReconcileInterval <= 0 {
		o.ReconcileInterval = DefaultReconcileInterval
	}
	store, err := inventory.Open(ctx, js, o.Replicas)
	if err != nil {
		return fmt.Errorf("topology: %w", err)
	}
	inv, err := store.Watch(ctx, o.Logger)
	if err != nil {
		return fmt.Errorf("topology: %w", err)
	}
	defer inv.Stop()
	tr, err := tracker.Open(ctx, js, tracker.Options{Replicas: o.Replicas, Logger: o.Logger, Registerer: o.Registerer})
	if err != nil {
		return fmt.Errorf("topology: %w", err)
	}
	app, err := Open(ctx, js, Options{Replicas: o.Replicas, Inventory: inv, Tracker: tr, Logger: o.Logger})
	if err != nil {
		return fmt.Errorf("topology: %w", err)
	}
	defer app.Close()
	consumer, err := sink.NewFor(config.Sink{Name: apps.ConsumerName(o.Name), Subjects: Subjects()}, app,
		sink.Deps{Logger: o.Logger, Registerer: o.Registerer, Owner: o.Owner, Replicas: o.Replicas})
	if err != nil {
		return fmt.Errorf("topology: %w", err)
	}
	if o.Handle != nil {
		h := app.Handler()
		for _, p := range Paths {
			o.Handle(p, h)
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		app.reconcileWhileLeader(ctx, newLease(app.st.kv, 3*o.ReconcileInterval, time.Now), o.ReconcileInterval)
	}()
	err = consumer.Run(ctx, js)
	<-done
	return err
}

// reconcileWhileLeader reconciles every interval while this node holds
// the lease. A node that takes the lease over starts with a full pass
// (the tracker's compare-and-set drops what is recorded already).
func (a *App) reconcileWhileLeader(ctx context.Context, l *lease, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	held := false
	for {
		ok, err := l.acquire(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			a.log.Warn("topology: the reconciler lease failed; retrying", "err", err)
		case ok:
			if !held {
				a.log.Info("topology: this node records link changes (reconciler lease taken)")
			}
			if _, err := a.Reconcile(ctx); err != nil && ctx.Err() == nil {
				a.log.Warn("topology: recording link changes failed; retrying", "err", err)
			}
		case held:
			a.log.Info("topology: another node records link changes now (reconciler lease lost)")
			a.rmu.Lock()
			a.reconciled = map[string]map[string]Link{}
			a.rmu.Unlock()
		}
		held = ok
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// FromNow makes the app's consumer, when first created, start at the
// groups published from then on: the graph is of the present.
func (a *App) FromNow() {}
