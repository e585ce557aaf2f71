package poll

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

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
	SNMP SNMPOptions
	// Pool is the node's SNMP session pool, handed to plugins.
	Pool *snmp.Pool
	// Enrich is the shared enrichment cache handed to plugins (nil: none).
	Enrich EnrichSource
	// History is the previous-value store handed to plugins (nil: none).
	History History
	Logger  *slog.Logger
	// Registerer receives the self-metrics; nil registers nothing.
	Registerer prometheus.Registerer
	// Now is the clock for timestamps (default time.Now, whose readings
	// the duration histogram then shares).
	Now func() time.Time
	// WalkLimit bounds the varbinds a check's walks return together (see
	// snmp.WalkLimit); 0 is snmp.DefaultWalkLimit. Past it the check's
	// status is partial failure.
	WalkLimit int
}

// Runner runs checks: one plugin against one resource, always ending with a
// status group. It is safe for concurrent use.
type Runner struct {
	// snmp is what targets are resolved with; a config reload replaces it
	// (SetSNMP) for the checks prepared after.
	snmp    atomic.Pointer[SNMPOptions]
	pool    *snmp.Pool
	enrich  EnrichSource
	history History
	log     *slog.Logger
	now     func() time.Time // nil: time.Now
	metrics *runnerMetrics
	limit   int // RunnerOptions.WalkLimit

	// failing holds the last status of each failing check, so a device
	// that stays down is logged when it fails and when it recovers, not
	// on every interval.
	failingMu sync.Mutex
	failing   map[string]int
	failingN  atomic.Int64 // len(failing), read without the lock
	statusLog statusLogLimit

	plugins sync.Map // plugin instance name → *pluginCounters
}

// NewRunner returns a Runner.
func NewRunner(opts RunnerOptions) *Runner {
	r := &Runner{pool: opts.Pool, enrich: opts.Enrich, history: opts.History, log: opts.Logger, now: opts.Now,
		metrics: newRunnerMetrics(opts.Registerer), failing: map[string]int{}, limit: opts.WalkLimit}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	r.SetSNMP(opts.SNMP)
	return r
}

// SNMP is what targets are resolved with.
func (r *Runner) SNMP() SNMPOptions { return *r.snmp.Load() }

// SetSNMP replaces the SNMP defaults and credentials (a config reload).
// Checks resolve their target at their first run: those prepared after
// (the node's next reconcile prepares every check again) use o; sessions
// are matched by their whole target (the credential by its contents, not
// its pointer), so a changed credential opens new ones. o must not be
// modified after: its credentials are shared by the targets built from it.
func (r *Runner) SetSNMP(o SNMPOptions) { r.snmp.Store(&o) }

// Run runs one check and returns its groups followed by the `status` group
// (metric polling_status, dimension plugin=pluginName):
//   - the target cannot be resolved (no credential...): internal failure;
//   - the plugin panics: internal failure, its groups are dropped;
//   - the plugin returns a *StatusError: that status;
//   - ctx's deadline passed: timeout (groups built before it are kept);
//   - an error with some groups: partial failure;
//   - an error with no groups: the status of its SNMP failure kind (snmp.KindOf).
//
// ctx bounds the check; the caller sets its deadline.
func (r *Runner) Run(ctx context.Context, pluginName string, p Plugin, res *resource.Resource, interval time.Duration) *metric.GroupSet {
	rv := r.resolve(pluginName, p, res)
	return r.run(ctx, pluginName, p, res, interval, &rv)
}

// Check is one plugin instance's check of one resource, prepared for
// repeated runs (a node makes one per scheduled check): what the Runner
// derives from it — the SNMP target, the plugin's metric children — is
// resolved at its first run and kept (as is its resource's JSON), which
// saves a light check ~2.5µs. Its fields and its resource must not change
// once it has run; a changed resource is a new Check. A Check belongs to
// one Runner.
type Check struct {
	Name     string // plugin instance name
	Plugin   Plugin
	Resource *resource.Resource
	Interval time.Duration
	// Rates says rate gauges will be appended to the groups (see
	// Request.Rates).
	Rates bool

	once sync.Once
	rv   resolved
}

// resolved is what a check needs besides its inputs: its SNMP target (or
// why it has none) and its plugin's metric children.
type resolved struct {
	target    snmp.Target
	targetErr error
	pm        *pluginCounters
	// encoded is the resource's JSON for every poll's set (a Check's
	// resource does not change: a changed one is a new Check).
	encoded *metric.EncodedResource
	rates   bool // Check.Rates
}

// resolve finds the target, unless the plugin does not talk SNMP.
func (r *Runner) resolve(pluginName string, p Plugin, res *resource.Resource) resolved {
	rv := resolved{pm: r.pluginMetrics(pluginName)}
	if res == nil || p == nil {
		return rv
	}
	if ns, ok := p.(NoSNMP); !ok || !ns.NoSNMP() {
		if rv.target, rv.targetErr = TargetFor(res, *r.snmp.Load()); rv.targetErr != nil {
			rv.targetErr = fmt.Errorf("SNMP target: %w", rv.targetErr)
		}
	}
	return rv
}

// RunCheck is Run for a prepared check.
func (r *Runner) RunCheck(ctx context.Context, k *Check) *metric.GroupSet {
	k.once.Do(func() {
		k.rv = r.resolve(k.Name, k.Plugin, k.Resource)
		k.rv.encoded = metric.EncodeResource(k.Resource)
		k.rv.rates = k.Rates
	})
	return r.run(ctx, k.Name, k.Plugin, k.Resource, k.Interval, &k.rv)
}

func (r *Runner) run(ctx context.Context, pluginName string, p Plugin, res *resource.Resource, interval time.Duration, rv *resolved) *metric.GroupSet {
	began := time.Now() // monotonic, for the duration histogram
	start := began
	if r.now != nil {
		start = r.now()
	}
	c := &checkRun{}
	c.lh = checkLog{parent: r.log.Handler(), plugin: pluginName, res: res}
	c.log = *slog.New(&c.lh)
	log := &c.log

	groups, status, err := r.check(ctx, c, pluginName, p, res, interval, rv, start)
	r.logStatus(log, pluginName, res, status, err)

	ended := time.Now()
	pm := rv.pm
	pm.checks(r.metrics, pluginName, status).Inc()
	pm.duration.Observe(ended.Sub(began).Seconds())
	if r.now != nil {
		ended = r.now()
	}

	secs := int(interval / time.Second)
	c.setStatusGroup(res, pluginName, secs, Epoch(start), Epoch(ended), status)
	if len(groups) == 0 {
		groups = c.groups[:0] // room for the status group alone
	}
	c.set.Groups = append(groups, &c.status)
	c.set.Encoded = rv.encoded
	if status != metric.StatusSuccess {
		c.set.Err = err
	}
	return &c.set
}

// checkRun is everything a check allocates besides its plugin's groups, in
// one allocation: the request, the logger, the status group and the set.
type checkRun struct {
	req    Request
	log    slog.Logger
	lh     checkLog
	set    metric.GroupSet
	groups [1]*metric.Group
	status metric.Group
	metric [1]metric.Metric
	dim    [1]metric.Dimension
	limit  snmp.WalkLimit // the check's ctx: its walks' varbind limit
}

// checkLog is a check's log handler: the Runner's with the attributes
// plugin and resource, as Logger.With would add them. Handlers format
// attributes when they are added (TextHandler and JSONHandler do), so they
// are added only when the check logs a record, which most checks never do.
type checkLog struct {
	parent slog.Handler
	plugin string
	res    *resource.Resource
	once   sync.Once
	h      slog.Handler
}

func (l *checkLog) handler() slog.Handler {
	l.once.Do(func() {
		attrs := []slog.Attr{slog.String("plugin", l.plugin)}
		if l.res != nil {
			attrs = append(attrs, slog.String("resource", l.res.Key()))
		}
		l.h = l.parent.WithAttrs(attrs)
	})
	return l.h
}

func (l *checkLog) Enabled(ctx context.Context, level slog.Level) bool {
	return l.parent.Enabled(ctx, level)
}

func (l *checkLog) Handle(ctx context.Context, rec slog.Record) error {
	return l.handler().Handle(ctx, rec)
}

func (l *checkLog) WithAttrs(attrs []slog.Attr) slog.Handler { return l.handler().WithAttrs(attrs) }
func (l *checkLog) WithGroup(name string) slog.Handler       { return l.handler().WithGroup(name) }

func (r *Runner) check(ctx context.Context, c *checkRun, pluginName string, p Plugin,
	res *resource.Resource, interval time.Duration, rv *resolved, start time.Time) ([]*metric.Group, int, error) {
	if res == nil || p == nil {
		return nil, metric.StatusInternalFailure, fmt.Errorf("check %s: nil resource or plugin", pluginName)
	}
	if rv.targetErr != nil {
		return nil, metric.StatusInternalFailure, rv.targetErr
	}
	req := &c.req
	*req = Request{Resource: res, Interval: interval, Target: rv.target, SNMP: r.pool, Enrich: r.enrich, History: r.history,
		Now: start, Logger: &c.log, Rates: rv.rates}

	groups, err, panicked := r.poll(c.limit.Reset(ctx, r.limit), &c.log, pluginName, p, req)
	if panicked {
		return nil, metric.StatusInternalFailure, err
	}
	kept := groups[:0]
	for _, g := range groups {
		if g != nil {
			kept = append(kept, g)
		}
	}
	return kept, StatusOf(ctx, len(kept), err), err
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

// Epoch returns t as Unix seconds with a fraction, Panoptes' timestamp format.
func Epoch(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// logStatus logs a check's status at warn when it changes to a failure, at
// info when it recovers, and at debug while it stays the same; changes past
// the runner's budget are summed in one line (statusLogLimit).
func (r *Runner) logStatus(log *slog.Logger, pluginName string, res *resource.Resource, status int, err error) {
	if status == metric.StatusSuccess && r.failingN.Load() == 0 {
		return // nothing is failing, so nothing recovers
	}
	var buf [160]byte
	key := appendCheckKey(buf[:0], pluginName, res) // looked up without allocating
	r.failingMu.Lock()
	prev, wasFailing := r.failing[string(key)]
	switch {
	case status == metric.StatusSuccess:
		if wasFailing {
			delete(r.failing, string(key))
		}
	case !wasFailing || prev != status:
		r.failing[string(key)] = status
	}
	r.failingN.Store(int64(len(r.failing)))
	r.failingMu.Unlock()
	switch {
	case status != metric.StatusSuccess && (!wasFailing || prev != status):
		if name := metric.StatusName(status); r.statusLog.allow(r.log, name) {
			log.Warn("check failed", "status", name, "error", err)
		}
	case status != metric.StatusSuccess:
		log.Debug("check still failing", "status", metric.StatusName(status), "error", err)
	case wasFailing:
		if r.statusLog.allow(r.log, "") {
			log.Info("check recovered", "was", metric.StatusName(prev))
		}
	}
}

// appendCheckKey appends pluginName|resource key, the key of r.failing.
func appendCheckKey(b []byte, pluginName string, res *resource.Resource) []byte {
	b = append(b, pluginName...)
	if res != nil {
		for _, f := range [...]string{res.Site, res.Class, res.Subclass, res.Type, res.ID} {
			b = append(append(b, '|'), f...)
		}
	}
	return b
}

// pluginCounters caches one plugin instance's metric children, so that a
// check does not look its labels up. The success counter is created at the
// first success, as WithLabelValues would: a plugin that never succeeds has
// no success series.
type pluginCounters struct {
	duration prometheus.Observer
	okOnce   sync.Once
	ok       prometheus.Counter
}

func (r *Runner) pluginMetrics(pluginName string) *pluginCounters {
	if pm, ok := r.plugins.Load(pluginName); ok {
		return pm.(*pluginCounters)
	}
	pm, _ := r.plugins.LoadOrStore(pluginName, &pluginCounters{duration: r.metrics.duration.WithLabelValues(pluginName)})
	return pm.(*pluginCounters)
}

func (pm *pluginCounters) checks(m *runnerMetrics, pluginName string, status int) prometheus.Counter {
	if status != metric.StatusSuccess {
		return m.checks.WithLabelValues(pluginName, metric.StatusName(status))
	}
	pm.okOnce.Do(func() { pm.ok = m.checks.WithLabelValues(pluginName, metric.StatusName(status)) })
	return pm.ok
}
