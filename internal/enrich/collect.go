package enrich

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/gosnmp/gosnmp"

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

// Collect walks a device's slow columns and reads its system group. The
// columns are walked concurrently (the pool bounds requests per device).
// ifXTable columns a device lacks (SNMPv1 agents, old MIBs) are simply
// absent; a failed walk or system GET fails the collection.
func Collect(ctx context.Context, s SNMP, t snmp.Target) (*Device, error) {
	if s == nil {
		return nil, errors.New("collect enrichment: no SNMP client")
	}
	d := &Device{Interfaces: map[uint32]*Interface{}}
	walks := make([][]snmp.Varbind, len(slowColumns))
	errs := make([]error, len(slowColumns)+2)
	var sys, lastChange []snmp.Varbind
	var wg sync.WaitGroup
	for i, c := range slowColumns {
		wg.Go(func() { walks[i], errs[i] = s.Walk(ctx, t, c.root) })
	}
	wg.Go(func() { sys, errs[len(slowColumns)] = s.Get(ctx, t, systemOIDs) })
	// Separately: an SNMPv1 agent without it fails the whole GET.
	wg.Go(func() { lastChange, _ = s.Get(ctx, t, []string{OIDIfTableLastChange}) })
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("collect enrichment: %w", err)
	}
	for _, vb := range append(sys, lastChange...) {
		switch vb.Name {
		case OIDSysUpTime:
			if v, ok := ticks(vb); ok {
				d.Uptime = v
			}
		case OIDIfTableLastChange:
			if v, ok := ticks(vb); ok {
				d.LastChange, d.HaveLastChange = v, true
			}
		case OIDSysName:
			d.SysName, _ = text(vb)
		case OIDSysObjectID:
			if vb.Type == gosnmp.ObjectIdentifier {
				d.SysObjectID, _ = vb.Value.(string)
			}
		}
	}
	for i, c := range slowColumns {
		for _, vb := range walks[i] {
			idx, ok := instance(vb.Name, c.root)
			if !ok {
				continue
			}
			e := d.Interfaces[idx]
			if e == nil {
				e = &Interface{}
				d.Interfaces[idx] = e
			}
			if fill(e, c.have, vb) {
				e.Have |= c.have
			}
		}
	}
	return d, nil
}

func fill(e *Interface, c Column, vb snmp.Varbind) bool {
	var ok bool
	switch c {
	case HaveDescr:
		e.Descr, ok = text(vb)
	case HaveName:
		e.Name, ok = text(vb)
	case HaveAlias:
		e.Alias, ok = text(vb)
	case HaveType:
		e.Type, ok = number(vb)
	case HaveSpeed:
		e.Speed, ok = number(vb)
	case HaveHighSpeed:
		e.HighSpeed, ok = number(vb)
	}
	return ok
}

// instance parses "<root>.<ifIndex>".
func instance(oid, root string) (uint32, bool) {
	rest, ok := strings.CutPrefix(oid, root+".")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(rest, 10, 32)
	return uint32(n), err == nil
}

func ticks(vb snmp.Varbind) (uint32, bool) {
	if vb.Type != gosnmp.TimeTicks {
		return 0, false
	}
	v, ok := number(vb)
	return uint32(v), ok
}

func number(vb snmp.Varbind) (uint64, bool) {
	switch v := vb.Value.(type) {
	case uint:
		return uint64(v), true
	case uint32:
		return uint64(v), true
	case uint64:
		return v, true
	case int:
		return uint64(v), v >= 0
	case int32:
		return uint64(v), v >= 0
	case int64:
		return uint64(v), v >= 0
	}
	return 0, false
}

// text reads an OCTET STRING as the interface plugin does: trailing NULs
// cut, invalid UTF-8 replaced.
func text(vb snmp.Varbind) (string, bool) {
	if vb.Type != gosnmp.OctetString {
		return "", false
	}
	var s string
	switch v := vb.Value.(type) {
	case []byte:
		s = string(v)
	case string:
		s = v
	default:
		return "", false
	}
	s = strings.TrimRight(s, "\x00")
	return strings.ToValidUTF8(s, "\uFFFD"), true
}
