package node

import (
	"context"
	"time"

	"github.com/panoptes-go/panoptes/internal/apps"
	"github.com/panoptes-go/panoptes/internal/bus"
	"github.com/panoptes-go/panoptes/internal/cluster"
	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/discovery"
	"github.com/panoptes-go/panoptes/internal/inventory"
	"github.com/panoptes-go/panoptes/internal/parts"
	"github.com/panoptes-go/panoptes/internal/procs"
	"github.com/panoptes-go/panoptes/internal/service"
	"github.com/panoptes-go/panoptes/internal/sink"
	"github.com/panoptes-go/panoptes/internal/snmp"
	"github.com/panoptes-go/panoptes/internal/version"
	"github.com/panoptes-go/panoptes/internal/web"
)

// handoverTimeout bounds the graceful handover (and the leaving) on shutdown.
const handoverTimeout = 5 * time.Second

// services are the node's components in start order. They stop in the reverse order, each
// completely before the one above it: readiness turns false (the group) as the early ones
// (enrichment refresh, discovery, summary line) wind down; reconciling stops; the handover (the
// others take this node's resources while it polls on); the streams stop; the running checks
// finish and publish; the scheduler (outliving the group's ctx by the handover) stops; the sinks
// drain; the early ones end, then rates, apps, the status page, sinks; the cluster records go, the
// HTTP listener, the sessions, the inventory; the bus closes last; GOMAXPROCS is the default again.
// poolOptions builds the SNMP pool's options; a test lengthens the idle timeout.
var poolOptions = parts.PoolOptions

func (n *Node) services() []service.Service {
	cfg, log := n.cfg, n.log
	return []service.Service{
		{Name: "max procs", Run: procs.Runner(cfg.Runtime.FixedMaxProcs(), n.reg, log.With("component", "procs"))},
		{Name: "bus", Start: func(ctx context.Context) (err error) {
			opts := bus.FromConfig(cfg.Bus, cfg.DataDir)
			opts.Name, opts.Logger, opts.Registerer = "panoptes-"+cfg.Site, log.With("component", "bus"), n.reg
			n.bus, err = bus.Open(ctx, opts)
			return err
		}, Stop: func(context.Context) error { return n.bus.Close() }},
		{Name: "inventory", Start: func(ctx context.Context) (err error) {
			n.store, n.index, err = inventory.OpenIndex(ctx, n.bus.JetStream(), cfg.Bus.Replicas, n.forming, log.With("component", "inventory"), n.reg)
			return err
		}, Stop: func(context.Context) error { n.index.Stop(); return nil }},
		{Name: "snmp", Start: func(context.Context) error {
			n.pool = snmp.NewPool(poolOptions(cfg.SNMP, log.With("component", "snmp"), n.reg))
			return nil
		}, Stop: func(context.Context) error { n.pool.Close(); return nil }},
		{Name: "device state", Start: func(ctx context.Context) error { return n.poller.Open(ctx, n.bus.JetStream(), n.pool, n.forming) }},
		{Name: "http", Start: func(context.Context) error { return n.http.Listen() }, Run: func(ctx context.Context) error {
			if err := n.http.Serve(ctx); err != nil { // the node goes on without
				log.Error("http server stopped", "err", err)
			}
			return nil
		}},
		// Join (load the membership) now; announce this node only after the
		// first reconcile has scheduled its share ("reconcile"), because the
		// others drop that share the moment they see it.
		{Name: "cluster", Start: n.join, Stop: func(context.Context) error {
			if err := n.cluster.Depart(n.abrupt.Load(), handoverTimeout); err != nil {
				log.Warn("leave cluster", "err", err)
			}
			return nil
		}},
		{Name: "sinks", Run: n.sinks.Run},
		{Name: "status page", Start: n.page, Run: func(ctx context.Context) error {
			if err := n.web.Run(ctx); err != nil && ctx.Err() == nil {
				log.Error("status page: no longer answering the other nodes", "err", err)
			}
			return nil
		}},
		{Name: "apps", Run: n.runApps},
		{Name: "rates", Run: n.poller.RunRates},
		{Name: "enrichment removals", Stop: n.poller.WaitRemovals},
		// Early: these end as the stop begins, beside the handover. Polls go
		// on with what the enrichment cache holds (or collect it themselves).
		{Name: "enrichment", Run: n.poller.RunEnrichment, Early: true},
		{Name: "discovery", Start: n.startDiscovery, Run: n.discovery.Run, Early: true},
		{Name: "summary", Run: func(ctx context.Context) error {
			return n.poller.LogSummaries(ctx, n.index.Len, func() (int, uint64) { h := n.bus.Health(); return h.Buffered, h.Dropped })
		}, Early: true},
		{Name: "sinks drain", Stop: func(context.Context) error {
			if n.group.Started() && len(n.sinks.Names()) > 0 {
				log.Info("polling stopped; waiting for the sinks to catch up")
				sink.Drain(n.sinks.All(), 10*time.Second, log)
			}
			return nil
		}},
		// The scheduler outlives the group's ctx by the handover: it polls
		// until the others have taken this node's resources.
		{Name: "scheduler", Run: n.poller.RunScheduler},
		{Name: "running checks", Stop: func(context.Context) error { n.poller.Finish(n.abrupt.Load()); return nil }},
		{Name: "streams", Stop: n.poller.StopStreams}, // the others stream this node's resources after the handover
		{Name: "handover", Stop: func(context.Context) error {
			if !n.group.Started() {
				return nil
			}
			if err := n.cluster.HandOver(n.abrupt.Load(), handoverTimeout); err != nil {
				log.Warn("handover incomplete: the others take over when this node's membership expires", "err", err)
			}
			n.poller.Reconcile()
			return nil
		}},
		{Name: "reconcile", Start: func(ctx context.Context) error { n.poller.Reconcile(); return n.cluster.Start(ctx) }, Run: n.follow},
	}
}

// join loads the site's membership and builds what follows it: the
// collector and the enrichment role (what this node owns), the sinks (the
// partitions it reads).
func (n *Node) join(ctx context.Context) error {
	opts, err := cluster.NodeOptions(n.cfg, n.bus.JetStream(), version.Get().Version, parts.ConsumerNames(n.cfg))
	if err != nil {
		return err
	}
	opts.Logger, opts.Registerer = n.log.With("component", "cluster"), n.reg
	err = n.forming(ctx, "join cluster", func(ctx context.Context) (err error) {
		n.cluster, err = cluster.Join(ctx, opts)
		return err
	})
	if err != nil {
		return err
	}
	n.poller.Join(n.cluster, n.bus, n.index, n.pool)
	consumers, err := parts.Sinks(n.cfg, sink.Deps{Logger: n.log.With("component", "sink"), Registerer: n.reg, Owner: n.cluster, Replicas: n.cfg.Bus.Replicas})
	for _, c := range consumers {
		n.sinks.Put(c.Name(), c, n.runSink)
	}
	return err
}

func (n *Node) runSink(ctx context.Context, c *sink.Consumer) error {
	return c.Run(ctx, n.bus.JetStream())
}

// DueBefore is the scheduler's exact count of due times before t (schedule.Scheduler.DueBefore).
func (n *Node) DueBefore(t time.Time) <-chan uint64               { return n.poller.Scheduler().DueBefore(t) }
func (n *Node) runApp(ctx context.Context, a apps.Instance) error { return n.host.Run(ctx, a) }

// page builds this node's side of the status page, which every node runs:
// answering the other nodes' page requests for the checks it runs and
// sampling its self-metrics; with HTTP, the page at / and its API at /api/v1/.
func (n *Node) page(context.Context) (err error) {
	n.web, err = web.New(web.Options{NodeID: n.cluster.ID(), Site: n.cfg.Site, Conn: n.bus.Conn(), JS: n.bus.JetStream(),
		Inventory: n.index, Membership: n.cluster, Checks: n.poller.Book(), Gatherer: n.reg, Version: version.Get().Version,
		Logger: n.log.With("component", "web")})
	if err == nil {
		n.web.Mount(n.http.Handle)
	}
	return err
}

// runApps runs the apps until ctx ends. Each first waits for the events
// stream they write to (apps.Host.Prepare retries it while the JetStream
// cluster cannot create it); one that fails is logged, the others go on.
func (n *Node) runApps(ctx context.Context) error {
	n.host = &apps.Host{Site: n.cfg.Site, JS: n.bus.JetStream(), Replicas: n.cfg.Bus.Replicas, Handle: n.http.Handle,
		Owner: n.cluster, Logger: n.log, Forming: n.forming}
	return n.apps.Run(ctx)
}

// startDiscovery makes discovery (the resource manager) the member
// "sources" of the discovery set when this node has a role that runs it (see
// putDiscovery): it runs while this node leads its site.
func (n *Node) startDiscovery(context.Context) error {
	n.manager = discovery.NewManager(discovery.ManagerOptions{Inventory: n.store, Logger: n.log.With("component", "discovery"), Registerer: n.reg})
	n.putDiscovery(n.cfg, n.parts)
	return nil
}

// putDiscovery puts (a reload: replaces) the member, or removes it.
func (n *Node) putDiscovery(cfg *config.Config, p *parts.Parts) {
	if n.discovery.Remove("sources"); len(p.Sources) == 0 || !(cfg.HasRole(config.RoleDiscovery) || cfg.HasRole(config.RoleResourceManager)) {
		return
	}
	p.Classify(cfg, &discovery.SNMPProber{Pool: n.pool, SNMP: parts.SNMPOptions(cfg.SNMP)}, n.log, n.reg) // needs the sessions
	n.discovery.Put("sources", discovery.Plan{Sources: p.Sources, Configs: cfg.Discovery.Sources, Interval: cfg.Discovery.Interval.D(),
		Site: cfg.Site, Leader: n.cluster.IsLeader, Nudges: n.leaderCh}, n.manager.Lead)
}

// follow reconciles whenever the inventory, the cluster or the site's
// enrichers change, until ctx ends.
func (n *Node) follow(ctx context.Context) error {
	for {
		select {
		case <-n.index.Changes():
			n.poller.Reconcile()
		case <-n.cluster.Changes():
			n.poller.Reconcile()
			select { // discovery checks its leadership
			case n.leaderCh <- struct{}{}:
			default:
			}
		case <-n.poller.Changes():
			n.poller.Reconcile()
		case <-ctx.Done():
			return nil
		}
	}
}
