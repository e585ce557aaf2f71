package node

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/panoptes-go/panoptes/internal/discovery"
	"github.com/panoptes-go/panoptes/internal/enrich"
	"github.com/panoptes-go/panoptes/internal/poll"
	"github.com/panoptes-go/panoptes/internal/rate"
)

// openDeviceState opens the state shared by every node about devices: the
// enrichment cache (names, aliases, speeds) and, when a plugin asks for
// rates, the previous counter samples.
func (n *Node) openDeviceState(ctx context.Context) error {
	cfg, js := n.cfg, n.bus.JetStream()
	var kv jetstream.KeyValue
	err := n.whileForming(ctx, "open enrichment cache", func(ctx context.Context) (err error) {
		kv, err = enrich.OpenBucket(ctx, js, cfg.Enrichment.TTL.D(), cfg.Bus.Replicas)
		return err
	})
	if err != nil {
		return fmt.Errorf("open enrichment cache: %w", err)
	}
	maxValue := 0 // the default fits NATS's default max payload
	if nc := js.Conn(); nc != nil && nc.MaxPayload() > 8<<10 {
		maxValue = int(nc.MaxPayload()) - 4<<10 // room for the KV subject and headers
	}
	n.enrich = enrich.New(enrich.Options{KV: kv, Refresh: cfg.Enrichment.Interval.D(), MinInterval: cfg.Enrichment.MinInterval.D(),
		MaxValueSize: maxValue, Need: n.enrichNeed, Logger: n.log.With("component", "enrich"), Registerer: n.reg})
	for _, pi := range n.parts.plugins {
		if hu, ok := pi.Plugin.(poll.HistoryUser); pi.Rates.Empty() && (!ok || !hu.UsesHistory()) {
			continue // neither rates nor delta() (profile plugin): no previous samples to keep
		}
		err := n.whileForming(ctx, "open rate state", func(ctx context.Context) (err error) {
			kv, err = rate.OpenBucket(ctx, js, cfg.Rates.StateTTL.D(), cfg.Bus.Replicas)
			return err
		})
		if err != nil {
			return fmt.Errorf("open rate state: %w", err)
		}
		n.rates = rate.New(rate.Options{KV: kv, FlushInterval: cfg.Rates.FlushInterval.D(), MaxGap: cfg.Rates.MaxGap,
			EvictAfter: cfg.Rates.EvictAfter.D(), Logger: n.log.With("component", "rate"), Registerer: n.reg})
		break
	}
	return nil
}

// classifySources wraps the sources that ask for it in SNMP classification,
// which needs the node's session pool.
func (n *Node) classifySources() {
	for _, sc := range n.cfg.Discovery.Sources {
		if !sc.Classify || n.parts.sources[sc.Name] == nil {
			continue
		}
		n.parts.sources[sc.Name] = discovery.Classify(n.parts.sources[sc.Name],
			&discovery.SNMPProber{Pool: n.pool, SNMP: n.snmp},
			discovery.ClassifyOptions{Source: sc.Name, DefaultType: n.cfg.Discovery.Defaults.Type, TTL: sc.ClassifyTTL.D(),
				Logger: n.log.With("component", "discovery", "source", sc.Name), Registerer: n.reg})
	}
}
