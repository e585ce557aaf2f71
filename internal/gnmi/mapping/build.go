package mapping

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/resource"
)

// BuildHeld is Build (not all) for a stream that ended (stopped or handed
// over): rows held for the rest of their sample go out as they are, since
// no more of it will come on this stream.
func (st *State) BuildHeld(res *resource.Resource, interval time.Duration, now time.Time) []*metric.Group {
	st.ending = true
	defer func() { st.ending = false }()
	return st.Build(res, interval, now, false)
}

// Build turns rows into groups. With all, every row with values; else the
// rows updated since the last Build and the quiet ones: last built an
// interval or more ago and not updated for a quarter interval more (so a
// row whose leaves only change on change still has a point every interval,
// while a row sampled every interval is built once per sample even when
// the sample comes a little after the interval). Rows are built in key
// order, groups in mapping order. A row whose expressions fail is skipped
// and counted as malformed.
func (st *State) Build(res *resource.Resource, interval time.Duration, now time.Time, all bool) []*metric.Group {
	at := float64(now.UnixNano()) / 1e9
	iv := int(interval / time.Second)
	var out []*metric.Group
	for gi, g := range st.set.groups {
		gs := &st.groups[gi]
		// Most Builds (a flush tick) find nothing to do in a group: no
		// row updated since the last one and none quiet yet.
		if !all && !gs.touched && at < gs.nextQuiet {
			continue
		}
		var keys []string
		due, held := false, false
		nextQuiet := math.Inf(1)
		for k, r := range gs.rows {
			if allEmpty(r) {
				continue
			}
			if r.dirty {
				r.updated = at
				if !all && !st.ending && r.held(at, iv) {
					held = true
					continue
				}
			}
			// A row sampled every interval whose next sample is late is
			// not quiet (its values would go out twice): that takes three
			// intervals without one.
			quietAfter := 1.25*float64(iv) - 0.5
			if r.period >= 0.5*float64(iv) && r.period <= 1.5*float64(iv) {
				quietAfter = 3*float64(iv) - 0.5
			}
			quiet := iv > 0 && at-r.emitted >= float64(iv)-0.5 && at-r.updated >= quietAfter
			switch {
			case all || r.dirty || quiet:
				due = true
				if !g.PerTable {
					keys = append(keys, k)
				}
				if iv > 0 { // built now: quiet an interval later at the earliest
					nextQuiet = min(nextQuiet, at+float64(iv)-0.5)
				}
			case iv > 0:
				nextQuiet = min(nextQuiet, max(r.emitted+float64(iv)-0.5, r.updated+quietAfter))
			}
		}
		gs.touched, gs.nextQuiet = held, nextQuiet // held rows are still dirty
		if !due || g.PerTable && held {            // a table waits for all its rows
			continue
		}
		if g.PerTable {
			for k, r := range gs.rows {
				if !allEmpty(r) {
					keys = append(keys, k)
				}
			}
		}
		sort.Strings(keys)
		if g.PerTable {
			if grp := st.tableGroup(g, gs, keys, res, iv, at); grp != nil {
				out = append(out, grp)
			}
			continue
		}
		for _, k := range keys {
			r := gs.rows[k]
			r.built(at)
			// The row's environment is only read while its group is built:
			// one map serves every row.
			if st.rowEnv == nil {
				st.rowEnv = map[string]any{}
			}
			clear(st.rowEnv)
			env := st.fillEnv(st.rowEnv, g, r, at)
			if g.filter != nil {
				ok, err := g.filter.run(&st.vm, env)
				if err != nil {
					st.malformed("expression", g.String(), err)
					continue
				}
				if b, _ := ok.(bool); !b {
					continue
				}
			}
			grp, err := st.group(g, env, []*row{r}, res, iv, at)
			if err != nil {
				st.malformed("expression", g.String(), err)
				continue
			}
			if grp != nil {
				out = append(out, grp)
			}
		}
	}
	return out
}

// held reports whether a dirty row waits for the rest of its sample: a
// leaf each of its last two samples had has not come yet, for less than
// half an interval (at least a second) since a Build first held it. A
// target's sample arrives as a burst of notifications that a loaded
// machine may deliver in parts seconds apart; a row built from the first
// part would go out twice, half updated.
func (r *row) held(at float64, iv int) bool {
	if r.exp&^r.got == 0 {
		return false
	}
	if r.waiting == 0 {
		r.waiting = at
	}
	return at-r.waiting < max(float64(iv)/2, 1)
}

// built records a Build of r at at: with updates, what they held becomes
// the next sample's expectation.
func (r *row) built(at float64) {
	if r.dirty {
		if r.lastUpd > 0 {
			r.period = at - r.lastUpd
		}
		r.lastUpd = at
		r.exp, r.prevGot, r.got = r.got&r.prevGot, r.got, 0
		r.waiting = 0
	}
	r.dirty, r.emitted = false, at
}

func (st *State) tableGroup(g *Group, gs *groupState, keys []string, res *resource.Resource, iv int, at float64) *metric.Group {
	rows := make([]any, 0, len(keys))
	used := make([]*row, 0, len(keys))
	for _, k := range keys {
		r := gs.rows[k]
		r.built(at)
		env := st.env(g, r, at)
		if g.filter != nil {
			ok, err := g.filter.run(&st.vm, env)
			if err != nil {
				st.malformed("expression", g.String(), err)
				continue
			}
			if b, _ := ok.(bool); !b {
				continue
			}
		}
		rows = append(rows, env)
		used = append(used, r)
	}
	env := map[string]any{"rows": rows, "now": at}
	for name, e := range g.enums {
		env[name] = e
	}
	grp, err := st.group(g, env, used, res, iv, at)
	if err != nil {
		st.malformed("expression", g.String(), err)
		return nil
	}
	return grp
}

// noKeys is the keys of a row without any (never written).
var noKeys = map[string]string{}

// env is a row's expression environment.
func (st *State) env(g *Group, r *row, at float64) map[string]any {
	return st.fillEnv(make(map[string]any, len(g.Leaves)+len(g.enums)+2), g, r, at)
}

// fillEnv puts a row's environment into env.
func (st *State) fillEnv(env map[string]any, g *Group, r *row, at float64) map[string]any {
	for name, e := range g.enums {
		env[name] = e
	}
	for i, l := range g.Leaves {
		if l.Multi {
			var m map[string]leafVal
			if r.multi != nil {
				m = r.multi[i]
			}
			if len(m) == 0 {
				env[l.Name] = nil
				continue
			}
			ks := make([]string, 0, len(m))
			for k := range m {
				ks = append(ks, k)
			}
			sort.Strings(ks)
			list := make([]any, len(ks))
			for j, k := range ks {
				v := m[k]
				list[j] = v.value()
			}
			env[l.Name] = list
			continue
		}
		if r.vals[i].ok {
			env[l.Name] = r.vals[i].value()
		} else {
			env[l.Name] = nil
		}
	}
	keys := r.keys
	if keys == nil {
		keys = noKeys
	}
	env["keys"] = keys
	env["now"] = at
	return env
}

// group evaluates g's dimensions and metrics. Each metric is stamped with
// the newest timestamp of the leaves it reads (of rows, for per-table
// groups), else the build time; no metric, no group.
func (st *State) group(g *Group, env map[string]any, rows []*row, res *resource.Resource, iv int, at float64) (*metric.Group, error) {
	ms := make([]metric.Metric, 0, len(g.metrics))
	for _, mp := range g.metrics {
		v, err := mp.prog.run(&st.vm, env)
		if err != nil {
			return nil, fmt.Errorf("metric %s: %w", mp.name, err)
		}
		val, ok, err := metricValue(v, mp.counter)
		if err != nil {
			return nil, fmt.Errorf("metric %s: %w", mp.name, err)
		}
		if !ok {
			continue
		}
		m := metric.Metric{Name: mp.name, Value: val, Type: metric.Gauge, Timestamp: stamp(mp.prog, rows, at)}
		if mp.counter {
			m.Type = metric.Counter
			m.Hint.Bits = mp.bits
			if g.Discont >= 0 && len(rows) == 1 && rows[0].vals[g.Discont].ok {
				if d, ok := toUint(rows[0].vals[g.Discont].value()); ok {
					m.Hint.HaveDiscontinuity, m.Hint.Discontinuity = true, uint32(d^d>>32)
				}
			}
		}
		ms = append(ms, m)
	}
	if len(ms) == 0 {
		return nil, nil
	}
	dims := make([]metric.Dimension, 0, len(g.dims))
	for _, dp := range g.dims {
		v, err := dp.prog.run(&st.vm, env)
		if err != nil {
			return nil, fmt.Errorf("dimension %s: %w", dp.name, err)
		}
		dims = append(dims, metric.Dimension{Name: dp.name, Value: dimensionValue(v)})
	}
	return &metric.Group{Resource: res, Type: g.Type, Interval: iv, CreationTimestamp: at,
		SchemaVersion: metric.SchemaVersion, Metrics: ms, Dimensions: dims}, nil
}

// stamp is the newest timestamp of p's input leaves over rows (epoch
// seconds), else at.
func stamp(p *program, rows []*row, at float64) float64 {
	var ts int64
	for _, r := range rows {
		for _, i := range p.inputs {
			if r.vals[i].ok && r.vals[i].ts > ts {
				ts = r.vals[i].ts
			}
			if r.multi != nil {
				for _, v := range r.multi[i] {
					ts = max(ts, v.ts)
				}
			}
		}
	}
	if ts == 0 {
		return at
	}
	return float64(ts) / 1e9
}
