package inventory

import (
	"context"
	"log/slog"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/panoptes-go/panoptes/internal/selfmetric"
)

// OpenIndex opens the inventory (forming retries the bucket's creation
// while the JetStream cluster forms) and watches it, counting its
// resources in panoptes_inventory_resources on reg.
func OpenIndex(ctx context.Context, js jetstream.JetStream, replicas int, forming func(context.Context, string, func(context.Context) error) error,
	logger *slog.Logger, reg prometheus.Registerer) (*Store, *Index, error) {
	var s *Store
	err := forming(ctx, "open inventory", func(ctx context.Context) (err error) {
		s, err = Open(ctx, js, replicas)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	// The watch's consumer is created through the meta leader too, as
	// busy as for the bucket. It lives as long as ctx, not the attempt's.
	var ix *Index
	err = forming(ctx, "watch inventory", func(context.Context) (err error) {
		ix, err = s.Watch(ctx, logger)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	selfmetric.Register(reg, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "panoptes_inventory_resources", Help: "Resources in the inventory.",
	}, func() float64 { return float64(ix.Len()) }))
	return s, ix, nil
}
