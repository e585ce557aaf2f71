// Package collector is the polling pipeline of a node: reconcile (the
// resources this node owns × the plugins whose filter matches them →
// checks), and each check's run (poll → rates → publish, within the
// handover rules). It works through small interfaces, defined here, that
// the cluster, the bus, the inventory and the rate processor satisfy, so
// that the pipeline is tested without any of them (collector_test.go).
package collector

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/panoptes-go/panoptes/internal/checkstate"
	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/poll"
	"github.com/panoptes-go/panoptes/internal/rate"
	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/schedule"
	"github.com/panoptes-go/panoptes/internal/selfmetric"
	"github.com/panoptes-go/panoptes/internal/wire"
)

// Owner says which resources this node polls (*cluster.Cluster).
type Owner interface {
	// Owned reports, of keys, those this node owns.
	Owned(keys []string) map[string]bool
	// Takeovers gives, of owned, those taken from a leaving node and the
	// due time from which this node polls them.
	Takeovers(owned map[string]bool) map[string]time.Time
	// Handovers gives, of owned, those moving to a joining node and the
	// due time from which that node polls them.
	Handovers(owned map[string]bool) map[string]time.Time
	// DrainAt is when this node hands its resources over (zero: it is
	// not leaving): it polls due times before it only.
	DrainAt() time.Time
	// JoinAt is when this node, joining others, starts polling (zero: it
	// did not join others): it polls due times from it on only.
	JoinAt() time.Time
}

// Publisher puts a check's groups on the bus (*bus.Bus), waiting for
// acknowledgements until the given time at most.
type Publisher interface {
	PublishSetUntil(ctx context.Context, set *metric.GroupSet, until time.Time) (int, error)
}

// RefPublisher is a Publisher that also says where the stream stored the
// set's messages (*bus.Bus): the status page reads a check's latest groups
// back by them.
type RefPublisher interface {
	PublishSetRefs(ctx context.Context, set *metric.GroupSet, until time.Time, refs []wire.Ref) (int, []wire.Ref, error)
}

// Checks records each check's run for the status page (*checkstate.Book).
type Checks interface {
	// Entry is a check's record, kept by the check and recorded into.
	Entry(resKey, plugin string) *checkstate.Entry
	// Retain forgets the resources no longer owned.
	Retain(keep func(resKey string) bool)
}

// Inventory is the resources known (*inventory.Index).
type Inventory interface {
	Snapshot() []*resource.Resource
}

// Rates adds <counter>_rate gauges to a set (*rate.Processor).
type Rates interface {
	Apply(ctx context.Context, set *metric.GroupSet, sel rate.Selector, now time.Time)
}

// Poller runs one check (*poll.Runner): its groups and status group.
type Poller interface {
	RunCheck(ctx context.Context, k *poll.Check) *metric.GroupSet
}

// Scheduler runs the checks (*schedule.Scheduler).
type Scheduler interface {
	Update(checks []schedule.Check)
}

// Plugin is one configured polling plugin instance, ready to run.
type Plugin struct {
	Name     string
	Interval time.Duration
	// Timeout bounds a poll (0: the interval).
	Timeout time.Duration
	Filter  *resource.Filter
	Plugin  poll.Plugin
	// Rates are the counters that also get a <counter>_rate gauge.
	Rates rate.Selector
}

// Options configure a Collector.
type Options struct {
	// Site is this node's: only its resources are polled.
	Site      string
	Plugins   []Plugin
	Owner     Owner
	Publisher Publisher
	Inventory Inventory
	Poller    Poller
	Scheduler Scheduler
	// Rates is nil when no plugin asks for rates.
	Rates Rates
	// Checks, when set, records every check's run (the status page);
	// with a RefPublisher it includes where the groups went.
	Checks Checks
	Logger *slog.Logger
	// Registerer receives panoptes_checks_scheduled (nil: none).
	Registerer prometheus.Registerer
}

// Collector turns the inventory into checks and runs them.
type Collector struct {
	o         Options
	scheduled prometheus.Gauge
	// mu guards o.Plugins, which SetPlugins replaces (a reload) while the
	// node reconciles.
	mu sync.Mutex
	// Interval counts what was done since the last summary line (Swap
	// it), Total since the start.
	Interval, Total Activity
	// publishWarn bounds the checks' "publish failed" lines (the counts
	// above have every failure).
	publishWarn warnLimit
}

// New makes a collector; nothing runs until the scheduler runs the checks
// Reconcile gives it.
func New(o Options) *Collector {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	o.Plugins = withTimeouts(o.Plugins)
	return &Collector{o: o, scheduled: selfmetric.Register(o.Registerer, prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "panoptes_checks_scheduled", Help: "Checks (plugin × resource) this node schedules.",
	}))}
}

// withTimeouts copies plugins, a timeout left zero set to the interval.
func withTimeouts(plugins []Plugin) []Plugin {
	plugins = slices.Clone(plugins)
	for i := range plugins {
		if plugins[i].Timeout <= 0 {
			plugins[i].Timeout = plugins[i].Interval
		}
	}
	return plugins
}

// Plugins are the configured plugin instances.
func (c *Collector) Plugins() []Plugin {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.o.Plugins
}

// SetPlugins replaces the plugin instances (a config reload); the next
// Reconcile schedules them. A check is keyed by its plugin's name and its
// resource, so the scheduler keeps the schedule and phase of every check
// whose plugin kept its name and interval (its next run uses the new
// instance), reschedules at its phase in the new interval a check whose
// interval changed, starts the checks of an added plugin at their phase
// and stops those of a removed one (a run in flight finishes). Runs in
// flight keep the instance they started with.
func (c *Collector) SetPlugins(plugins []Plugin) {
	plugins = withTimeouts(plugins)
	c.mu.Lock()
	c.o.Plugins = plugins
	c.mu.Unlock()
}

// Ownership is what a reconcile saw: the inventory, and which of this
// site's resources this node owns (by key). The node's other roles that
// follow ownership (streams, enrichment) use the same.
type Ownership struct {
	Snapshot []*resource.Resource
	Owned    map[string]bool
	// Handing are the owned keys polled only until a joining node's join
	// time (Owner.Handovers).
	Handing map[string]time.Time
}

// Kept is Owned without the keys being handed to a joining node: what a
// role with no due times (a stream) keeps. It lets those go at once, and
// the joining node takes them at once, so they are never held twice.
func (o Ownership) Kept() map[string]bool {
	if len(o.Handing) == 0 {
		return o.Owned
	}
	kept := make(map[string]bool, len(o.Owned))
	for k := range o.Owned {
		if _, handing := o.Handing[k]; !handing {
			kept[k] = true
		}
	}
	return kept
}

// Reconcile schedules every resource of this node's site that it owns
// times every plugin whose filter matches it. A resource lost to another
// node stops at once; one gained starts at its check's phase, the same on
// every node, so a move neither skips nor repeats an interval. It returns
// the checks' count and what it saw.
func (c *Collector) Reconcile() (int, Ownership) {
	snap := c.o.Inventory.Snapshot()
	keys := make([]string, 0, len(snap))
	for _, res := range snap {
		if res.Site == c.o.Site {
			keys = append(keys, res.Key())
		}
	}
	owned := c.o.Owner.Owned(keys)
	if c.o.Checks != nil {
		c.o.Checks.Retain(func(key string) bool { return owned[key] })
	}
	takeover := c.o.Owner.Takeovers(owned) // polled from then on: a leaving node has them until then
	handover := c.o.Owner.Handovers(owned) // polled until then: a joining node has them from then on
	plugins := c.Plugins()
	var checks []schedule.Check
	for _, res := range snap {
		if res.Site != c.o.Site || !owned[res.Key()] {
			continue
		}
		for i := range plugins {
			p := &plugins[i]
			if !p.Filter.Match(res) {
				continue
			}
			checks = append(checks, schedule.Check{
				Key:      p.Name + "|" + res.Key(),
				Plugin:   p.Name,
				Interval: p.Interval,
				Run:      c.CheckFunc(p, res, takeover[res.Key()], handover[res.Key()]),
			})
		}
	}
	c.o.Scheduler.Update(checks)
	c.scheduled.Set(float64(len(checks)))
	return len(checks), Ownership{Snapshot: snap, Owned: owned, Handing: handover}
}

// CheckFunc polls one resource with one plugin and publishes the result,
// for due times from notBefore on and before until (zero: all) and,
// once this node leaves, before the time it hands over.
func (c *Collector) CheckFunc(p *Plugin, res *resource.Resource, notBefore, until time.Time) func(context.Context) {
	check := &poll.Check{Name: p.Name, Plugin: p.Plugin, Resource: res, Interval: p.Interval,
		Rates: c.o.Rates != nil && !p.Rates.Empty()}
	var entry atomic.Pointer[checkstate.Entry] // the check's record on the status page
	// refs is where the last run's groups went, kept for its array: a
	// check's runs never overlap (the scheduler skips a due time whose run
	// is in flight), and the entry copies what it records.
	var refs []wire.Ref
	return func(ctx context.Context) {
		if !c.mayPoll(ctx, p.Interval, notBefore, until) {
			return
		}
		// The poll's deadline is the check's unless the plugin's timeout is
		// shorter (it defaults to the interval, and the check's deadline is
		// its next due time, at most an interval away): a context that
		// would add nothing is not made.
		var set *metric.GroupSet
		start := time.Now()
		d, hasDeadline := ctx.Deadline()
		if hasDeadline && (p.Timeout >= p.Interval || !d.After(time.Now().Add(p.Timeout))) {
			set = c.o.Poller.RunCheck(ctx, check)
		} else {
			pctx, cancel := context.WithTimeout(ctx, p.Timeout)
			set = c.o.Poller.RunCheck(pctx, check)
			cancel()
		}
		if c.o.Rates != nil && !p.Rates.Empty() {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			c.o.Rates.Apply(rctx, set, p.Rates, time.Now())
			cancel()
		}
		// Publish even when the check's own deadline has passed: the poll's
		// result (if only its status) is what the user needs to see. But
		// wait for acks only until just before the check is due again
		// (ctx's deadline): a check still waiting then skips its next run,
		// and a stream electing a new leader can leave acks unanswered for
		// longer than an interval. What is not acknowledged goes to the
		// bus's buffer, which publishes it again with the same message IDs
		// (stored once).
		// The bound is passed as a time, not as a context deadline: a
		// timer context per check cost more than the rest of PublishSet.
		var pubDeadline time.Time
		if hasDeadline {
			pubDeadline = d.Add(-PublishMargin(p.Interval))
		} else {
			pubDeadline = time.Now().Add(10 * time.Second)
		}
		var published int
		var err error
		refs = refs[:0]
		if rp, ok := c.o.Publisher.(RefPublisher); ok && c.o.Checks != nil {
			published, refs, err = rp.PublishSetRefs(context.WithoutCancel(ctx), set, pubDeadline, refs)
		} else {
			published, err = c.o.Publisher.PublishSetUntil(context.WithoutCancel(ctx), set, pubDeadline)
		}
		if err != nil {
			c.warnPublish("plugin", p.Name, "resource", res.ID, "err", err)
		}
		if c.o.Checks != nil {
			var due time.Time
			if hasDeadline {
				due = d // a check's deadline is its next due time
			}
			e := entry.Load()
			if e == nil || e.Removed() { // first run, or the book dropped it meanwhile
				e = c.o.Checks.Entry(res.Key(), p.Name)
				entry.Store(e)
			}
			e.Record(runOf(p, start, due, set, refs))
		}
		c.Interval.Record(set, published, err)
		c.Interval.NoteBusy(set)
		c.Total.Record(set, published, err)
	}
}

// Emit publishes what a streaming input instance (name) delivered: with
// its rates (sel), waiting for acks for an interval at most (at least
// 10 s), counted as published groups. A stream's sets are not checks: its
// status group says how it is.
func (c *Collector) Emit(name string, interval time.Duration, sel rate.Selector, set *metric.GroupSet) {
	if c.o.Rates != nil && !sel.Empty() {
		rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		c.o.Rates.Apply(rctx, set, sel, time.Now())
		cancel()
	}
	published, err := c.o.Publisher.PublishSetUntil(context.Background(), set, time.Now().Add(max(interval, 10*time.Second)))
	if err != nil {
		c.warnPublish("input", name, "err", err)
	}
	c.Interval.RecordPublished(len(set.Groups), published, err)
	c.Total.RecordPublished(len(set.Groups), published, err)
}

// warnPublish logs a failed publish (checks' and streams'), at most
// warnLimit's rate: with the bus buffer full every one fails.
func (c *Collector) warnPublish(args ...any) {
	if ok, leftOut := c.publishWarn.allow(time.Now()); ok {
		if leftOut > 0 {
			args = append(args, "more_not_logged", leftOut)
		}
		c.o.Logger.Warn("publish failed", args...)
	}
}

// runOf is what the status page keeps of a check's run.
func runOf(p *Plugin, start, nextDue time.Time, set *metric.GroupSet, refs []wire.Ref) checkstate.Run {
	run := checkstate.Run{Plugin: p.Name, Interval: p.Interval, Start: start, End: time.Now(), NextDue: nextDue,
		Status: metric.StatusInternalFailure, Messages: refs}
	if k := len(set.Groups); k > 0 && set.Groups[k-1].Type == poll.StatusGroupType {
		for _, m := range set.Groups[k-1].Metrics {
			if m.Name == poll.StatusMetric {
				run.Status = int(m.Value.Int64())
			}
		}
	}
	if run.Status != metric.StatusSuccess {
		run.Reason = metric.StatusName(run.Status)
		if set.Err != nil {
			run.Reason += ": " + set.Err.Error()
		}
	}
	return run
}

// mayPoll reports whether this node polls a check due at its ctx's deadline
// minus interval (the scheduler's due time, exact on every node): a
// resource moving between nodes is polled by the old owner for due times
// before the handover time (a leaving node's DrainAt, a joining node's
// JoinAt), by the new owner from then on.
func (c *Collector) mayPoll(ctx context.Context, interval time.Duration, notBefore, until time.Time) bool {
	deadline, ok := ctx.Deadline()
	if !ok {
		return true
	}
	due := deadline.Add(-interval)
	if due.Before(notBefore) || !until.IsZero() && !due.Before(until) {
		return false
	}
	if joinAt := c.o.Owner.JoinAt(); due.Before(joinAt) {
		return false
	}
	drainAt := c.o.Owner.DrainAt()
	return drainAt.IsZero() || due.Before(drainAt)
}

// PublishMargin is how long before its next due time a check stops
// waiting for publish acks: enough to return and be idle when due again.
func PublishMargin(interval time.Duration) time.Duration {
	return min(max(interval/20, 20*time.Millisecond), 250*time.Millisecond)
}
