package profile

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/expr-lang/expr"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/poll"
	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/snmp"
)

// Client is the SNMP access a profile needs (*snmp.Pool satisfies it).
type Client interface {
	Get(ctx context.Context, t snmp.Target, oids []string) ([]snmp.Varbind, error)
	Walk(ctx context.Context, t snmp.Target, root string) ([]snmp.Varbind, error)
}

// Request is one evaluation of a profile against one device.
type Request struct {
	Resource *resource.Resource
	Target   snmp.Target
	Interval int     // seconds, metrics_group_interval
	Created  float64 // epoch seconds, metrics_group_creation_timestamp
	// Types restricts the groups to these metrics group types (nil: all).
	Types map[string]bool
	// History keeps the previous values delta() compares with (nil:
	// delta() has no value).
	History poll.History
}

// ErrMissing marks groups the device did not provide (no rows, no values).
var ErrMissing = errors.New("device returned no data")

// ErrNotReturned marks a column or scalar of a group the device provided
// that had no value at all, and left a metric, a dimension or the filter
// without data (the check is partial, not missing).
var ErrNotReturned = errors.New("not returned by the device")

// DeviceError wraps an SNMP failure (timeout, authentication, network):
// the caller maps it to a polling status.
type DeviceError struct{ Err error }

func (e *DeviceError) Error() string { return e.Err.Error() }
func (e *DeviceError) Unwrap() error { return e.Err }

// fetched is what the device returned for a profile.
type fetched struct {
	walks   map[string][]snmp.Varbind
	walkErr map[string]error
	scalars map[string]any
	getErr  error
	at      float64 // when the last answer arrived
}

// Evaluate fetches what the selected groups need (every walk concurrently;
// the SNMP pool bounds requests per device, and OIDs shared by groups are
// fetched once) and builds the metrics groups. It returns the groups it
// could build and an error for what failed: a *DeviceError inside when an
// SNMP request failed, ErrMissing inside when a non-optional group had no
// data.
func (p *Profile) Evaluate(ctx context.Context, c Client, req *Request) ([]*metric.Group, error) {
	groups := make([]*Group, 0, len(p.Groups))
	for _, g := range p.Groups {
		if req.Types == nil || req.Types[g.Type] {
			groups = append(groups, g)
		}
	}
	f := fetch(ctx, c, req.Target, groups)
	var out []*metric.Group
	var errs []error
	for _, g := range groups {
		gs, err := g.build(ctx, f, req, p.Name)
		out = append(out, gs...)
		if err == nil {
			continue
		}
		each := []error{err}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			each = j.Unwrap()
		}
		for _, e := range each {
			errs = append(errs, fmt.Errorf("profile %s group %s (%s:%d): %w", p.Name, g.Type, p.File, g.line, e))
		}
	}
	return out, errors.Join(errs...)
}

func fetch(ctx context.Context, c Client, t snmp.Target, groups []*Group) *fetched {
	var walks, gets []string
	for _, g := range groups {
		walks = append(walks, g.Walks()...)
		for _, s := range g.Scalars {
			gets = append(gets, s.OID)
		}
	}
	slices.Sort(walks)
	walks = slices.Compact(walks)
	slices.Sort(gets)
	gets = slices.Compact(gets)

	f := &fetched{walks: map[string][]snmp.Varbind{}, walkErr: map[string]error{}, scalars: map[string]any{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, oid := range walks {
		wg.Go(func() {
			vbs, err := c.Walk(ctx, t, oid)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				f.walkErr[oid] = &DeviceError{Err: fmt.Errorf("walk %s: %w", oid, err)}
				return
			}
			f.walks[oid] = vbs
		})
	}
	if len(gets) > 0 {
		vbs, err := c.Get(ctx, t, gets)
		if err != nil {
			f.getErr = &DeviceError{Err: fmt.Errorf("get %d OIDs: %w", len(gets), err)}
		}
		for i := range vbs {
			if v := value(&vbs[i]); v != nil {
				f.scalars[normOID(vbs[i].Name)] = v
			}
		}
	}
	wg.Wait()
	f.at = float64(time.Now().UnixNano()) / 1e9
	return f
}

// row is one table row: the column values plus index and index_parts.
type row struct {
	parts []int
	env   map[string]any
}

// build makes the group's metrics groups from what was fetched; profile
// names the group's profile (for delta() series).
func (g *Group) build(ctx context.Context, f *fetched, req *Request, profile string) ([]*metric.Group, error) {
	var errs []error
	base := map[string]any{}
	if g.usesDelta() {
		base[deltaEnvKey] = newDeltaState(ctx, req, profile, g, f.at)
	}
	for _, s := range g.Scalars {
		if f.getErr != nil {
			return nil, f.getErr
		}
		base[s.Name] = f.scalars[s.OID] // nil when absent
	}
	for _, l := range g.Lookups {
		m := map[string]any{}
		if err := f.walkErr[l.OID]; err != nil {
			errs = append(errs, fmt.Errorf("lookup %s: %w", l.Name, err))
		}
		for i := range f.walks[l.OID] {
			vb := &f.walks[l.OID][i]
			if idx, ok := strings.CutPrefix(normOID(vb.Name), l.OID+"."); ok {
				if v := value(vb); v != nil {
					m[idx] = v
				}
			}
		}
		base[l.Name] = m
	}
	for k, v := range g.enums {
		base[k] = v
	}

	rows, err := g.rows(f, base)
	if err != nil {
		return nil, err // a column walk failed: no partial rows
	}
	if g.empty(rows, base) {
		if g.Optional {
			return nil, errors.Join(errs...)
		}
		return nil, errors.Join(append(errs, fmt.Errorf("%w for %s", ErrMissing, g.source()))...)
	}
	absent := g.absent(rows, base)
	if g.Filter != nil {
		kept := rows[:0]
		d := deltaOf(base)
		for _, r := range rows {
			d.reset()
			ok, err := expr.Run(g.Filter.Program, r.env)
			if err != nil {
				if !missingInput(r.env, g.Filter.Inputs) && !d.lacked() { // an absent input drops the row
					errs = append(errs, fmt.Errorf("row %s: filter: %w", r.env["index"], firstLine(err)))
				}
				continue
			}
			if ok == true {
				kept = append(kept, r)
			}
		}
		absent.note(g.Filter, len(kept) == 0, "the filter")
		rows = kept
	}

	var out []*metric.Group
	if g.PerRow {
		for _, r := range rows {
			mg, err := g.group(r.env, f.at, req, fmt.Sprintf("row %s: ", r.env["index"]), absent)
			if err != nil {
				errs = append(errs, err)
			}
			if mg != nil {
				out = append(out, mg)
			}
		}
	} else {
		env := maps.Clone(base)
		list := make([]any, len(rows))
		for i, r := range rows {
			list[i] = r.env
		}
		env["rows"] = list
		mg, err := g.group(env, f.at, req, "", absent)
		if err != nil {
			errs = append(errs, err)
		}
		if mg != nil {
			out = append(out, mg)
		}
	}
	return out, errors.Join(append(errs, absent.errors()...)...)
}

// absence tracks the group's columns and scalars the device returned no
// value for, and what each left out: a misspelt OID or a table the model
// lacks must make the check partial, naming the column, rather than make
// metrics or a whole group vanish.
type absence struct {
	oids  map[string]string   // absent column or scalar -> its OID
	kinds map[string]string   // -> "column" or "scalar"
	uses  map[string][]string // -> the expressions it left without data
	order []string            // names in the order first noted
}

// absent lists the group's columns no row has a value for and its scalars
// without a value. Rows are those before the filter.
func (g *Group) absent(rows []row, base map[string]any) *absence {
	a := &absence{}
	add := func(c Column, kind string) {
		if a.oids == nil {
			a.oids, a.kinds, a.uses = map[string]string{}, map[string]string{}, map[string][]string{}
		}
		a.oids[c.Name], a.kinds[c.Name] = c.OID, kind
	}
	for _, c := range g.Columns {
		if !slices.ContainsFunc(rows, func(r row) bool { return r.env[c.Name] != nil }) {
			add(c, "column")
		}
	}
	for _, s := range g.Scalars {
		if base[s.Name] == nil {
			add(s, "scalar")
		}
	}
	return a
}

// note records that e, named what, lacked data when it needs an absent
// input, or when it has no value (noValue) and reads one.
func (a *absence) note(e *Expr, noValue bool, what string) {
	if len(a.oids) == 0 {
		return
	}
	names := e.Needs
	if noValue {
		names = e.Reads
	}
	for _, n := range names {
		if _, ok := a.oids[n]; !ok || slices.Contains(a.uses[n], what) {
			continue
		}
		if len(a.uses[n]) == 0 {
			a.order = append(a.order, n)
		}
		a.uses[n] = append(a.uses[n], what)
	}
}

// errors reports each absent input that left something out.
func (a *absence) errors() []error {
	var errs []error
	for _, n := range a.order {
		errs = append(errs, fmt.Errorf("%s %s (%s) %w: no data for %s",
			a.kinds[n], n, a.oids[n], ErrNotReturned, strings.Join(a.uses[n], ", ")))
	}
	return errs
}

// rows assembles table rows from the column walks, in index order. A row
// exists when at least one column has a value for its index.
func (g *Group) rows(f *fetched, base map[string]any) ([]row, error) {
	byIndex := map[string]*row{}
	for _, c := range g.Columns {
		if err := f.walkErr[c.OID]; err != nil {
			return nil, fmt.Errorf("column %s: %w", c.Name, err)
		}
		for i := range f.walks[c.OID] {
			vb := &f.walks[c.OID][i]
			idx, ok := strings.CutPrefix(normOID(vb.Name), c.OID+".")
			v := value(vb)
			if !ok || v == nil {
				continue
			}
			r := byIndex[idx]
			if r == nil {
				parts := snmp.IndexInts(idx)
				if parts == nil {
					continue
				}
				env := maps.Clone(base)
				for _, c := range g.Columns {
					env[c.Name] = nil
				}
				env["index"], env["index_parts"] = idx, parts
				r = &row{parts: parts, env: env}
				byIndex[idx] = r
			}
			r.env[c.Name] = v
		}
	}
	out := make([]row, 0, len(byIndex))
	for _, r := range byIndex {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b row) int { return compareIndex(a.parts, b.parts) })
	return out, nil
}

// group evaluates dimensions and metrics in env into one metrics group;
// nil when no metric has a value.
func (g *Group) group(env map[string]any, at float64, req *Request, where string, absent *absence) (*metric.Group, error) {
	var errs []error
	d := deltaOf(env)
	ms := make([]metric.Metric, 0, len(g.Metrics))
	for i := range g.Metrics {
		m := &g.Metrics[i]
		d.reset()
		res, err := expr.Run(m.Program, env)
		if err != nil {
			// An absent input or a delta() without a previous value leaves
			// the metric out; anything else is the profile's mistake.
			if !missingInput(env, m.Inputs) && !d.lacked() {
				errs = append(errs, fmt.Errorf("%smetric %s: %w", where, m.Name, firstLine(err)))
			}
			absent.note(&m.Expr, true, "metric "+m.Name)
			continue
		}
		v, bits, ok, err := metricValue(res, m.Counter)
		if err != nil {
			errs = append(errs, fmt.Errorf("%smetric %s: %w", where, m.Name, err))
			continue
		}
		absent.note(&m.Expr, !ok, "metric "+m.Name)
		if !ok {
			continue
		}
		mt := metric.Metric{Name: m.Name, Value: v, Type: metric.Gauge, Timestamp: at}
		if m.Counter {
			mt.Type = metric.Counter
			mt.Hint.Bits = bits
		}
		ms = append(ms, mt)
	}
	if len(ms) == 0 {
		return nil, errors.Join(errs...)
	}
	dims := make([]metric.Dimension, 0, len(g.Dimensions))
	for i := range g.Dimensions {
		dim := &g.Dimensions[i]
		d.reset()
		res, err := expr.Run(dim.Program, env)
		if err != nil {
			if !missingInput(env, dim.Inputs) && !d.lacked() {
				errs = append(errs, fmt.Errorf("%sdimension %s: %w", where, dim.Name, firstLine(err)))
			}
			res = nil
		}
		absent.note(dim, res == nil, "dimension "+dim.Name)
		dims = append(dims, metric.Dimension{Name: dim.Name, Value: dimensionValue(res)})
	}
	return &metric.Group{
		Resource:          req.Resource,
		Type:              g.Type,
		Interval:          req.Interval,
		CreationTimestamp: req.Created,
		SchemaVersion:     metric.SchemaVersion,
		Metrics:           ms,
		Dimensions:        dims,
	}, errors.Join(errs...)
}

// source names where the group's data comes from, for messages.
func (g *Group) source() string {
	if len(g.Columns) > 0 {
		return "table columns " + g.Columns[0].Name + " (" + g.Columns[0].OID + ")..."
	}
	var names []string
	for _, c := range append(append([]Column(nil), g.Scalars...), g.Lookups...) {
		names = append(names, c.Name+" ("+c.OID+")")
	}
	return strings.Join(names, ", ")
}

// empty says the device had none of the group's data.
func (g *Group) empty(rows []row, base map[string]any) bool {
	if len(g.Columns) > 0 {
		return len(rows) == 0
	}
	for _, s := range g.Scalars {
		if base[s.Name] != nil {
			return false
		}
	}
	for _, l := range g.Lookups {
		if m, _ := base[l.Name].(map[string]any); len(m) > 0 {
			return false
		}
	}
	return true
}

// missingInput says an input of the expression is absent (nil).
func missingInput(env map[string]any, inputs []string) bool {
	for _, in := range inputs {
		if env[in] == nil {
			return true
		}
	}
	return false
}

// firstLine drops expr's multi-line source snippet from a runtime error.
func firstLine(err error) error {
	msg, _, _ := strings.Cut(err.Error(), "\n")
	return errors.New(msg)
}
