// Package node wires the roles of one panoptes process — bus, inventory,
// discovery, scheduler and poller, sinks, HTTP — from a config, and
// declares once (services.go) the order in which they start and stop.
// Subsystems meet through small data types (resource.Resource,
// metric.GroupSet); only this package knows them all. It is wiring only:
// the roles live in their packages (parts, collector, devicestate, input,
// cluster, httpd, service).
package node

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/panoptes-go/panoptes/internal/apps"
	"github.com/panoptes-go/panoptes/internal/bus"
	"github.com/panoptes-go/panoptes/internal/cluster"
	"github.com/panoptes-go/panoptes/internal/collector"
	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/discovery"
	"github.com/panoptes-go/panoptes/internal/httpd"
	"github.com/panoptes-go/panoptes/internal/inventory"
	"github.com/panoptes-go/panoptes/internal/parts"
	"github.com/panoptes-go/panoptes/internal/poller"
	"github.com/panoptes-go/panoptes/internal/reload"
	"github.com/panoptes-go/panoptes/internal/sdnotify"
	"github.com/panoptes-go/panoptes/internal/selfmetric"
	"github.com/panoptes-go/panoptes/internal/service"
	"github.com/panoptes-go/panoptes/internal/sink"
	"github.com/panoptes-go/panoptes/internal/snmp"
	"github.com/panoptes-go/panoptes/internal/version"
	"github.com/panoptes-go/panoptes/internal/web"
)

// Check builds every plugin, source and sink from cfg without starting any,
// reporting problems as file:line: key: reason.
func Check(cfg *config.Config) error { return parts.Check(cfg) }

// Stats are the node's running totals, for the benchmark harness and tests.
type Stats = collector.Stats

// Node is one running panoptes process. Its fixed part (bus, inventory,
// device state, SNMP sessions, scheduler, cluster, HTTP listener, data
// dir) lives as long as the process; the swappable parts can be replaced
// while it runs, the others going on: sinks, apps and discovery are
// service.Set members keyed by name, the streaming inputs are inputs
// (then reconcile), the polling plugins are the collector's.
type Node struct {
	cfg    *config.Config
	log    *slog.Logger
	reg    *prometheus.Registry
	parts  *parts.Parts
	group  *service.Group // the services, in start order
	poller *poller.Poller

	bus     *bus.Bus
	store   *inventory.Store
	index   *inventory.Index
	pool    *snmp.Pool
	cluster *cluster.Cluster
	http    *httpd.Server // nil without the http role or http.listen
	web     *web.Web
	host    *apps.Host // what the apps run with
	manager *discovery.Manager

	sinks     *service.Set[*sink.Consumer]
	apps      *service.Set[apps.Instance]
	discovery *service.Set[discovery.Plan] // one member, "sources", while this node runs discovery

	leaderCh chan struct{} // nudges discovery to check leadership
	// abrupt skips the handover on shutdown, as a killed process would (tests).
	abrupt atomic.Bool
}

// New builds a node from cfg. Nothing is started until Run.
func New(cfg *config.Config, logger *slog.Logger) (*Node, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	reg := prometheus.NewRegistry()
	p, err := parts.Build(cfg, reg, logger)
	if err != nil {
		return nil, err
	}
	selfmetric.Register(reg, prometheus.NewGoCollector())
	selfmetric.Register(reg, prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	selfmetric.Register(reg, version.NewCollector())
	n := &Node{cfg: cfg, log: logger, reg: reg, parts: p, leaderCh: make(chan struct{}, 1), group: service.NewGroup(logger),
		poller: poller.New(poller.Options{Config: cfg, Plugins: p.Plugins, Inputs: p.Inputs, SNMP: parts.SNMPOptions(cfg.SNMP), Logger: logger, Registerer: reg}),
		sinks:  service.NewSet[*sink.Consumer]("sink", logger), apps: service.NewSet[apps.Instance]("app", logger),
		discovery: service.NewSet[discovery.Plan]("discovery", logger)}
	for _, a := range p.Apps {
		if cfg.HasRole(a.Type) {
			n.apps.Put(a.Name, a, n.runApp)
		}
	}
	if cfg.HTTP.Listen != "" && cfg.HasRole(config.RoleHTTP) {
		n.http = httpd.New(httpd.Options{Listen: cfg.HTTP.Listen, Gatherer: reg, Registerer: reg, Ready: n.readiness,
			Degraded: n.degraded, Logger: logger.With("component", "http"), Web: cfg.HTTP.Config})
	}
	n.group.Add(n.services()...)
	n.group.OnReady = n.onReady
	return n, nil
}

// Registry is the node's self-metrics registry, served on /metrics.
func (n *Node) Registry() *prometheus.Registry { return n.reg }

// Run starts every role and blocks until ctx is done, then stops them in
// the reverse order (services): polling stops first, the bus closes last,
// so what was polled is published and what was published is kept.
func (n *Node) Run(ctx context.Context) error {
	err := n.group.Run(ctx)
	if err == nil {
		n.log.Info("panoptes stopped")
	}
	return err
}

// forming runs op, retried while the JetStream cluster forms (bus.connect_retry).
func (n *Node) forming(ctx context.Context, what string, op func(context.Context) error) error {
	return cluster.WhileForming(ctx, n.cfg.Bus.ConnectRetry.D(), n.log, what, op)
}

// onReady follows the group: ready once every service started, not ready
// from the moment the stop begins.
func (n *Node) onReady(ready bool) {
	if err := sdnotify.Ready(ready); err != nil { // Type=notify units
		n.log.Warn("systemd notification failed", "err", err)
	}
	if ready {
		n.log.Info("panoptes running", "node", n.cluster.ID(), "roles", n.cfg.Roles, "site", n.cfg.Site, "resources", n.index.Len(),
			"checks", n.poller.Scheduler().Len(), "plugins", len(n.parts.Plugins), "sinks", len(n.sinks.Names()), "http", n.cfg.HTTP.Listen)
	}
}

// degraded says what works but not fully ("" when all is well): the bus
// buffering locally because the stream is full or unreachable.
func (n *Node) degraded() string {
	if !n.group.Started() {
		return ""
	}
	return n.bus.Health().Degraded()
}

// readiness is nil when the node polls and the bus answers.
func (n *Node) readiness() error {
	if !n.group.Ready() {
		return errors.New("starting or stopping")
	}
	return n.bus.Ready()
}

// Stats returns the totals since Run started; zero before.
func (n *Node) Stats() Stats {
	if !n.group.Started() {
		return Stats{}
	}
	return n.poller.Stats(n.index.Len(), n.pool.Varbinds())
}

// Reload swaps the parts d names for cfg's while the node is ready; a stop waits for it.
func (n *Node) Reload(ctx context.Context, cfg *config.Config, d config.Diff) error {
	return n.group.WhileReady(func() error { return n.reload(cfg, d) })
}

func (n *Node) reload(cfg *config.Config, d config.Diff) error {
	p, err := parts.Build(cfg, n.reg, n.log)
	if err != nil {
		return err
	}
	sinks, err := parts.Sinks(cfg, sink.Deps{Logger: n.log.With("component", "sink"), Registerer: n.reg, Owner: n.cluster, Replicas: cfg.Bus.Replicas})
	if err != nil {
		return err
	}
	if err := n.poller.Reload(p.Plugins, p.Inputs, parts.SNMPOptions(cfg.SNMP), cfg.Polling, d); err != nil {
		return err
	}
	n.cluster.SetConsumers(parts.ConsumerNames(cfg)) // before a new sink looks for its partitions
	reload.Swap(n.sinks, d.Sinks, sinks, func(c *sink.Consumer) (string, bool) { return c.Name(), true }, n.runSink)
	reload.Swap(n.apps, d.Apps, p.Apps, func(a apps.Instance) (string, bool) { return a.Name, cfg.HasRole(a.Type) }, n.runApp)
	if !d.Sources.Empty() || d.LiveChanged("snmp") || d.LiveChanged("discovery.interval") {
		n.putDiscovery(cfg, p)
	}
	return nil
}

// Handle mounts h behind the HTTP auth, before Run ("POST /-/reload": GET / is the page's).
func (n *Node) Handle(pattern string, h http.Handler) { n.http.Handle(pattern, h) }
