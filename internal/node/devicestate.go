package node

import (
	"context"
	"fmt"

	"github.com/panoptes-go/panoptes/internal/discovery"
	"github.com/panoptes-go/panoptes/internal/enrich"
	"github.com/panoptes-go/panoptes/internal/rate"
)

// openDeviceState opens the state shared by every node about devices: the
// enrichment cache (names, aliases, speeds) and, when a plugin asks for
// rates, the previous counter samples.
func (n *Node) openDeviceState(ctx context.Context) error {
	cfg, js := n.cfg, n.bus.JetStream()
	kv, err := enrich.OpenBucket(ctx, js, cfg.Enrichment.TTL.D(), cfg.Bus.Replicas)
	if err != nil {
		return fmt.Errorf("open enrichment cache: %w", err)
	}
	n.enrich = enrich.New(enrich.Options{KV: kv, Refresh: cfg.Enrichment.Interval.D(), MinInterval: cfg.Enrichment.MinInterval.D(),
		Logger: n.log.With("component", "enrich"), Registerer: n.reg})
	for _, pi := range n.parts.plugins {
		if pi.rates.Empty() {
			continue
		}
		kv, err := rate.OpenBucket(ctx, js, cfg.Rates.StateTTL.D(), cfg.Bus.Replicas)
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
			&discovery.SNMPProber{Pool: n.pool, SNMP: n.cfg.SNMP},
			discovery.ClassifyOptions{Source: sc.Name, DefaultType: n.cfg.Discovery.Defaults.Type, TTL: sc.ClassifyTTL.D(),
				Logger: n.log.With("component", "discovery", "source", sc.Name), Registerer: n.reg})
	}
}
