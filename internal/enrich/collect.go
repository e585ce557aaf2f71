package enrich

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/panoptes-go/panoptes/internal/snmp"
)

// slowColumns are the interface columns the collector walks.
var slowColumns = []struct {
	root string
	have Column
}{
	{".1.3.6.1.2.1.2.2.1.2", HaveDescr},
	{".1.3.6.1.2.1.2.2.1.3", HaveType},
	{".1.3.6.1.2.1.2.2.1.5", HaveSpeed},
	{".1.3.6.1.2.1.31.1.1.1.1", HaveName},
	{".1.3.6.1.2.1.31.1.1.1.15", HaveHighSpeed},
	{".1.3.6.1.2.1.31.1.1.1.18", HaveAlias},
}

var systemOIDs = []string{OIDSysUpTime, OIDSysName, OIDSysObjectID}

// Collect reads a device's system group, then walks what plan (given the
// sysObjectID just read; nil: the interface columns) says: the interface
// slow columns and whole table columns, concurrently (the pool bounds
// requests per device). ifXTable columns a device lacks (SNMPv1 agents,
// old MIBs) are simply absent, a table it lacks is empty; a failed walk or
// system GET fails the collection.
func Collect(ctx context.Context, s SNMP, t snmp.Target, plan func(sysObjectID string) Need) (*Device, error) {
	if s == nil {
		return nil, errors.New("collect enrichment: no SNMP client")
	}
	d := &Device{}
	sys, err := s.Get(ctx, t, systemOIDs)
	if err != nil {
		return nil, fmt.Errorf("collect enrichment: get system group: %w", err)
	}
	d.system(sys)
	need := Need{Interfaces: true}
	if plan != nil {
		need = plan(d.SysObjectID)
	}

	var walks [][]snmp.Varbind
	var roots []string
	if need.Interfaces {
		for _, c := range slowColumns {
			roots = append(roots, c.root)
		}
	}
	roots = append(roots, need.Tables...)
	walks = make([][]snmp.Varbind, len(roots))
	errs := make([]error, len(roots))
	var lastChange []snmp.Varbind
	var wg sync.WaitGroup
	for i, root := range roots {
		wg.Go(func() {
			walks[i], errs[i] = s.Walk(ctx, t, root)
			if errs[i] != nil {
				errs[i] = fmt.Errorf("walk %s: %w", root, errs[i])
			}
		})
	}
	if need.Interfaces {
		// Separately: an SNMPv1 agent without it fails the whole GET.
		wg.Go(func() { lastChange, _ = s.Get(ctx, t, []string{OIDIfTableLastChange}) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("collect enrichment: %w", err)
	}
	d.system(lastChange)
	if need.Interfaces {
		d.HaveInterfaces = true
		d.Interfaces = interfaces(walks[:len(slowColumns)])
		walks = walks[len(slowColumns):]
	}
	if len(need.Tables) > 0 {
		d.Tables = buildTables(need.Tables, walks)
	}
	return d, nil
}

// system reads sysUpTime, ifTableLastChange, sysName and sysObjectID.
func (d *Device) system(vbs []snmp.Varbind) {
	for i := range vbs {
		vb := &vbs[i]
		switch vb.Name {
		case OIDSysUpTime:
			if v, ok := snmp.Ticks(vb); ok {
				d.Uptime = v
			}
		case OIDIfTableLastChange:
			if v, ok := snmp.Ticks(vb); ok {
				d.LastChange, d.HaveLastChange = v, true
			}
		case OIDSysName:
			d.SysName, _ = snmp.Text(vb)
		case OIDSysObjectID:
			if s, ok := snmp.OID(vb); ok {
				d.SysObjectID = deref(texts.str(s)) // shared by a model's devices
			}
		}
	}
}

// interfaces builds Interfaces from the walks of slowColumns: the rows
// of every ifIndex seen, then each column's values. A value of the wrong
// type leaves its column absent (Have bit clear) on that row.
func interfaces(walks [][]snmp.Varbind) Interfaces {
	var idx []uint32
	for i, c := range slowColumns {
		for _, vb := range walks[i] {
			if n, ok := instance(vb.Name, c.root); ok {
				idx = append(idx, n)
			}
		}
	}
	slices.Sort(idx)
	idx = slices.Compact(idx)
	b := ifBuilder{rows: make([]ifRow, len(idx))}
	for i, n := range idx {
		b.rows[i].index = n
	}
	for i, c := range slowColumns {
		for j := range walks[i] {
			vb := &walks[i][j]
			n, ok := instance(vb.Name, c.root)
			if !ok {
				continue
			}
			k, _ := b.find(n)
			if b.fill(&b.rows[k], c.have, vb) {
				b.rows[k].have |= c.have
			}
		}
	}
	return b.done()
}

// fill stores vb, column c of r (zero when vb is not of the column's type).
func (b *ifBuilder) fill(r *ifRow, c Column, vb *snmp.Varbind) bool {
	switch c {
	case HaveDescr, HaveName, HaveAlias:
		p, ok := textRef(vb)
		b.setText(r, c, p)
		return ok
	}
	v, ok := snmp.Uint(vb)
	b.setNumber(r, c, v)
	return ok
}

// instance parses "<root>.<ifIndex>".
func instance(oid, root string) (uint32, bool) {
	rest, ok := strings.CutPrefix(oid, root)
	if !ok || len(rest) < 2 || rest[0] != '.' {
		return 0, false
	}
	n, err := strconv.ParseUint(rest[1:], 10, 32)
	return uint32(n), err == nil
}
