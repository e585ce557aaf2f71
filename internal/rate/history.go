package rate

import (
	"context"
	"time"
)

// Swap records value, read at time at (epoch seconds, the device's answer),
// as the latest sample of series in the resource's state and returns the
// sample it replaces. It serves callers that derive something other than a
// per-second rate from two polls (the profile plugin's delta(), for CPU
// utilization from tick counters). The samples live beside the resource's
// rate samples, in the same KV entry, so they survive a node restart and
// follow a resource to another node the same way; series must not collide
// with Apply's (callers hash a prefix of their own).
//
// A sample that is not newer than the stored one is not stored (the stored
// one is returned, and the caller sees Δt ≤ 0). The first call for a
// resource since this node started reads its state from KV (ctx bounds it).
func (p *Processor) Swap(ctx context.Context, resourceKey string, series uint64, value uint64, at float64) (prev uint64, prevAt float64, ok bool) {
	st := p.state(ctx, resourceKey, time.Now())
	defer st.mu.Unlock()
	old, i, seen := st.series.find(series)
	if seen && at <= old.at {
		return old.value, old.at, true
	}
	st.table().update(i, series, sample{value: value, at: at})
	st.dirty = true
	return old.value, old.at, seen
}

// MaxGap is Options.MaxGap (rates.max_gap): the previous sample of a
// series counts only within this many of the group's intervals (negative:
// any). Swap's callers apply it as rates do.
func (p *Processor) MaxGap() int { return p.opts.MaxGap }
