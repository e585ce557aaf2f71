package collector

import (
	"github.com/panoptes-go/panoptes/internal/enrich"
	"github.com/panoptes-go/panoptes/internal/poll"
	"github.com/panoptes-go/panoptes/internal/resource"
)

// EnrichmentNeed is what the enrichment cache collects for res: the union
// of what the plugins that poll it read (poll.Enricher).
func (c *Collector) EnrichmentNeed(res *resource.Resource, sysObjectID string) enrich.Need {
	var need enrich.Need
	plugins := c.Plugins()
	for i := range plugins {
		p := &plugins[i]
		if e, ok := p.Plugin.(poll.Enricher); ok && p.Filter.Match(res) && e.UsesEnrichment(res) {
			need = need.Merge(e.Enrichment(res, sysObjectID))
		}
	}
	return need
}

// UsesEnrichment reports whether a plugin polling res reads the cache.
func (c *Collector) UsesEnrichment(res *resource.Resource) bool {
	plugins := c.Plugins()
	for i := range plugins {
		p := &plugins[i]
		if e, ok := p.Plugin.(poll.Enricher); ok && p.Filter.Match(res) && e.UsesEnrichment(res) {
			return true
		}
	}
	return false
}

// UsesHistory reports whether a plugin asks for rates or reads previous
// samples (delta(): the profile plugin), so that the node keeps them.
func UsesHistory(plugins []Plugin) bool {
	for _, p := range plugins {
		if hu, ok := p.Plugin.(poll.HistoryUser); !p.Rates.Empty() || (ok && hu.UsesHistory()) {
			return true
		}
	}
	return false
}
