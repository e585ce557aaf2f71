package poll

import (
	"context"

	"github.com/panoptes-go/panoptes/internal/enrich"
	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/snmp"
)

// EnrichSource gives plugins a device's slow-changing data (enrich.Cache).
// seen is what the poll read of sysUpTime and ifTableLastChange, so that
// the source re-collects a device that changed; s is how to collect (nil:
// the source can only serve what it has); want is what the plugin reads.
type EnrichSource interface {
	Lookup(ctx context.Context, res *resource.Resource, t snmp.Target, s enrich.SNMP, seen enrich.Signals, want enrich.Need) (*enrich.Device, error)
}

// Enricher is an optional ability of a plugin that reads the enrichment
// cache. The node builds from it what the enrichment role collects for
// each resource ahead of the polls.
type Enricher interface {
	// UsesEnrichment reports whether polls of res read the cache.
	UsesEnrichment(res *resource.Resource) bool
	// Enrichment is what the cache must hold for res, given the device's
	// sysObjectID ("" when not known).
	Enrichment(res *resource.Resource, sysObjectID string) enrich.Need
}
