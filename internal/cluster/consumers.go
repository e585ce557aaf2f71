package cluster

import "slices"

// Bus consumers. Processes running a consumer of the same name (a sink
// configured on several nodes) share its partitions: each partition is
// read by the rendezvous winner among the live members that run it. A
// draining member reads only when no other one runs it, so that a node
// stopping gracefully hands its partitions over at once, and the last one
// reads them to the end. A node reads nothing another runs before Start
// (the others do not know it yet) and, like resources, a dead member's
// partitions move when its heartbeats expire.

// PartitionOwner is the member that reads partition of consumer, "" when
// no live member runs it.
func (c *Cluster) PartitionOwner(consumer, partition string) string {
	c.mu.Lock()
	started := c.hbSub != nil
	c.mu.Unlock()
	var active, draining []Member
	for _, m := range c.Members() {
		if !slices.Contains(m.Consumers, consumer) {
			continue
		}
		if m.ID == c.self.ID && !started {
			continue // only once the others can see it
		}
		m.Capacity = 1 // partitions are spread evenly, whatever a node polls
		if m.Draining {
			draining = append(draining, m)
		} else {
			active = append(active, m)
		}
	}
	if len(active) == 0 {
		active = draining
	}
	if len(active) == 0 && !started && slices.Contains(c.self.Consumers, consumer) {
		return c.self.ID // alone: read before Start
	}
	return Owner(active, consumer+"|"+partition)
}

// OwnsPartition reports whether this node reads partition of consumer.
func (c *Cluster) OwnsPartition(consumer, partition string) bool {
	return c.PartitionOwner(consumer, partition) == c.self.ID
}

// SetConsumers replaces the bus consumers this node runs (a config reload
// added or removed a sink or an app): it reads their partitions by the new
// list at once, and the others see it with its next heartbeat, sent now.
func (c *Cluster) SetConsumers(names []string) {
	c.mu.Lock()
	c.self.Consumers = slices.Clone(names)
	started := c.hbSub != nil
	c.mu.Unlock()
	if started {
		c.publishHeartbeat()
	}
}
