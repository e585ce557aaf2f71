package cluster

import (
	"context"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/panoptes-go/panoptes/internal/config"
)

// A node's ways out of the membership at shutdown. An abrupt stop (tests:
// as kill -9 would) abandons the records instead: the others take over
// when they expire.

// HandOver is Leave bounded by timeout (the others take this node's
// resources over), or Abandon when abrupt.
func (c *Cluster) HandOver(abrupt bool, timeout time.Duration) error {
	if abrupt {
		c.Abandon()
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return c.Leave(ctx)
}

// Depart is Close bounded by timeout (this node's records deleted), or
// Abandon when abrupt.
func (c *Cluster) Depart(abrupt bool, timeout time.Duration) error {
	if abrupt {
		c.Abandon()
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return c.Close(ctx)
}

// Sharing returns the live members of this node's site that have role and
// are not draining (self included while it is not): those that share the
// role's work, as the enrichment role's owners.
func (c *Cluster) Sharing(role string) []Member {
	var out []Member
	for _, m := range c.Members() {
		if m.Site == c.self.Site && m.Has(role) && !m.Draining {
			out = append(out, m)
		}
	}
	return out
}

// NodeOptions are Join's options for the node of cfg: its ID
// (cluster.node_id, else the one kept in data_dir), site, roles, capacity
// and heartbeat, version, and the bus consumers it runs (its sinks), which
// it shares with the other nodes running them.
func NodeOptions(cfg *config.Config, js jetstream.JetStream, version string, consumers []string) (Options, error) {
	id := cfg.Cluster.NodeID
	if id == "" {
		var err error
		if id, err = NodeID(cfg.DataDir); err != nil {
			return Options{}, err
		}
	}
	return Options{JS: js, Replicas: cfg.Bus.Replicas, Heartbeat: cfg.Cluster.Heartbeat.D(), FormingRetry: cfg.Bus.ConnectRetry.D(),
		Self: Member{ID: id, Site: cfg.Site, Roles: cfg.Roles, Capacity: cfg.Cluster.Capacity, Version: version, Consumers: consumers}}, nil
}

// Owns is OwnsPartition, so that the cluster decides which partitions of a
// consumer this node reads (sink.Owner).
func (c *Cluster) Owns(consumer, partition string) bool { return c.OwnsPartition(consumer, partition) }
