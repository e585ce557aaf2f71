// Package devicestate is the state every node of a site shares about its
// devices, kept in the bus's KV buckets: the enrichment cache (names,
// aliases, speeds) with the enrichment role that refreshes it, and the
// previous counter samples that rates and delta() read.
package devicestate

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/enrich"
	"github.com/panoptes-go/panoptes/internal/rate"
	"github.com/panoptes-go/panoptes/internal/resource"
)

// Options configure Open.
type Options struct {
	JS     jetstream.JetStream
	Config *config.Config // enrichment, rates, bus.replicas
	// Forming runs a bucket's creation, retried while the JetStream
	// cluster forms (cluster.WhileForming).
	Forming func(ctx context.Context, what string, op func(context.Context) error) error
	// Need is what the cache collects for a resource (the plugins').
	Need func(res *resource.Resource, sysObjectID string) enrich.Need
	// History: a plugin asks for rates or uses delta(), so previous
	// samples are kept (collector.UsesHistory).
	History    bool
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// State is what Open opened.
type State struct {
	Enrich *enrich.Cache
	// Rates is nil without History.
	Rates *rate.Processor
}

// Open opens the enrichment cache and, with History, the rate state.
func Open(ctx context.Context, o Options) (*State, error) {
	cfg := o.Config
	var kv jetstream.KeyValue
	err := o.Forming(ctx, "open enrichment cache", func(ctx context.Context) (err error) {
		kv, err = enrich.OpenBucket(ctx, o.JS, cfg.Enrichment.TTL.D(), cfg.Bus.Replicas)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("open enrichment cache: %w", err)
	}
	maxValue := 0 // the default fits NATS's default max payload
	if nc := o.JS.Conn(); nc != nil && nc.MaxPayload() > 8<<10 {
		maxValue = int(nc.MaxPayload()) - 4<<10 // room for the KV subject and headers
	}
	s := &State{Enrich: enrich.New(enrich.Options{KV: kv, Refresh: cfg.Enrichment.Interval.D(), MinInterval: cfg.Enrichment.MinInterval.D(),
		MaxValueSize: maxValue, Need: o.Need, Logger: o.Logger.With("component", "enrich"), Registerer: o.Registerer})}
	if !o.History {
		return s, nil // neither rates nor delta(): no previous samples to keep
	}
	err = o.Forming(ctx, "open rate state", func(ctx context.Context) (err error) {
		kv, err = rate.OpenBucket(ctx, o.JS, cfg.Rates.StateTTL.D(), cfg.Bus.Replicas)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("open rate state: %w", err)
	}
	s.Rates = rate.New(rate.Options{KV: kv, FlushInterval: cfg.Rates.FlushInterval.D(), MaxGap: cfg.Rates.MaxGap,
		EvictAfter: cfg.Rates.EvictAfter.D(), Logger: o.Logger.With("component", "rate"), Registerer: o.Registerer})
	return s, nil
}
