package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// loadInitial applies the bucket's current records; the watcher marks their
// end with a nil entry.
func (c *Cluster) loadInitial(ctx context.Context, w jetstream.KeyWatcher) error {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	for {
		select {
		case e, ok := <-w.Updates():
			if !ok {
				return fmt.Errorf("cluster: watch %s closed while loading", MembersBucket)
			}
			if e == nil {
				return nil
			}
			c.apply(e, true)
		case <-ctx.Done():
			return fmt.Errorf("cluster: load members: %w", ctx.Err())
		}
	}
}

func (c *Cluster) watch(ctx context.Context, w jetstream.KeyWatcher) {
	defer c.wg.Done()
	defer func() { _ = w.Stop() }()
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-w.Updates():
			if !ok {
				if ctx.Err() == nil {
					c.log.Error("cluster: membership watch closed; ownership is frozen")
				}
				return
			}
			if e != nil {
				c.apply(e, false)
				c.recompute()
			}
		}
	}
}

// apply records one membership entry. A member's liveness is measured from
// when its heartbeat arrived here (the local clock: no skew between nodes);
// records loaded at start count from when the server stored them.
func (c *Cluster) apply(e jetstream.KeyValueEntry, initial bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := e.Key()
	if e.Operation() != jetstream.KeyValuePut {
		delete(c.view, id)
		return
	}
	var m Member
	if err := json.Unmarshal(e.Value(), &m); err != nil || m.ID != id {
		c.log.Warn("cluster: ignoring a bad membership record", "key", id, "err", err)
		return
	}
	if id == c.self.ID {
		c.ownRecordLocked(m, initial)
		return // our own state is c.self
	}
	if m.olderThan(c.view[id]) {
		return
	}
	m.Seen = time.Now()
	if initial && e.Created().Before(m.Seen) {
		m.Seen = e.Created()
	}
	c.view[id] = &m
}

// recompute refreshes the live pollers of this node's site and signals a
// change. Liveness is judged at liveAtLocked: while nothing this node
// publishes comes back (the bus is unreachable) the view is frozen, since
// everyone else would look dead, and taking all their resources would poll
// them twice once the link is back.
func (c *Cluster) recompute() {
	c.mu.Lock()
	now := c.liveAtLocked(time.Now())
	all := make([]Member, 0, len(c.view)+1)
	for _, m := range c.view {
		all = append(all, *m)
	}
	self := c.self
	self.Seen = now
	all = append(all, self)
	pollers := Pollers(all, c.self.Site, now)
	bySite := map[string]int{}
	for _, m := range all {
		if m.Alive(now) && !m.Draining {
			bySite[m.Site]++
		}
	}
	// Members that joined live pollers poll from their JoinAt; until then
	// the others keep what moves to them. Their leaving this set is a
	// change: the others then drop those keys.
	joining := map[string]time.Time{}
	var steady []Member
	for _, m := range pollers {
		if m.JoinAt.After(time.Now()) {
			joining[m.ID] = m.JoinAt
		} else {
			steady = append(steady, m)
		}
	}
	changed := !slices.Equal(sortedIDs(pollers), sortedIDs(c.pollers)) || !sameCapacity(pollers, c.pollers) ||
		!maps.EqualFunc(joining, c.joining, time.Time.Equal)
	old := c.pollers
	c.pollers, c.joining, c.steady = pollers, joining, steady
	if changed {
		c.gen++
	}
	c.mu.Unlock()

	c.m.setMembers(bySite)
	if changed {
		c.log.Info("cluster: pollers changed", "site", self.Site, "from", sortedIDs(old), "to", sortedIDs(pollers),
			"joining", slices.Sorted(maps.Keys(joining)))
		c.notify()
	}
}

func sameCapacity(a, b []Member) bool {
	for i := range a {
		if a[i].Capacity != b[i].Capacity {
			return false
		}
	}
	return true
}
