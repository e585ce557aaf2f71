// Package profile holds declarative SNMP device profiles: YAML files that
// say which OIDs to GET or walk and how to turn them into Panoptes metrics
// groups (cpu, memory, environment, ...), with dimensions and metric values
// written as expr-lang expressions. Adding a device model is a YAML file.
//
// The package loads and validates profiles (errors name file, line and
// field), selects one for a resource (explicit metadata key, then resource
// type, then the longest sysObjectID prefix) and evaluates it against a
// device. It registers the polling plugin "profile".
//
// The file format is documented in profiles/README.md at the repository root.
package profile

import (
	"slices"

	"github.com/expr-lang/expr/vm"
)

// MetadataKey is the resource_metadata key that names a profile explicitly;
// it wins over every other way of selecting one.
const MetadataKey = "profile"

// Profile is one loaded, compiled profile. It is immutable after loading
// and safe for concurrent use.
type Profile struct {
	Name        string
	Description string
	File        string // where it was loaded from, for messages
	Match       Match
	Groups      []*Group
	// sum is the SHA-256 of the file's content (Parse), for the plugin's
	// Fingerprint.
	sum [32]byte
}

// Match says which resources a profile applies to.
type Match struct {
	SysObjectID  []string // OID prefixes, normalised with a leading dot
	ResourceType []string // resource_type values
	// Fallback: tried for resources no profile matches, fallbacks in name
	// order, the first that finds data on the device wins.
	Fallback bool
}

// Group is one metrics group definition: where its data comes from and how
// to build dimensions and metrics from it.
type Group struct {
	Type string // metrics_group_type
	// Optional groups may be absent on a device (a table the model does not
	// implement) without the check reporting missing metrics.
	Optional bool
	// PerRow: one metrics group per table row; otherwise one group for the
	// whole table (metrics aggregate over `rows`).
	PerRow bool

	Columns []Column // walked; rows are keyed by the index after the column OID
	Scalars []Column // fetched with GET (full instance OIDs)
	Lookups []Column // walked into maps index -> value, for cross-table joins

	Filter     *Expr // nil: every row
	Dimensions []Expr
	Metrics    []MetricDef

	enums map[string]map[string]any
	line  int // where the group starts in File, for evaluation errors
}

// Column names one OID: a table column, a scalar instance or a lookup column.
type Column struct {
	Name string
	OID  string // normalised: leading dot, no trailing dot
	// Enrich (lookups only): slow-changing data served from the enrichment
	// cache, collected on the enrichment schedule instead of at every poll.
	Enrich bool
}

// Expr is a named, compiled expression.
type Expr struct {
	Name    string
	Source  string
	Program *vm.Program
	// Inputs are the columns and scalars the expression reads by name:
	// when one is absent and evaluation fails, the value is absent, not an
	// error.
	Inputs []string
	// Reads adds the columns read as fields of rows[i] (table groups);
	// Needs are those of Reads used outside a ?? fallback. A column or
	// scalar the device returned nothing for, in Needs (or in Reads when
	// the expression has no value), is reported: data was left out.
	Reads, Needs []string
}

// MetricDef is a metric: an expression and a Panoptes metric type.
type MetricDef struct {
	Expr
	Counter bool // metric_type counter, else gauge
}

// Walks returns every OID the group walks (columns then lookups, cached
// ones included: the plugin serves those from the enrichment cache).
func (g *Group) Walks() []string {
	out := make([]string, 0, len(g.Columns)+len(g.Lookups))
	for _, c := range g.Columns {
		out = append(out, c.OID)
	}
	for _, c := range g.Lookups {
		out = append(out, c.OID)
	}
	return out
}

// enrichColumns returns the OIDs of the cached (`enrich: true`) lookups of
// the groups whose type types admits (nil: all), sorted, without duplicates.
func (p *Profile) enrichColumns(types map[string]bool) []string {
	var out []string
	for _, g := range p.Groups {
		if types != nil && !types[g.Type] {
			continue
		}
		for _, l := range g.Lookups {
			if l.Enrich {
				out = append(out, l.OID)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
