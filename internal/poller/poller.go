// Package poller is a node's polling role put together: the device state
// (enrichment cache, previous counter samples), the poll runner, the
// scheduler, the collector (the checks of what the node owns), the
// streaming inputs and the enrichment role, all reconciled at once with
// the inventory and the membership. The node declares when each step
// starts and stops (its service group); the steps here have the shapes of
// a service's Run and Stop.
package poller

import (
	"context"
	"log/slog"
	"sync"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/panoptes-go/panoptes/internal/checkstate"
	"github.com/panoptes-go/panoptes/internal/cluster"
	"github.com/panoptes-go/panoptes/internal/collector"
	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/devicestate"
	"github.com/panoptes-go/panoptes/internal/enrich"
	"github.com/panoptes-go/panoptes/internal/input"
	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/poll"
	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/schedule"
	"github.com/panoptes-go/panoptes/internal/snmp"
)

// Options configure a Poller.
type Options struct {
	Config  *config.Config
	Plugins []collector.Plugin
	Inputs  []*input.Instance
	// SNMP is what targets are built from (the config's snmp block).
	SNMP       poll.SNMPOptions
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Poller is the polling role of one node.
type Poller struct {
	o          Options
	sched      *schedule.Scheduler
	book       *checkstate.Book // the checks' runs, for the status page
	streams    *input.Runner
	state      *devicestate.State
	runner     *poll.Runner
	pool       *snmp.Pool
	col        *collector.Collector
	enrichment *devicestate.Enrichment

	mu     sync.Mutex // serializes reconciles; guards inputs
	inputs []*input.Instance
}

// New makes the role; Open and Join build the rest.
func New(o Options) *Poller {
	p := &Poller{o: o, inputs: o.Inputs, book: checkstate.New(),
		sched: schedule.New(schedule.Options{MaxConcurrent: o.Config.Polling.MaxConcurrentChecks,
			Logger: o.Logger.With("component", "schedule"), Registerer: o.Registerer})}
	p.streams = input.NewRunner(func(in *input.Instance, set *metric.GroupSet) { p.col.Emit(in.Name, in.Interval, in.Rates, set) },
		o.Logger.With("component", "input"))
	return p
}

// Open opens the device state (retried by forming while the JetStream
// cluster forms) and the runner that polls through pool.
func (p *Poller) Open(ctx context.Context, js jetstream.JetStream, pool *snmp.Pool, forming func(context.Context, string, func(context.Context) error) error) (err error) {
	p.state, err = devicestate.Open(ctx, devicestate.Options{JS: js, Config: p.o.Config, Forming: forming,
		// p.col exists before anything polls or refreshes.
		Need:    func(res *resource.Resource, oid string) enrich.Need { return p.col.EnrichmentNeed(res, oid) },
		History: collector.UsesHistory(p.o.Plugins), Logger: p.o.Logger, Registerer: p.o.Registerer})
	if err != nil {
		return err
	}
	ropts := poll.RunnerOptions{SNMP: p.o.SNMP, Pool: pool, Enrich: p.state.Enrich, Logger: p.o.Logger.With("component", "poll"), Registerer: p.o.Registerer}
	if p.state.Rates != nil { // a nil *rate.Processor must not become a non-nil History
		ropts.History = p.state.Rates // delta()'s previous values, persisted with the rates
	}
	p.runner, p.pool = poll.NewRunner(ropts), pool
	return nil
}

// Join builds the collector and the enrichment role once the node has
// joined its site (members): they follow what it says this node owns.
func (p *Poller) Join(members *cluster.Cluster, pub collector.Publisher, inv collector.Inventory, pool *snmp.Pool) {
	o := collector.Options{Site: p.o.Config.Site, Plugins: p.o.Plugins, Owner: members, Publisher: pub, Inventory: inv,
		Poller: p.runner, Scheduler: p.sched, Checks: p.book, Logger: p.o.Logger.With("component", "collector"), Registerer: p.o.Registerer}
	if p.state.Rates != nil { // a nil *rate.Processor must not become a non-nil Rates
		o.Rates = p.state.Rates
	}
	p.col = collector.New(o)
	p.enrichment = devicestate.NewEnrichment(devicestate.EnrichmentOptions{Cache: p.state.Enrich, Config: p.o.Config, Pool: pool,
		SNMP: p.o.SNMP, Members: members, Uses: p.col.UsesEnrichment, Logger: p.o.Logger.With("component", "enrich")})
}

// Reconcile follows the inventory and the membership: the checks (the
// collector), the streams and the enrichment of what this node owns.
func (p *Poller) Reconcile() {
	p.mu.Lock()
	defer p.mu.Unlock()
	count, own := p.col.Reconcile()
	p.streams.Update(input.Wanted(p.inputs, p.o.Config.Site, own.Snapshot, own.Kept()))
	p.enrichment.Reconcile(own.Snapshot, own.Owned)
	p.o.Logger.Debug("schedule updated", "checks", count)
}

// SetInputs replaces the streaming input instances (a reload): the next
// Reconcile starts and stops their streams.
func (p *Poller) SetInputs(in []*input.Instance) {
	p.mu.Lock()
	p.inputs = in
	p.mu.Unlock()
}

// Changes is nudged when the site's enrichers change: reconcile then.
func (p *Poller) Changes() <-chan struct{} { return p.enrichment.Changes() }

// RunScheduler runs the checks until ctx ends.
func (p *Poller) RunScheduler(ctx context.Context) error { return p.sched.Run(ctx) }

// RunRates flushes the previous samples until ctx ends, then once more.
func (p *Poller) RunRates(ctx context.Context) error {
	if p.state.Rates != nil {
		p.state.Rates.Run(ctx)
	}
	return nil
}

// RunEnrichment refreshes what this node enriches until ctx ends.
func (p *Poller) RunEnrichment(ctx context.Context) error { return p.enrichment.Run(ctx) }

// WaitRemovals waits for the KV deletes of removed resources (bounded).
func (p *Poller) WaitRemovals(context.Context) error { p.enrichment.Wait(); return nil }

// StopStreams stops every stream and waits for them.
func (p *Poller) StopStreams(context.Context) error { p.streams.Stop(); return nil }

// Finish unschedules every check and waits for those in flight to publish
// (collector.Finish), unless abrupt (tests: as kill -9 would).
func (p *Poller) Finish(abrupt bool) {
	p.o.Logger.Info("shutting down: waiting for running checks")
	p.col.Finish(p.sched, !abrupt)
}

// LogSummaries writes the summary line every polling round until ctx ends.
func (p *Poller) LogSummaries(ctx context.Context, resources func() int, bus func() (buffered int, dropped uint64)) error {
	p.col.LogSummaries(ctx, p.col.SummaryInterval(), collector.SummaryOptions{Runs: p.sched, Resources: resources, Bus: bus, Logger: p.o.Logger})
	return nil
}

// Stats are the totals since the start, with the inventory's resources
// and the varbinds read.
func (p *Poller) Stats(resources int, varbinds uint64) collector.Stats {
	return p.col.Stats(p.sched, resources, varbinds)
}

// Scheduler runs the checks.
func (p *Poller) Scheduler() *schedule.Scheduler { return p.sched }

// Book is the checks' runs, for the status page.
func (p *Poller) Book() *checkstate.Book { return p.book }

// Enrichment is the enrichment role (after Join); Cache its cache (after
// Open).
func (p *Poller) Enrichment() *devicestate.Enrichment { return p.enrichment }
func (p *Poller) Cache() *enrich.Cache                { return p.state.Enrich }

// Collector is the polling pipeline (after Join): a reload swaps its
// plugins (SetPlugins). Runner polls (after Open): a reload swaps its
// SNMP block (SetSNMP).
func (p *Poller) Collector() *collector.Collector { return p.col }
func (p *Poller) Runner() *poll.Runner            { return p.runner }
