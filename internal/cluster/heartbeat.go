package cluster

import (
	"encoding/json"
	"time"

	"github.com/nats-io/nats.go"
)

// HeartbeatSubject carries every member's record, each heartbeat, as a core
// NATS message besides the bucket put.
//
// Liveness must not depend on the members bucket alone: when the server
// leading the bucket's stream dies, puts fail until the survivors elect a
// new leader (JetStream waits 4–9 s), and the watch's consumer, which lived
// on that server, is recreated only after ~10 s of missed heartbeats. With
// a 6 s TTL every node then saw every other expire and took all resources
// (seen with three processes killing the bucket leader). Core messages are
// routed by any surviving server at once. The bucket stays the record for
// joining (the initial load), graceful leaves and `panoptes status`.
const HeartbeatSubject = "panoptes.cluster.heartbeat"

// recordLocked is this node's record for one publication (bucket put or
// core heartbeat), numbered so that the others keep the latest of those
// arriving by both ways.
func (c *Cluster) recordLocked() ([]byte, error) {
	c.self.Seq++
	return json.Marshal(c.self)
}

// olderThan reports whether m is an earlier record of the same life of the
// member than cur: records come by two ways (and a watch may replay), so
// one can arrive after a later one. Without Seq (older versions) it is not.
func (m *Member) olderThan(cur *Member) bool {
	return cur != nil && m.Seq != 0 && m.Started.Equal(cur.Started) && m.Seq <= cur.Seq
}

// publishHeartbeat sends this node's record as a core message; errors are
// those of a closed connection (the bucket put reports the outage).
func (c *Cluster) publishHeartbeat() {
	c.mu.Lock()
	data, err := c.recordLocked()
	c.mu.Unlock()
	if err == nil {
		_ = c.nc.Publish(HeartbeatSubject, data)
	}
}

// heartbeatLoop publishes the record every heartbeat, independently of the
// bucket puts and elections, which may block while a stream has no leader.
func (c *Cluster) heartbeatLoop(stop <-chan struct{}) {
	defer c.wg.Done()
	t := time.NewTicker(c.hb)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			c.publishHeartbeat()
		}
	}
}

// onHeartbeat applies a member's core heartbeat. A member of another site
// counts only once known from the bucket: core subjects cross leaf
// connections and buckets do not, so an edge site's nodes are heard at the
// hub but are not its members.
func (c *Cluster) onHeartbeat(msg *nats.Msg) {
	var m Member
	if err := json.Unmarshal(msg.Data, &m); err != nil || !ValidID(m.ID) {
		return
	}
	c.mu.Lock()
	if m.ID == c.self.ID {
		c.ownRecordLocked(m, false)
		c.mu.Unlock()
		return
	}
	old, known := c.view[m.ID]
	if (!known && m.Site != c.self.Site) || m.olderThan(old) {
		c.mu.Unlock()
		return
	}
	m.Seen = time.Now()
	c.view[m.ID] = &m
	c.mu.Unlock()
	c.recompute()
}

// ownRecordLocked handles this node's own record coming back (bucket watch
// or core heartbeat): it proves that what the others publish reaches this
// node, so their silence since then means something (see liveAt).
func (c *Cluster) ownRecordLocked(m Member, initial bool) {
	if initial {
		return
	}
	if !m.Started.Equal(c.self.Started) {
		if !c.dupWarned {
			c.dupWarned = true
			c.log.Error("cluster: another process uses this node id: both poll the same resources; give each node its own cluster.node_id or data_dir",
				"node", m.ID, "its_start", m.Started, "our_start", c.self.Started)
		}
		return
	}
	if m.Draining && c.echo != nil {
		close(c.echo)
		c.echo = nil
	}
	now := time.Now()
	if gap := now.Sub(c.lastEcho); !c.lastEcho.IsZero() && gap > 2*c.hb {
		// Nothing of ours came back for a while: this node was cut off, and
		// the others' heartbeats could not reach it either. That time does
		// not count against them: they get it back to show up again.
		for _, o := range c.view {
			o.Seen = minTime(o.Seen.Add(gap), now)
		}
		c.log.Info("cluster: own heartbeats reach this node again; others' silence meanwhile not counted", "gap", gap.Round(time.Millisecond))
	}
	c.lastEcho = now
}

// liveAt is the time at which liveness is judged: now while this node's own
// heartbeats come back, else at most one heartbeat after the last one did.
// A node that hears nothing (cut off from the bus, or the subscription
// stalled) so keeps the view it had instead of declaring everyone dead and
// taking all their resources.
func (c *Cluster) liveAtLocked(now time.Time) time.Time {
	if c.lastEcho.IsZero() {
		return now
	}
	return minTime(now, c.lastEcho.Add(c.hb))
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
