package poll

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/snmp"
)

// NoSNMP is an optional interface of plugins that do not talk SNMP (ping,
// heartbeat): the runner then resolves no SNMP target, so resources
// without a credential can still be checked.
type NoSNMP interface {
	NoSNMP() bool
}

// RunnerOptions configures a Runner.
type RunnerOptions struct {
	// SNMP holds the defaults and credentials targets are resolved with.
	SNMP config.SNMP
	// Pool is the node's SNMP session pool, handed to plugins.
	Pool *snmp.Pool
	// Enrich is the shared enrichment cache handed to plugins (nil: none).
	Enrich EnrichSource
	// History is the previous-value store handed to plugins (nil: none).
	History History
	Logger  *slog.Logger
	// Registerer receives the self-metrics; nil registers nothing.
	Registerer prometheus.Registerer
	// Now is the clock for timestamps (default time.Now).
	Now func() time.Time
}

// Runner runs checks: one plugin against one resource, always ending with a
// status group. It is safe for concurrent use.
type Runner struct {
	snmp    config.SNMP
	pool    *snmp.Pool
	enrich  EnrichSource
	history History
	log     *slog.Logger
	now     func() time.Time
	metrics *runnerMetrics

	// failing holds the last status of each failing check, so a device
	// that stays down is logged when it fails and when it recovers, not
	// on every interval.
	failingMu sync.Mutex
	failing   map[string]int
}

// NewRunner returns a Runner.
func NewRunner(opts RunnerOptions) *Runner {
	r := &Runner{snmp: opts.SNMP, pool: opts.Pool, enrich: opts.Enrich, history: opts.History, log: opts.Logger, now: opts.Now,
		metrics: newRunnerMetrics(opts.Registerer), failing: map[string]int{}}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.now == nil {
		r.now = time.Now
	}
	return r
}

// Run runs one check and returns its groups followed by the `status` group
// (metric polling_status, dimension plugin=pluginName):
//   - the target cannot be resolved (no credential...): internal failure;
//   - the plugin panics: internal failure, its groups are dropped;
//   - the plugin returns a *StatusError: that status;
//   - ctx's deadline passed: timeout (groups built before it are kept);
//   - an error with some groups: partial failure;
//   - an error with no groups: snmp.Status(err).
//
// ctx bounds the check; the caller sets its deadline.
func (r *Runner) Run(ctx context.Context, pluginName string, p Plugin, res *resource.Resource, interval time.Duration) *metric.GroupSet {
	began := time.Now() // monotonic, for the duration histogram
	start := r.now()
	log := r.log.With("plugin", pluginName)
	if res != nil {
		log = log.With("resource", res.Key())
	}

	groups, status, err := r.check(ctx, log, pluginName, p, res, interval, start)
	r.logStatus(log, pluginName, res, status, err)

	r.metrics.checks.WithLabelValues(pluginName, metric.StatusName(status)).Inc()
	r.metrics.duration.WithLabelValues(pluginName).Observe(time.Since(began).Seconds())

	secs := int(interval / time.Second)
	groups = append(groups, statusGroup(res, pluginName, secs, epoch(start), epoch(r.now()), status))
	return &metric.GroupSet{Groups: groups}
}

func (r *Runner) check(ctx context.Context, log *slog.Logger, pluginName string, p Plugin,
	res *resource.Resource, interval time.Duration, start time.Time) ([]*metric.Group, int, error) {
	if res == nil || p == nil {
		return nil, metric.StatusInternalFailure, fmt.Errorf("check %s: nil resource or plugin", pluginName)
	}
	var target snmp.Target
	if ns, ok := p.(NoSNMP); !ok || !ns.NoSNMP() {
		var err error
		if target, err = snmp.TargetFor(res, r.snmp); err != nil {
			return nil, metric.StatusInternalFailure, fmt.Errorf("SNMP target: %w", err)
		}
	}
	req := &Request{Resource: res, Interval: interval, Target: target, SNMP: r.pool, Enrich: r.enrich, History: r.history, Now: start, Logger: log}

	groups, err, panicked := r.poll(ctx, log, pluginName, p, req)
	if panicked {
		return nil, metric.StatusInternalFailure, err
	}
	kept := groups[:0]
	for _, g := range groups {
		if g != nil {
			kept = append(kept, g)
		}
	}
	return kept, statusOf(ctx, len(kept), err), err
}

// poll calls the plugin, turning a panic into an error so that one buggy
// plugin or device cannot take the poller down.
func (r *Runner) poll(ctx context.Context, log *slog.Logger, pluginName string, p Plugin, req *Request) (groups []*metric.Group, err error, panicked bool) {
	defer func() {
		if v := recover(); v != nil {
			r.metrics.panics.WithLabelValues(pluginName).Inc()
			log.Error("polling plugin panicked", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			groups, err, panicked = nil, fmt.Errorf("plugin %s panicked: %v", pluginName, v), true
		}
	}()
	groups, err = p.Poll(ctx, req)
	return groups, err, false
}

// epoch returns t as Unix seconds with a fraction, Panoptes' timestamp format.
func epoch(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// logStatus logs a check's status at warn when it changes to a failure, at
// info when it recovers, and at debug while it stays the same.
func (r *Runner) logStatus(log *slog.Logger, pluginName string, res *resource.Resource, status int, err error) {
	key := pluginName
	if res != nil {
		key += "|" + res.Key()
	}
	r.failingMu.Lock()
	prev, wasFailing := r.failing[key]
	if status == metric.StatusSuccess {
		delete(r.failing, key)
	} else {
		r.failing[key] = status
	}
	r.failingMu.Unlock()
	switch {
	case status != metric.StatusSuccess && (!wasFailing || prev != status):
		log.Warn("check failed", "status", metric.StatusName(status), "error", err)
	case status != metric.StatusSuccess:
		log.Debug("check still failing", "status", metric.StatusName(status), "error", err)
	case wasFailing:
		log.Info("check recovered", "was", metric.StatusName(prev))
	}
}
