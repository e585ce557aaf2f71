package profile

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/panoptes-go/panoptes/internal/enrich"
	"github.com/panoptes-go/panoptes/internal/poll"
	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/snmp"
)

// UsesEnrichment reports whether polls of res may read cached lookups: its
// profile has `enrich: true` lookups, or (selected by sysObjectID, not yet
// known) some profile has.
func (p *Plugin) UsesEnrichment(res *resource.Resource) bool {
	if !p.anyEnrich {
		return false
	}
	if p.set.NeedsSysObjectID(res) {
		return true
	}
	prof, err := p.set.Select(res, "")
	return err == nil && len(p.enrich[prof]) > 0
}

// Enrichment is the cached lookup columns of res's profile.
func (p *Plugin) Enrichment(res *resource.Resource, sysObjectID string) enrich.Need {
	prof, err := p.set.Select(res, sysObjectID)
	if p.set.NeedsSysObjectID(res) && len(p.set.fallbacks) > 0 {
		// The profile the polls settled on (pollFallbacks), else the
		// first they try.
		if name, ok := p.cached("fallback|" + res.Key() + "|" + res.Endpoint); ok {
			prof, err = p.set.byName[name], nil
		} else if errors.Is(err, ErrNoProfile) && sysObjectID != "" {
			prof, err = p.set.fallbacks[0], nil
		}
	}
	if err != nil || prof == nil {
		return enrich.Need{}
	}
	return enrich.Need{Tables: p.enrich[prof]}
}

// cachedLookups returns a client that answers walks of the columns cols
// from the enrichment cache and everything else from c. A column the cache
// cannot give walks as empty (lookups then fall back, "sensor 7") and the
// error says so: the poll reports status 8, not a failed check.
func cachedLookups(ctx context.Context, c Client, req *poll.Request, cols []string) (Client, error) {
	dev, err := req.Enrich.Lookup(ctx, req.Resource, req.Target, c, uptime(ctx, c, req.Target), enrich.Need{Tables: cols})
	tables := make(map[string][]snmp.Varbind, len(cols))
	var missing []string
	for _, oid := range cols {
		var vbs []snmp.Varbind
		ok := false
		if dev != nil {
			vbs, ok = dev.Table(oid)
		}
		if !ok {
			missing = append(missing, oid)
		}
		tables[oid] = vbs
	}
	cached := &cachedClient{Client: c, tables: tables}
	switch {
	case dev == nil && err == nil:
		err = errors.New("no data")
	case dev != nil:
		err = nil
		if len(missing) > 0 {
			err = fmt.Errorf("no data for %s", strings.Join(missing, ", "))
		}
	}
	if err != nil {
		return cached, fmt.Errorf("enrichment (cached lookups): %w", err)
	}
	return cached, nil
}

// cachedClient serves some walks from memory.
type cachedClient struct {
	Client
	tables map[string][]snmp.Varbind
}

func (c *cachedClient) Walk(ctx context.Context, t snmp.Target, root string) ([]snmp.Varbind, error) {
	if vbs, ok := c.tables[root]; ok {
		return vbs, nil
	}
	return c.Client.Walk(ctx, t, root)
}

// uptime reads sysUpTime.0, by which the cache sees an agent restart and
// collects again before its interval. A failure only loses the hint.
func uptime(ctx context.Context, c Client, t snmp.Target) enrich.Signals {
	var s enrich.Signals
	vbs, err := c.Get(ctx, t, []string{enrich.OIDSysUpTime})
	if err != nil || len(vbs) != 1 {
		return s
	}
	s.Uptime, s.HaveUptime = snmp.Ticks(&vbs[0])
	return s
}
