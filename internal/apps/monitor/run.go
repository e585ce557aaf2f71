package monitor

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/panoptes-go/panoptes/internal/apps"
	"github.com/panoptes-go/panoptes/internal/apps/tracker"
	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/sink"
)

// RunOptions configure the app as a node runs it.
type RunOptions struct {
	// Name is the instance's name: its durable consumer of the metrics
	// stream is the sink "app_<name>"'s (sink.DurableName).
	Name string
	// Replicas of the bucket and stream it creates (the bus's).
	Replicas int
	// Owner decides which partitions of the metrics bus this instance
	// reads when the app runs on several nodes (apps.Env.Owner); nil: all.
	Owner      sink.Owner
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Run runs the events app on a node until ctx ends: a durable consumer of
// each partition of the metrics bus, whose partitions the nodes with the
// role split (o.Owner), as the instances of a sink do (each group is
// handled once, a device's in order; a node that dies leaves its unacked
// groups to the one taking its partitions over, and the tracker's
// compare-and-set keeps their events from being emitted twice). It
// returns nil when ctx ended.
func Run(ctx context.Context, js jetstream.JetStream, o RunOptions) error {
	if o.Name == "" {
		o.Name = "events"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	tr, err := tracker.Open(ctx, js, tracker.Options{Replicas: o.Replicas, Logger: o.Logger, Registerer: o.Registerer})
	if err != nil {
		return fmt.Errorf("events app: %w", err)
	}
	consumer, err := sink.NewFor(config.Sink{Name: apps.ConsumerName(o.Name), Subjects: Subjects()}, New(tr, o.Logger),
		sink.Deps{Logger: o.Logger, Registerer: o.Registerer, Owner: o.Owner, Replicas: o.Replicas})
	if err != nil {
		return fmt.Errorf("events app: %w", err)
	}
	return consumer.Run(ctx, js)
}

// FromNow makes the monitor's consumer, when first created, start at the
// groups published from then on: events are about the present, not the
// metrics stream's history.
func (m *Monitor) FromNow() {}
