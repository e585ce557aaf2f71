package iface

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/panoptes-go/panoptes/internal/poll"

	"github.com/panoptes-go/panoptes/internal/enrich"
	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/snmp"
)

var _ poll.Enricher = (*Interface)(nil)

// UsesEnrichment: with the enrichment option.
func (p *Interface) UsesEnrichment(*resource.Resource) bool { return p.opts.enrichment }

// Enrichment: the interface columns, with the enrichment option.
func (p *Interface) Enrichment(*resource.Resource, string) enrich.Need {
	return enrich.Need{Interfaces: p.opts.enrichment}
}

// slowFields are the columns enrichment supplies: a poll with enrichment
// does not walk them.
const slowFields = 1<<fDescr | 1<<fType | 1<<fSpeed | 1<<fName | 1<<fHighSpeed | 1<<fAlias

// counterRoots returns one walk root per column of t that enrichment does
// not supply (SNMPv1: without Counter64 columns); a table enrichment has
// nothing of (dot3StatsTable) is walked as usual.
func (t *table) counterRoots(v1 bool) []string {
	slow := false
	for _, c := range t.cols {
		slow = slow || slowFields&(1<<c.field) != 0
	}
	if !slow {
		return t.walkRoots(v1)
	}
	roots := make([]string, 0, len(t.cols))
	for _, c := range t.cols {
		if slowFields&(1<<c.field) != 0 || (v1 && c.wide) {
			continue
		}
		roots = append(roots, t.root+"."+strconv.Itoa(c.num))
	}
	return roots
}

// maxFitRepetitions caps fitRepetitions: 64 Counter64 varbinds are about
// 2 KB, and an agent whose messages are smaller returns fewer (GETBULK
// answers what fits), so the cap only bounds one response.
const maxFitRepetitions = 64

// fitRepetitions sizes GETBULK to the device's interface count seen at the
// last poll, plus the one varbind that ends the column: a counter column
// is then one request, where the configured max-repetitions (25) takes
// three for a 48-port switch and wastes up to a third of what it reads.
// It never lowers the configured value.
func fitRepetitions(configured int, seen *memo) int {
	if seen == nil {
		return configured
	}
	rows := int(seen.rows.Load())
	if rows == 0 {
		return configured
	}
	n := rows + 1
	if n > configured && n <= maxFitRepetitions {
		return n
	}
	return configured
}

var (
	signalOIDs       = []string{enrich.OIDSysUpTime}
	signalOIDsEnrich = []string{enrich.OIDSysUpTime, enrich.OIDIfTableLastChange}
)

// readSignals GETs sysUpTime.0 (and ifTableLastChange.0 for enrichment).
// A failure only loses the hints: the walks decide the check's fate.
func readSignals(ctx context.Context, g getter, t snmp.Target, withLastChange bool) enrich.Signals {
	oids := signalOIDs
	if withLastChange {
		oids = signalOIDsEnrich
	}
	var s enrich.Signals
	vbs, err := g.Get(ctx, t, oids)
	if err != nil && withLastChange && ctx.Err() == nil {
		// An SNMPv1 agent without ifTableLastChange fails the whole GET.
		vbs, err = g.Get(ctx, t, signalOIDs)
	}
	if err != nil {
		return s
	}
	for _, vb := range vbs {
		v, ok := snmp.Ticks(&vb)
		if !ok {
			continue
		}
		switch vb.Name {
		case enrich.OIDSysUpTime:
			s.Uptime, s.HaveUptime = v, true
		case enrich.OIDIfTableLastChange:
			s.LastChange, s.HaveLastChange = v, true
		}
	}
	return s
}

// enrich fills the rows' slow columns from req.Enrich. An error means
// some or all interfaces have no names (the Poll reports status 8).
func (rs *rows) enrich(ctx context.Context, req *poll.Request, w walker, seen enrich.Signals, now func() time.Time) error {
	if req.Enrich == nil {
		return errors.New("enrichment: the plugin has enrichment: true but this node has no enrichment cache configured")
	}
	sn, _ := w.(enrich.SNMP)
	dev, err := req.Enrich.Lookup(ctx, req.Resource, req.Target, sn, seen, enrich.Need{Interfaces: true})
	if dev == nil {
		if err == nil {
			err = errors.New("no data")
		}
		return fmt.Errorf("enrichment: %w", err)
	}
	at := poll.Epoch(now())
	missing := 0
	for i := range rs.slab {
		r := &rs.slab[i]
		e, ok := dev.Interfaces.Get(r.index)
		if !ok {
			missing++
			continue
		}
		set := func(f field, have enrich.Column, v uint64) {
			if e.Have&have != 0 {
				r.num[f] = v
				r.have |= 1 << f
			}
		}
		set(fType, enrich.HaveType, e.Type)
		set(fSpeed, enrich.HaveSpeed, e.Speed)
		set(fHighSpeed, enrich.HaveHighSpeed, e.HighSpeed)
		set(fDescr, enrich.HaveDescr, 0)
		set(fName, enrich.HaveName, 0)
		set(fAlias, enrich.HaveAlias, 0)
		r.descr, r.name, r.alias = e.Descr, e.Name, e.Alias
	}
	for _, f := range [...]field{fDescr, fType, fSpeed, fName, fHighSpeed, fAlias} {
		rs.at[f] = at
	}
	if missing > 0 {
		return fmt.Errorf("enrichment has no data for %d of %d interfaces", missing, len(rs.slab))
	}
	return err
}
