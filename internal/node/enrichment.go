package node

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/panoptes-go/panoptes/internal/cluster"
	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/enrich"
	"github.com/panoptes-go/panoptes/internal/poll"
	"github.com/panoptes-go/panoptes/internal/resource"
)

// The enrichment role. Which node refreshes a resource's enrichment is the
// rendezvous-hash winner among the live, non-draining members of its site
// that run the enrichment role, with the same hash and weights as polling
// ownership. With the default roles (every node a poller and an enricher)
// both winners are the same node, so a poll finds its data in memory; a
// site can also split the roles (enrichment-only nodes share the walks and
// pollers read KV). Membership changes of enrichment-only nodes do not
// move polls, so watchEnrichers looks for them itself.

// enrichNeed is what the cache collects for res: the union of what the
// plugins that poll it read (poll.Enricher).
func (n *Node) enrichNeed(res *resource.Resource, sysObjectID string) enrich.Need {
	var need enrich.Need
	for i := range n.parts.plugins {
		pi := &n.parts.plugins[i]
		if e, ok := pi.Plugin.(poll.Enricher); ok && pi.Filter.Match(res) && e.UsesEnrichment(res) {
			need = need.Merge(e.Enrichment(res, sysObjectID))
		}
	}
	return need
}

// usesEnrichment reports whether a plugin polling res reads the cache.
func (n *Node) usesEnrichment(res *resource.Resource) bool {
	for i := range n.parts.plugins {
		pi := &n.parts.plugins[i]
		if e, ok := pi.Plugin.(poll.Enricher); ok && pi.Filter.Match(res) && e.UsesEnrichment(res) {
			return true
		}
	}
	return false
}

// startEnrichment builds the Refresher when this node has the enrichment
// role and starts it with the goroutine that watches the site's enrichers;
// both stop with ctx, or when stop is called, which waits for them.
func (n *Node) startEnrichment(ctx context.Context) (stop func()) {
	n.enrichCh = make(chan struct{}, 1)
	if !n.cfg.HasRole(config.RoleEnrichment) {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	n.refresher = enrich.NewRefresher(enrich.RefresherOptions{Cache: n.enrich, SNMP: n.pool, MaxConcurrent: n.cfg.Enrichment.MaxConcurrent})
	done := make(chan struct{}, 2)
	go func() {
		defer func() { done <- struct{}{} }()
		if err := n.refresher.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			n.log.Error("enrichment refresher stopped", "err", err)
		}
	}()
	go func() {
		defer func() { done <- struct{}{} }()
		n.watchEnrichers(ctx, n.cfg.Cluster.Heartbeat.D())
	}()
	return func() { cancel(); <-done; <-done }
}

// enrichers returns the members that share the site's enrichment.
func (n *Node) enrichers() []cluster.Member {
	var out []cluster.Member
	for _, m := range n.cluster.Members() {
		if m.Site == n.cfg.Site && m.Has(config.RoleEnrichment) && !m.Draining {
			out = append(out, m)
		}
	}
	return out
}

// watchEnrichers nudges a reconcile when the site's enrichers change.
func (n *Node) watchEnrichers(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	last := signature(n.enrichers())
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if s := signature(n.enrichers()); s != last {
			last = s
			select {
			case n.enrichCh <- struct{}{}:
			default:
			}
		}
	}
}

func signature(ms []cluster.Member) string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = m.ID + "*" + strconv.Itoa(m.Capacity)
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}

// reconcileEnrichment gives the Refresher the resources of this site this
// node enriches, then drops from the cache what this node neither polls
// (pollOwned) nor enriches any more: a resource that moved to another node
// is forgotten here (its KV entry serves the new owner), one that left the
// inventory is also deleted from KV, so no node serves its data again
// (when no node saw it leave — it moved and left at once — the bucket's
// TTL ends it).
func (n *Node) reconcileEnrichment(snap []*resource.Resource, pollOwned map[string]bool) {
	if n.enrich == nil {
		return
	}
	inventory := make(map[string]bool, len(snap))
	mine := make(map[string]bool, len(pollOwned))
	for k := range pollOwned {
		mine[k] = true
	}
	var members []cluster.Member
	if n.refresher != nil {
		members = n.enrichers()
	}
	var targets []enrich.Target
	for _, res := range snap {
		if res.Site != n.cfg.Site {
			continue
		}
		key := res.Key()
		inventory[key] = true
		if n.refresher == nil || !n.usesEnrichment(res) || cluster.Owner(members, key) != n.cluster.ID() {
			continue
		}
		t, err := poll.TargetFor(res, n.snmp)
		if err != nil {
			continue // its polls report it (internal failure)
		}
		targets = append(targets, enrich.Target{Resource: res, SNMP: t})
		mine[key] = true
	}
	if n.refresher != nil {
		n.refresher.Update(targets)
	}
	forget, remove := departures(n.enrichMine, mine, inventory)
	n.enrichMine = mine
	for _, k := range append(forget, remove...) {
		n.enrich.Forget(k)
	}
	n.log.Debug("enrichment updated", "refreshed", len(targets), "forgotten", len(forget), "removed", len(remove))
	if len(remove) == 0 {
		return
	}
	// KV deletes are network calls: off the reconcile path, and bounded
	// (Run waits for them on shutdown).
	n.enrichWG.Go(func() { n.removeEnrichment(remove, 5*time.Second) })
}

// removeEnrichment deletes the KV entries of resources gone from the
// inventory. A delete that times out means KV does not answer: the rest
// are left to the bucket's TTL rather than each waiting as long (a
// thousand removed devices must not hold a shutdown for hours).
func (n *Node) removeEnrichment(keys []string, timeout time.Duration) {
	for i, k := range keys {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		err := n.enrich.Remove(ctx, k)
		cancel()
		if err == nil {
			continue
		}
		n.log.Warn("enrichment of a removed resource stays until the bucket's TTL", "resource", k, "err", err)
		if errors.Is(err, context.DeadlineExceeded) {
			for _, rest := range keys[i+1:] {
				n.enrich.Forget(rest)
			}
			if left := len(keys) - i - 1; left > 0 {
				n.log.Warn("enrichment KV does not answer: the other removed resources' entries stay until the bucket's TTL", "resources", left)
			}
			return
		}
	}
}

// departures splits the keys that were this node's (prev) and are not any
// more (now) into those still in the inventory (moved: forget) and those
// gone from it (remove).
func departures(prev, now, inventory map[string]bool) (forget, remove []string) {
	for k := range prev {
		switch {
		case now[k]:
		case inventory[k]:
			forget = append(forget, k)
		default:
			remove = append(remove, k)
		}
	}
	slices.Sort(forget)
	slices.Sort(remove)
	return forget, remove
}
