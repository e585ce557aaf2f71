package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Leader is the value of a site's leader key.
type Leader struct {
	ID    string    `json:"id"`
	Since time.Time `json:"since"`
}

// electOrRefresh runs on every heartbeat: the leader refreshes its key with
// Update on the revision it holds (failing if anyone else wrote it or it
// expired); the others try Create, which succeeds only once the key is gone.
func (c *Cluster) electOrRefresh(ctx context.Context) {
	c.mu.Lock()
	eligible := c.self.leads()
	rev, since, at := c.leaderRev, c.leaderSince, c.leaderAt
	c.mu.Unlock()
	if !eligible {
		return
	}
	key := LeaderKey(c.self.Site)
	octx, cancel := context.WithTimeout(ctx, c.hb)
	defer cancel()
	if rev != 0 {
		val, _ := json.Marshal(Leader{ID: c.self.ID, Since: since})
		newRev, err := c.leaders.Update(octx, key, val, rev)
		if err == nil {
			c.setLeader(newRev, since)
			return
		}
		// The key expires a TTL after the last refresh and another node may
		// then take it: step down a heartbeat before that can happen.
		if !errors.Is(err, jetstream.ErrKeyExists) && time.Since(at) < (ttlBeats-1)*c.hb {
			c.log.Warn("cluster: leader refresh failed; retrying", "err", err)
			return
		}
		c.log.Warn("cluster: lost leadership", "site", c.self.Site, "err", err)
		c.setLeader(0, time.Time{})
		return
	}
	now := time.Now().UTC()
	val, _ := json.Marshal(Leader{ID: c.self.ID, Since: now})
	newRev, err := c.leaders.Create(octx, key, val)
	if err != nil {
		if !errors.Is(err, jetstream.ErrKeyExists) && ctx.Err() == nil {
			c.log.Debug("cluster: leader election", "err", err)
		}
		return
	}
	c.log.Info("cluster: elected leader", "site", c.self.Site, "node", c.self.ID)
	c.setLeader(newRev, now)
}

// setLeader records our leader key's revision (0: not leader).
func (c *Cluster) setLeader(rev uint64, since time.Time) {
	c.mu.Lock()
	was := c.leaderRev != 0
	c.leaderRev, c.leaderSince, c.leaderAt = rev, since, time.Now()
	c.mu.Unlock()
	if was == (rev != 0) {
		return
	}
	c.m.leaderChanges.Inc()
	if rev != 0 {
		c.m.leader.Set(1)
	} else {
		c.m.leader.Set(0)
	}
	c.notify()
}

// releaseLeader deletes our leader key (only if still ours) so another node
// takes over at its next heartbeat instead of after the TTL.
func (c *Cluster) releaseLeader(ctx context.Context) {
	c.mu.Lock()
	rev := c.leaderRev
	c.mu.Unlock()
	if rev == 0 {
		return
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), opTimeout)
	defer cancel()
	if err := c.leaders.Delete(dctx, LeaderKey(c.self.Site), jetstream.LastRevision(rev)); err != nil {
		c.log.Warn("cluster: release leadership", "err", err)
	}
	c.setLeader(0, time.Time{})
}
