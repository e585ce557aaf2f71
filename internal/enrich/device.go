// Package enrich keeps slow-changing device data (interface names, aliases,
// descriptions, types and speeds; sysName, sysObjectID; profiles' cached
// lookup tables such as entPhysicalName) out of the polls: a Refresher
// collects it on its own schedule (the enrichment role), a JetStream KV
// bucket with a TTL shares it between nodes, and polls read it from the
// Cache, so a poll walks only the changing columns. A device that shows a
// change (sysUpTime went back, ifTableLastChange moved), or whose data is
// missing, is collected by the poll itself (inline), once.
package enrich

import (
	"context"
	"slices"
	"time"

	"github.com/panoptes-go/panoptes/internal/snmp"
)

// Device is the enrichment of one resource.
type Device struct {
	Resource    string `json:"resource"` // the resource key
	SysName     string `json:"sys_name,omitempty"`
	SysObjectID string `json:"sys_object_id,omitempty"`
	// Uptime and LastChange are sysUpTime and ifTableLastChange when the
	// data was collected: the references a poll's values are compared to.
	Uptime         uint32 `json:"uptime"`
	LastChange     uint32 `json:"if_table_last_change"`
	HaveLastChange bool   `json:"have_if_table_last_change,omitempty"`
	// CollectedAt is when the data was walked (any node).
	CollectedAt time.Time `json:"collected_at"`
	// FreshUntil is when polls stop trusting the data and collect it
	// themselves: one interval after CollectedAt, two when a Refresher
	// schedules the device (it comes back within one; the second covers a
	// late or failed refresh). Zero (older records): CollectedAt + Refresh.
	FreshUntil time.Time `json:"fresh_until,omitzero"`
	// HaveInterfaces: the interface columns were walked (Need.Interfaces).
	HaveInterfaces bool `json:"have_interfaces,omitempty"`
	// Interfaces by ifIndex.
	Interfaces Interfaces `json:"interfaces"`
	// Tables are whole columns by column OID (Need.Tables); a column the
	// device lacks is present and empty.
	Tables Tables `json:"tables,omitzero"`
}

// Need says what a collection must include. Plugins declare theirs
// (poll.Enricher); a collection takes the union for its resource.
type Need struct {
	// Interfaces: IF-MIB names, aliases, descriptions, types, speeds.
	Interfaces bool
	// Tables are column OIDs (leading dot) walked whole, as profiles'
	// `enrich: true` lookups.
	Tables []string
}

// Merge returns the union of n and o (tables sorted, without duplicates).
func (n Need) Merge(o Need) Need {
	out := Need{Interfaces: n.Interfaces || o.Interfaces}
	if len(n.Tables)+len(o.Tables) > 0 {
		out.Tables = append(slices.Clone(n.Tables), o.Tables...)
		slices.Sort(out.Tables)
		out.Tables = slices.Compact(out.Tables)
	}
	return out
}

// Empty reports whether nothing is needed.
func (n Need) Empty() bool { return !n.Interfaces && len(n.Tables) == 0 }

// Covers reports whether d holds everything n asks for.
func (d *Device) Covers(n Need) bool {
	if n.Interfaces && !d.HaveInterfaces {
		return false
	}
	for _, t := range n.Tables {
		if !d.Tables.Has(t) {
			return false
		}
	}
	return true
}

// Table returns the cached column oid as the varbinds a walk of it would
// have returned; ok is false when the column was not collected.
func (d *Device) Table(oid string) (vbs []snmp.Varbind, ok bool) {
	cells, ok := d.Tables.column(oid)
	if !ok {
		return nil, false
	}
	vbs = make([]snmp.Varbind, 0, len(cells))
	for i := range cells {
		vbs = append(vbs, cells[i].varbind(oid))
	}
	return vbs, true
}

// Interface is one ifIndex's slow columns (Interfaces.Get). Absent
// columns are zero with their Have bit clear, so "absent" and "empty"
// differ.
type Interface struct {
	Descr     string `json:"descr,omitempty"`
	Name      string `json:"name,omitempty"`
	Alias     string `json:"alias,omitempty"`
	Type      uint64 `json:"type,omitempty"`
	Speed     uint64 `json:"speed,omitempty"`      // ifSpeed, bits/s
	HighSpeed uint64 `json:"high_speed,omitempty"` // ifHighSpeed, Mbit/s
	Have      Column `json:"have"`
}

// Column is a bit set of the interface columns a device returned.
type Column uint8

const (
	HaveDescr Column = 1 << iota
	HaveName
	HaveAlias
	HaveType
	HaveSpeed
	HaveHighSpeed
)

// Signals is what a poll saw of the device, read with its counters: the
// cache compares them with the collected references to see a change.
type Signals struct {
	Uptime         uint32
	HaveUptime     bool
	LastChange     uint32
	HaveLastChange bool
}

// SNMP is what the collector needs (snmp.Pool has it).
type SNMP interface {
	Walk(ctx context.Context, t snmp.Target, root string) ([]snmp.Varbind, error)
	Get(ctx context.Context, t snmp.Target, oids []string) ([]snmp.Varbind, error)
}

// Numeric OIDs the collector and the polls read.
const (
	OIDSysObjectID       = ".1.3.6.1.2.1.1.2.0"
	OIDSysUpTime         = ".1.3.6.1.2.1.1.3.0"
	OIDSysName           = ".1.3.6.1.2.1.1.5.0"
	OIDIfTableLastChange = ".1.3.6.1.2.1.31.1.5.0"
)

// uptimeSlack absorbs a collection made shortly after the poll's own read
// of sysUpTime (by this lookup, or by another node): its uptime is then a
// little above the poll's without any restart.
const uptimeSlack = 30 * 100

// changed reports whether what a poll saw says d is out of date: the agent
// restarted (sysUpTime below the one at collection) or an interface was
// created or deleted (ifTableLastChange moved).
func (d *Device) changed(s Signals) bool {
	if s.HaveUptime && uint64(s.Uptime)+uptimeSlack < uint64(d.Uptime) {
		return true
	}
	return s.HaveLastChange && d.HaveLastChange && s.LastChange != d.LastChange
}
