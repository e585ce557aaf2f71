package discovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/resource"
)

// Inventory is where the manager keeps resources (internal/inventory.Store
// satisfies it).
type Inventory interface {
	List(ctx context.Context) (map[string]*resource.Resource, error) // by resource.Key()
	Put(ctx context.Context, r *resource.Resource) error
	Delete(ctx context.Context, key string) error
}

// DefaultMinValidRatio is the share of valid rows below which a set is
// refused, when the caller gives 0.
const DefaultMinValidRatio = 0.5

// ErrKeptPrevious is wrapped by Apply's error when the new set looked broken
// (failed source, empty, mostly invalid) and the inventory was left as it was.
var ErrKeptPrevious = errors.New("kept the previous inventory")

// Diff counts what one Apply changed.
type Diff struct {
	Added, Updated, Removed, Unchanged int
	// Conflicts are resources skipped because another source already
	// provides a resource with the same key.
	Conflicts int
}

// ManagerOptions configure a Manager. Inventory is required.
type ManagerOptions struct {
	Inventory  Inventory
	Logger     *slog.Logger
	Registerer prometheus.Registerer // nil: metrics are kept but not registered
	Now        func() time.Time
}

// Manager applies discovery results to the inventory.
type Manager struct {
	inv     Inventory
	log     *slog.Logger
	now     func() time.Time
	metrics *metrics

	mu     sync.Mutex          // serializes Apply: the diff needs a stable inventory
	warned map[string]struct{} // source+warning already logged at warn level
}

// NewManager builds a manager. It panics without an Inventory (a wiring bug).
func NewManager(opts ManagerOptions) *Manager {
	if opts.Inventory == nil {
		panic("discovery: NewManager needs an Inventory")
	}
	m := &Manager{inv: opts.Inventory, log: opts.Logger, now: opts.Now, warned: map[string]struct{}{}}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if m.now == nil {
		m.now = time.Now
	}
	m.metrics = newMetrics(opts.Registerer, m.log)
	return m
}

// Apply diffs one source's result against the resources that source produced
// before (resource_plugin == source) and applies it: puts first, deletes
// last, so a failure half-way never leaves fewer resources than before.
// The previous inventory is kept, and an error wrapping ErrKeptPrevious says
// why, when res is nil, the set is empty while the inventory has resources
// from the source, or the share of valid rows is below minValidRatio (0 means
// DefaultMinValidRatio). Resources of other sources are never touched.
func (m *Manager) Apply(ctx context.Context, source string, res *Result, minValidRatio float64) (Diff, error) {
	if res != nil {
		m.metrics.rejected.WithLabelValues(source).Add(float64(len(res.Rejected)))
	}
	d, result, err := m.apply(ctx, source, res, minValidRatio)
	if ctx.Err() == nil { // a shutdown is not a failed run
		m.metrics.runs.WithLabelValues(source, result).Inc()
	}
	if result == resultOK {
		m.metrics.lastSuccess.WithLabelValues(source).Set(float64(m.now().UnixMilli()) / 1000)
	}
	return d, err
}

func (m *Manager) apply(ctx context.Context, source string, res *Result, minValidRatio float64) (Diff, string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var d Diff
	if minValidRatio <= 0 {
		minValidRatio = DefaultMinValidRatio
	}
	all, err := m.inv.List(ctx)
	if err != nil {
		return d, resultFailed, fmt.Errorf("discovery %s: list inventory: %w", source, err)
	}
	prev := map[string]*resource.Resource{}
	for k, r := range all {
		if r.Plugin == source {
			prev[k] = r
		}
	}
	m.metrics.resources.WithLabelValues(source).Set(float64(len(prev)))
	kept := func(format string, args ...any) (Diff, string, error) {
		return d, resultKeptPrevious, fmt.Errorf("discovery %s: %w (%d resources): %s",
			source, ErrKeptPrevious, len(prev), fmt.Sprintf(format, args...))
	}
	if res == nil || res.Set == nil {
		return kept("the source produced no result")
	}
	valid := len(res.Set.Resources)
	if res.Rows > 0 && float64(valid)/float64(res.Rows) < minValidRatio {
		return kept("only %d of %d rows are valid (%.0f%%, below the minimum %.0f%%): is the file truncated or in the wrong format?",
			valid, res.Rows, 100*float64(valid)/float64(res.Rows), 100*minValidRatio)
	}
	if valid == 0 && len(prev) > 0 {
		return kept("the source returned no resources (%d data rows); an empty or header-only file is taken as a mistake: "+
			"remove the source from the configuration to drop its resources", res.Rows)
	}

	seen := make(map[string]bool, valid)
	var conflicts []string
	for _, r := range res.Set.Resources {
		key := r.Key()
		seen[key] = true
		if other, ok := all[key]; ok && other.Plugin != source {
			d.Conflicts++
			conflicts = append(conflicts, fmt.Sprintf("%s (from %s)", key, other.Plugin))
			continue
		}
		old, ok := prev[key]
		switch {
		case !ok:
			d.Added++
		case !old.SameContent(r):
			d.Updated++
		default:
			d.Unchanged++
			continue
		}
		if err := m.inv.Put(ctx, r); err != nil {
			return d, resultFailed, fmt.Errorf("discovery %s: store resource %s: %w", source, key, err)
		}
	}
	if len(conflicts) > 0 {
		m.log.Warn(fmt.Sprintf("discovery %s: %d resources skipped: another source already provides them: %s",
			source, len(conflicts), summarize(conflicts, 5)), "source", source, "conflicts", len(conflicts))
	}
	var stale []string
	for key := range prev {
		if !seen[key] {
			stale = append(stale, key)
		}
	}
	sort.Strings(stale)
	for _, key := range stale {
		if err := m.inv.Delete(ctx, key); err != nil {
			return d, resultFailed, fmt.Errorf("discovery %s: remove resource %s: %w", source, key, err)
		}
		d.Removed++
	}
	m.metrics.resources.WithLabelValues(source).Set(float64(d.Added + d.Updated + d.Unchanged))
	return d, resultOK, nil
}

// Sync runs one source once and applies its result, logging a summary.
func (m *Manager) Sync(ctx context.Context, name string, src Source, minValidRatio float64) (Diff, error) {
	res, err := src.Discover(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return Diff{}, ctx.Err()
		}
		m.metrics.runs.WithLabelValues(name, resultFailed).Inc()
		err = fmt.Errorf("discovery %s: source failed, %w: %w", name, ErrKeptPrevious, err)
		m.log.Error(err.Error(), "source", name)
		return Diff{}, err
	}
	m.logWarnings(name, res.Warnings)
	d, err := m.Apply(ctx, name, res, minValidRatio)
	switch {
	case err != nil && ctx.Err() != nil:
		return d, ctx.Err()
	case err != nil:
		msg := err.Error()
		if len(res.Rejected) > 0 {
			msg += "; " + rejectSummary(res.Rejected)
		}
		m.log.Error(msg, "source", name, "rows", res.Rows, "rejected", len(res.Rejected))
	default:
		msg := fmt.Sprintf("discovery %s: %d resources (%d added, %d updated, %d removed)",
			name, d.Added+d.Updated+d.Unchanged, d.Added, d.Updated, d.Removed)
		attrs := []any{"source", name, "added", d.Added, "updated", d.Updated, "removed", d.Removed,
			"unchanged", d.Unchanged, "rejected", len(res.Rejected)}
		if len(res.Rejected) == 0 {
			m.log.Info(msg, attrs...)
		} else {
			m.log.Warn(msg+", "+rejectSummary(res.Rejected), attrs...)
		}
	}
	return d, err
}

// Run runs every source in cfgs order every interval, the first time at
// once, until ctx is done (then it returns nil). Each source needs an entry
// in sources under its name.
func (m *Manager) Run(ctx context.Context, sources map[string]Source, cfgs []config.Source, interval time.Duration) error {
	if interval <= 0 {
		return fmt.Errorf("discovery: interval must be positive, got %v", interval)
	}
	for _, c := range cfgs {
		if sources[c.Name] == nil {
			return fmt.Errorf("discovery: source %q is configured but was not built (discovery.New)", c.Name)
		}
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		for _, c := range cfgs {
			if ctx.Err() != nil {
				return nil
			}
			_, _ = m.Sync(ctx, c.Name, sources[c.Name], c.MinValidRatio) // logged and counted by Sync
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// logWarnings logs each distinct warning once at warn level; repeats on
// later runs go to debug so a standing problem does not flood the log.
func (m *Manager) logWarnings(source string, warnings []string) {
	for _, w := range warnings {
		k := source + "\x00" + w
		m.mu.Lock()
		_, old := m.warned[k]
		m.warned[k] = struct{}{}
		m.mu.Unlock()
		msg := "discovery " + source + ": " + w
		if old {
			m.log.Debug(msg, "source", source)
		} else {
			m.log.Warn(msg, "source", source)
		}
	}
}

// rejectSummary reads "2 rows rejected: f:3: id is empty; f:9: ...".
func rejectSummary(rejected []RowError) string {
	s := make([]string, len(rejected))
	for i, r := range rejected {
		s[i] = r.Error()
	}
	return fmt.Sprintf("%s rejected: %s", plural(len(rejected), "row"), summarize(s, 5))
}

// plural reads "1 row", "2 rows".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// summarize joins the first max items and counts the rest.
func summarize(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, "; ")
	}
	return fmt.Sprintf("%s; and %d more", strings.Join(items[:n], "; "), len(items)-n)
}
