// Package node wires the roles of one panoptes process — bus, inventory,
// discovery, scheduler and poller, sinks, HTTP — from a config. Subsystems
// meet through small data types (resource.Resource, metric.GroupSet); only
// this package knows them all.
package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/panoptes-go/panoptes/internal/bus"
	"github.com/panoptes-go/panoptes/internal/checkstate"
	"github.com/panoptes-go/panoptes/internal/cluster"
	"github.com/panoptes-go/panoptes/internal/collector"
	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/discovery"
	"github.com/panoptes-go/panoptes/internal/enrich"
	"github.com/panoptes-go/panoptes/internal/input"
	"github.com/panoptes-go/panoptes/internal/inventory"
	"github.com/panoptes-go/panoptes/internal/poll"
	"github.com/panoptes-go/panoptes/internal/rate"
	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/schedule"
	"github.com/panoptes-go/panoptes/internal/sdnotify"
	"github.com/panoptes-go/panoptes/internal/selfmetric"
	"github.com/panoptes-go/panoptes/internal/sink"
	"github.com/panoptes-go/panoptes/internal/snmp"
	"github.com/panoptes-go/panoptes/internal/version"
)

// parts is everything built from a config before anything starts, so a bad
// config fails before the bus or any listener is opened.
type parts struct {
	plugins []collector.Plugin
	sources map[string]discovery.Source
	inputs  []inputInstance
	apps    []appInstance
}

// Check builds every plugin, source and sink from cfg without starting any,
// reporting problems as file:line: key: reason.
func Check(cfg *config.Config) error {
	_, err := build(cfg, nil, nil)
	return err
}

// build builds the parts; reg receives the self-metrics of the inputs and
// apps that have some (nil: Check's, none).
func build(cfg *config.Config, reg prometheus.Registerer, logger *slog.Logger) (*parts, error) {
	var errs []error
	p := &parts{sources: map[string]discovery.Source{}}
	for i, pc := range cfg.Polling.Plugins {
		path := fmt.Sprintf("polling.plugins[%d]", i)
		if pc.Plugin == "" {
			continue // config.Validate reported it
		}
		plug, err := poll.Build(pc.Plugin, pc.Options)
		if err != nil {
			errs = append(errs, cfg.Locate("polling.plugins", i, "plugin", err))
			continue
		}
		f, err := resource.ParseFilter(pc.Filter)
		if err != nil { // config.Validate already reported it
			errs = append(errs, cfg.Errorf(path+".filter", "%v", err))
			continue
		}
		rates, err := rate.ParseSelector(pc.Rates)
		if err != nil {
			errs = append(errs, cfg.Errorf(path+".rates", "%v", err))
			continue
		}
		p.plugins = append(p.plugins, collector.Plugin{Name: pc.Name, Interval: pc.Interval.D(), Timeout: pc.Timeout.D(), Filter: f, Plugin: plug, Rates: rates})
	}
	d := cfg.Discovery.Defaults
	defaults := discovery.Defaults{Site: d.Site, Class: d.Class, Subclass: d.Subclass, Type: d.Type}
	for i, sc := range cfg.Discovery.Sources {
		if sc.Plugin == "" {
			continue // config.Validate reported it
		}
		src, err := discovery.Build(sc.Plugin, sc.Options, discovery.Deps{Name: sc.Name, Defaults: defaults})
		if err != nil {
			errs = append(errs, cfg.Locate("discovery.sources", i, "plugin", err))
			continue
		}
		p.sources[sc.Name] = src
	}
	for i, sc := range cfg.Sinks {
		if sc.Type == "" {
			continue // config.Validate reported it
		}
		if _, err := sink.New(sc, sink.Deps{}); err != nil {
			errs = append(errs, cfg.Locate("sinks", i, "type", err))
		}
	}
	errs = append(errs, buildStreams(cfg, p, reg, logger)...)
	if len(cfg.SNMP.Credentials) == 0 && len(cfg.Polling.Plugins) > 0 {
		errs = append(errs, cfg.Errorf("snmp.credentials", "no SNMP credentials are configured; add one named %q (see README.md)", cfg.SNMP.Credential))
	}
	return p, errors.Join(errs...)
}

// Node is one running panoptes process.
type Node struct {
	cfg   *config.Config
	log   *slog.Logger
	reg   *prometheus.Registry
	parts *parts

	bus    *bus.Bus
	store  *inventory.Store
	index  *inventory.Index
	pool   *snmp.Pool
	snmp   poll.SNMPOptions // targets are built from it
	runner *poll.Runner
	sched  *schedule.Scheduler
	sinks  []*sink.Consumer
	// streams runs the streaming inputs of the resources this node owns.
	streams *input.Runner
	rates   *rate.Processor // nil when no plugin asks for rates or uses delta()
	enrich  *enrich.Cache
	// refresher is the enrichment role (nil without it); enrichMine the
	// resources this node polls or enriches, whose cache entries it keeps;
	// enrichCh nudges a reconcile when the site's enrichers change;
	// enrichWG waits for KV deletes of removed resources.
	refresher  *enrich.Refresher
	enrichMine map[string]bool
	enrichCh   chan struct{}
	enrichWG   sync.WaitGroup
	// cluster is membership, ownership and leadership; reconcile schedules
	// only what it says this node owns.
	cluster  *cluster.Cluster
	leaderCh chan struct{} // nudges the leader-only roles to check leadership
	// abrupt skips the handover on shutdown, as a killed process would (tests).
	abrupt atomic.Bool
	m      *nodeMetrics
	// col is the polling pipeline: checks of what this node owns.
	col *collector.Collector

	readyMu sync.Mutex
	ready   bool
	started bool // every component exists: Stats may read them
}

// New builds a node from cfg. Nothing is started until Run.
func New(cfg *config.Config, logger *slog.Logger) (*Node, error) {
	reg := prometheus.NewRegistry()
	p, err := build(cfg, reg, logger)
	if err != nil {
		return nil, err
	}
	selfmetric.Register(reg, prometheus.NewGoCollector())
	selfmetric.Register(reg, prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	selfmetric.Register(reg, version.NewCollector())
	return &Node{cfg: cfg, log: logger, reg: reg, parts: p, snmp: SNMPOptions(cfg.SNMP)}, nil
}

// Registry is the node's self-metrics registry, served on /metrics.
func (n *Node) Registry() *prometheus.Registry { return n.reg }

// Run starts every role and blocks until ctx is done, then shuts down in
// reverse order: polling stops first, the bus closes last, so what was
// polled is published and what was published is kept.
func (n *Node) Run(ctx context.Context) error {
	cfg := n.cfg
	var err error
	opts := bus.FromConfig(cfg.Bus, cfg.DataDir)
	opts.Name, opts.Logger, opts.Registerer = "panoptes-"+cfg.Site, n.log.With("component", "bus"), n.reg
	n.bus, err = bus.Open(ctx, opts)
	if err != nil {
		return fmt.Errorf("open bus: %w", err)
	}
	defer func() {
		if err := n.bus.Close(); err != nil {
			n.log.Warn("bus close", "err", err)
		}
	}()
	err = n.whileForming(ctx, "open inventory", func(ctx context.Context) (err error) {
		n.store, err = inventory.Open(ctx, n.bus.JetStream(), cfg.Bus.Replicas)
		return err
	})
	if err != nil {
		return fmt.Errorf("open inventory: %w", err)
	}
	n.index, err = n.store.Watch(ctx, n.log.With("component", "inventory"))
	if err != nil {
		return fmt.Errorf("watch inventory: %w", err)
	}
	defer n.index.Stop()
	n.m = newNodeMetrics(n.reg, n.index)

	n.pool = snmp.NewPool(snmp.PoolOptions{
		// Sessions are kept for reuse within a check and between frequent
		// polls; a device polled once a minute reopens its session (64 KiB
		// of gosnmp buffer each, so keeping 10,000 idle would cost 640 MiB).
		MaxRequestsPerDevice: cfg.SNMP.MaxRequestsPerDevice, IdleTimeout: 10 * time.Second, MaxIdleSessions: 4096,
		ConnectedSockets: cfg.SNMP.Transport == config.SNMPTransportConnected,
		Logger:           n.log.With("component", "snmp"), Registerer: n.reg,
	})
	defer n.pool.Close()
	if err := n.openDeviceState(ctx); err != nil {
		return err
	}
	ropts := poll.RunnerOptions{SNMP: n.snmp, Pool: n.pool, Enrich: n.enrich,
		Logger: n.log.With("component", "poll"), Registerer: n.reg}
	if n.rates != nil { // a nil *rate.Processor must not become a non-nil History
		ropts.History = n.rates // delta()'s previous values, persisted with the rates
	}
	n.runner = poll.NewRunner(ropts)
	n.classifySources()
	n.streams = input.NewRunner(n.emitStream, n.log.With("component", "input"))
	defer n.streams.Stop()
	n.sched = schedule.New(schedule.Options{MaxConcurrent: cfg.Polling.MaxConcurrentChecks, Logger: n.log.With("component", "schedule"), Registerer: n.reg})

	for _, sc := range cfg.Sinks {
		if !cfg.HasRole(config.RoleConsumer) {
			break
		}
		c, err := sink.New(sc, sink.Deps{Logger: n.log.With("component", "sink"), Registerer: n.reg, Owner: partitionOwner{n}})
		if err != nil {
			return err
		}
		n.sinks = append(n.sinks, c)
	}

	var httpSrv *httpServer
	handle := func(string, http.Handler) {} // apps' handlers, on a node without HTTP
	if cfg.HTTP.Listen != "" && cfg.HasRole(config.RoleHTTP) {
		httpSrv, err = startHTTP(cfg.HTTP.Listen, cfg.HTTP.Config, n.reg, n.readiness, n.degraded, n.log.With("component", "http"))
		if err != nil {
			return err
		}
		defer httpSrv.stop()
		handle = httpSrv.mux.Handle
	}

	// Join (load the membership) now; announce this node only after the
	// first reconcile has scheduled its share, because the others drop
	// that share the moment they see it.
	err = n.whileForming(ctx, "join cluster", func(ctx context.Context) (err error) {
		n.cluster, err = n.joinCluster(ctx)
		return err
	})
	if err != nil {
		return err
	}
	defer n.leaveCluster()
	book := checkstate.New() // the checks' runs, for the status page
	copts := collector.Options{Site: cfg.Site, Plugins: n.parts.plugins, Owner: n.cluster, Publisher: n.bus, Inventory: n.index,
		Poller: n.runner, Scheduler: n.sched, Checks: book, Logger: n.log.With("component", "collector")}
	if n.rates != nil { // a nil *rate.Processor must not become a non-nil Rates
		copts.Rates = n.rates
	}
	n.col = collector.New(copts)

	// Sinks and discovery live until the end; polling stops first on shutdown.
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	var bgWG sync.WaitGroup
	defer func() { stopBG(); bgWG.Wait() }()
	for _, c := range n.sinks {
		bgWG.Add(1)
		go func() {
			defer bgWG.Done()
			if err := c.Run(bg, n.bus.JetStream()); err != nil && !errors.Is(err, context.Canceled) {
				n.log.Error("sink stopped", "sink", c.Name(), "err", err)
			}
		}()
	}
	if err := n.startPage(bg, &bgWG, book, handle); err != nil {
		return err
	}
	bgWG.Add(1)
	go func() { defer bgWG.Done(); n.runApps(bg, handle) }()
	if len(n.parts.sources) > 0 && (cfg.HasRole(config.RoleDiscovery) || cfg.HasRole(config.RoleResourceManager)) {
		bgWG.Add(1)
		go func() { defer bgWG.Done(); n.leadDiscovery(ctx) }()
	}

	// The scheduler outlives ctx by the handover: it polls until the others
	// have taken this node's resources.
	schedCtx, stopSched := context.WithCancel(context.WithoutCancel(ctx))
	defer stopSched()
	schedDone := make(chan error, 1)
	go func() { schedDone <- n.sched.Run(schedCtx) }()
	bgWG.Add(1)
	go func() { defer bgWG.Done(); n.logSummaries(ctx, n.summaryInterval()) }()
	if n.rates != nil {
		// Flushes the previous samples until the end, then once more.
		bgWG.Add(1)
		go func() { defer bgWG.Done(); n.rates.Run(bg) }()
	}
	// The enrichment role stops with ctx: polls go on with what the cache
	// holds (or collect it themselves) during the handover.
	stopEnrichment := n.startEnrichment(ctx)
	defer func() { stopEnrichment(); n.enrichWG.Wait() }()
	n.reconcile()
	if err := n.cluster.Start(ctx); err != nil {
		stopSched()
		<-schedDone
		return err
	}
	n.readyMu.Lock()
	n.started = true
	n.readyMu.Unlock()
	n.setReady(true)
	n.log.Info("panoptes running", "node", n.cluster.ID(), "roles", cfg.Roles, "site", cfg.Site, "resources", n.index.Len(), "checks", n.sched.Len(),
		"plugins", len(n.parts.plugins), "sinks", len(n.sinks), "http", cfg.HTTP.Listen)

	for {
		select {
		case <-n.index.Changes():
			n.reconcile()
		case <-n.cluster.Changes():
			n.reconcile()
			n.nudgeLeader()
		case <-n.enrichCh:
			n.reconcile()
		case <-ctx.Done():
			n.setReady(false)
			n.handOver()
			n.streams.Stop() // the others stream this node's resources now
			n.log.Info("shutting down: waiting for running checks")
			n.finishChecks()
			stopSched()
			err := <-schedDone
			if len(n.sinks) > 0 {
				n.log.Info("polling stopped; waiting for the sinks to catch up")
				n.drainSinks(10 * time.Second)
			}
			n.log.Info("panoptes stopped")
			return err
		}
	}
}

// reconcile follows the inventory and the cluster: the checks (the
// collector), the streams and the enrichment of what this node owns.
func (n *Node) reconcile() {
	count, own := n.col.Reconcile()
	n.m.checks.Set(float64(count))
	n.streams.Update(n.wantedStreams(own.Snapshot, own.Owned))
	n.reconcileEnrichment(own.Snapshot, own.Owned)
	n.log.Debug("schedule updated", "checks", count)
}

func (n *Node) setReady(v bool) {
	n.readyMu.Lock()
	n.ready = v
	n.readyMu.Unlock()
	if err := sdnotify.Ready(v); err != nil { // Type=notify units
		n.log.Warn("systemd notification failed", "err", err)
	}
}

// degraded says what works but not fully ("" when all is well): the bus
// buffering locally because the stream is full or unreachable.
func (n *Node) degraded() string {
	n.readyMu.Lock()
	started := n.started
	n.readyMu.Unlock()
	if !started {
		return ""
	}
	return n.bus.Health().Degraded()
}

// readiness is nil when the node polls and the bus answers.
func (n *Node) readiness() error {
	n.readyMu.Lock()
	ready := n.ready
	n.readyMu.Unlock()
	if !ready {
		return errors.New("starting or stopping")
	}
	return n.bus.Ready()
}
