package node

import (
	"context"
	"errors"
	"time"

	"github.com/panoptes-go/panoptes/internal/apps"
	"github.com/panoptes-go/panoptes/internal/cluster"
	"github.com/panoptes-go/panoptes/internal/discovery"
	"github.com/panoptes-go/panoptes/internal/version"
)

// handoverTimeout bounds the graceful handover on shutdown.
const handoverTimeout = 5 * time.Second

// joinCluster announces this node in its site's membership.
func (n *Node) joinCluster(ctx context.Context) (*cluster.Cluster, error) {
	cfg := n.cfg
	id := cfg.Cluster.NodeID
	if id == "" {
		var err error
		if id, err = cluster.NodeID(cfg.DataDir); err != nil {
			return nil, err
		}
	}
	n.leaderCh = make(chan struct{}, 1)
	return cluster.Join(ctx, cluster.Options{
		JS: n.bus.JetStream(),
		Self: cluster.Member{
			ID: id, Site: cfg.Site, Roles: cfg.Roles, Capacity: cfg.Cluster.Capacity, Version: buildVersion(),
			Consumers: n.consumerNames(),
		},
		Replicas: cfg.Bus.Replicas, Heartbeat: cfg.Cluster.Heartbeat.D(),
		Logger: n.log.With("component", "cluster"), Registerer: n.reg,
	})
}

// consumerNames are the bus consumers this node runs (its sinks and the
// apps of its roles), which it shares with the other nodes running them.
func (n *Node) consumerNames() []string {
	var out []string
	for _, c := range n.sinks {
		out = append(out, c.Name())
	}
	for _, a := range n.parts.apps {
		if n.cfg.HasRole(a.typ) {
			out = append(out, apps.ConsumerName(a.name))
		}
	}
	return out
}

// partitionOwner lets the cluster's membership decide which partitions of
// a consumer this node reads.
type partitionOwner struct{ n *Node }

func (o partitionOwner) Owns(consumer, partition string) bool {
	return o.n.cluster == nil || o.n.cluster.OwnsPartition(consumer, partition)
}

// handOver marks this node draining and drops its checks once the others
// have seen it, so they take over at the checks' next phase. A node
// stopped abruptly (tests) skips it: the others wait for the TTL.
func (n *Node) handOver() {
	if n.abrupt.Load() {
		n.cluster.Abandon()
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), handoverTimeout)
	defer cancel()
	if err := n.cluster.Leave(ctx); err != nil {
		n.log.Warn("handover incomplete: the others take over when this node's membership expires", "err", err)
	}
	n.reconcile()
}

// maxFinishWait bounds how long a stop waits for checks in flight (a
// device that does not answer holds its check until the SNMP timeouts
// end); what still runs then is cancelled.
const maxFinishWait = 20 * time.Second

// finishChecks unschedules every check and waits until those in flight
// have finished and published, each within its deadline (its next due
// time) or maxFinishWait: stopping the scheduler would cancel them, ending
// each as status 5, context canceled. After an abrupt stop (tests) it waits
// for nothing.
func (n *Node) finishChecks() {
	n.sched.Update(nil)
	if n.abrupt.Load() {
		return
	}
	var longest time.Duration
	for _, p := range n.parts.plugins {
		longest = max(longest, p.Interval)
	}
	wait := min(longest+time.Second, maxFinishWait)
	for deadline := time.Now().Add(wait); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if s := n.sched.Stats(); s.Started == s.Completed {
			return
		}
	}
}

// leaveCluster deletes this node's records (or leaves them to expire after
// an abrupt stop).
func (n *Node) leaveCluster() {
	if n.abrupt.Load() {
		n.cluster.Abandon()
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), handoverTimeout)
	defer cancel()
	if err := n.cluster.Close(ctx); err != nil {
		n.log.Warn("leave cluster", "err", err)
	}
}

func (n *Node) nudgeLeader() {
	select {
	case n.leaderCh <- struct{}{}:
	default:
	}
}

// leadDiscovery runs discovery (the resource manager) while this node is
// its site's leader, and stops it when leadership is lost.
func (n *Node) leadDiscovery(ctx context.Context) {
	mgr := discovery.NewManager(discovery.ManagerOptions{Inventory: n.store, Logger: n.log.With("component", "discovery"), Registerer: n.reg})
	var stop func() // stops the running discovery and waits; nil when not running
	defer func() {
		if stop != nil {
			stop()
		}
	}()
	for {
		switch leader := n.cluster.IsLeader(); {
		case leader && stop == nil:
			n.log.Info("discovery started: this node leads site " + n.cfg.Site)
			stop = n.startDiscovery(ctx, mgr)
		case !leader && stop != nil:
			stop()
			stop = nil
			n.log.Info("discovery stopped: no longer leader")
		}
		select {
		case <-ctx.Done():
			return
		case <-n.leaderCh:
		}
	}
}

func (n *Node) startDiscovery(ctx context.Context, mgr *discovery.Manager) (stop func()) {
	dctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := mgr.Run(dctx, n.parts.sources, n.cfg.Discovery.Sources, n.cfg.Discovery.Interval.D()); err != nil && !errors.Is(err, context.Canceled) {
			n.log.Error("discovery stopped", "err", err)
		}
	}()
	return func() { cancel(); <-done }
}

// buildVersion is the member record's version: what `panoptes version` prints.
func buildVersion() string { return version.Get().Version }
