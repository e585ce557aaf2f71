package devicestate

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panoptes-go/panoptes/internal/cluster"
	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/enrich"
	"github.com/panoptes-go/panoptes/internal/poll"
	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/snmp"
)

// The enrichment role. Which node refreshes a resource's enrichment is the
// rendezvous-hash winner among the live, non-draining members of its site
// that run the enrichment role, with the same hash and weights as polling
// ownership. With the default roles (every node a poller and an enricher)
// both winners are the same node, so a poll finds its data in memory; a
// site can also split the roles (enrichment-only nodes share the walks and
// pollers read KV). Membership changes of enrichment-only nodes do not
// move polls, so Run looks for them itself and says so on Changes.

// Members is the site's membership (*cluster.Cluster).
type Members interface {
	ID() string
	// Sharing: the live, non-draining members of this node's site with
	// a role.
	Sharing(role string) []cluster.Member
}

// EnrichmentOptions configure an Enrichment.
type EnrichmentOptions struct {
	Cache *enrich.Cache
	// Config: the site, whether this node has the enrichment role (without
	// it the cache only forgets what this node no longer polls),
	// enrichment.max_concurrent and cluster.heartbeat (how often Run
	// compares the site's enrichers).
	Config *config.Config
	// Pool collects (the node's sessions); SNMP builds the targets (until
	// SetSNMP replaces it).
	Pool    enrich.SNMP
	SNMP    poll.SNMPOptions
	Members Members
	// Uses reports whether a plugin polling res reads the cache.
	Uses   func(res *resource.Resource) bool
	Logger *slog.Logger
}

// Enrichment keeps the cache to what this node polls or enriches, and
// with the role refreshes the resources it enriches.
type Enrichment struct {
	o EnrichmentOptions
	// snmp is what targets are built from, replaced by a reload (SetSNMP)
	// while the Refresher's visits resolve theirs: never o.SNMP, the
	// options at the start.
	snmp      atomic.Pointer[poll.SNMPOptions]
	refresher *enrich.Refresher // nil without the role
	mine      map[string]bool   // the resources whose entries this node keeps
	changes   chan struct{}
	removing  sync.WaitGroup // KV deletes of removed resources
}

// NewEnrichment makes the role; nothing runs until Run.
func NewEnrichment(o EnrichmentOptions) *Enrichment {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	e := &Enrichment{o: o, changes: make(chan struct{}, 1)}
	e.SetSNMP(o.SNMP)
	e.o.SNMP = poll.SNMPOptions{} // not kept twice: e.snmp holds it
	if o.Config != nil && o.Config.HasRole(config.RoleEnrichment) {
		e.refresher = enrich.NewRefresher(enrich.RefresherOptions{Cache: o.Cache, SNMP: o.Pool, MaxConcurrent: o.Config.Enrichment.MaxConcurrent,
			// Built at each visit rather than kept per device, with the
			// options of the latest reload.
			Resolve: func(res *resource.Resource) (snmp.Target, error) { return poll.TargetFor(res, *e.snmp.Load()) }})
	}
	return e
}

// Changes is nudged when the site's enrichers change: the caller
// reconciles.
func (e *Enrichment) Changes() <-chan struct{} { return e.changes }

// Refreshing is how many resources this node refreshes.
func (e *Enrichment) Refreshing() int {
	if e.refresher == nil {
		return 0
	}
	return e.refresher.Len()
}

// Run refreshes and watches the site's enrichers until ctx ends (at once
// without the role).
func (e *Enrichment) Run(ctx context.Context) error {
	if e.refresher == nil {
		return nil
	}
	var wg sync.WaitGroup
	wg.Go(func() { e.watchEnrichers(ctx, e.o.Config.Cluster.Heartbeat.D()) })
	if err := e.refresher.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		e.o.Logger.Error("enrichment refresher stopped", "err", err)
	}
	wg.Wait()
	return nil
}

// Wait waits for the KV deletes of removed resources (bounded: see
// remove).
func (e *Enrichment) Wait() { e.removing.Wait() }

// watchEnrichers nudges Changes when the site's enrichers change.
func (e *Enrichment) watchEnrichers(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	last := signature(e.o.Members.Sharing(config.RoleEnrichment))
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if s := signature(e.o.Members.Sharing(config.RoleEnrichment)); s != last {
			last = s
			select {
			case e.changes <- struct{}{}:
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

// Reconcile gives the Refresher the resources of this site this node
// enriches, then drops from the cache what this node neither polls
// (pollOwned) nor enriches any more: a resource that moved to another node
// is forgotten here (its KV entry serves the new owner), one that left the
// inventory is also deleted from KV, so no node serves its data again
// (when no node saw it leave — it moved and left at once — the bucket's
// TTL ends it). Calls do not overlap (the node's reconcile).
func (e *Enrichment) Reconcile(snap []*resource.Resource, pollOwned map[string]bool) {
	inventory := make(map[string]bool, len(snap))
	mine := make(map[string]bool, len(pollOwned))
	for k := range pollOwned {
		mine[k] = true
	}
	var members []cluster.Member
	if e.refresher != nil {
		members = e.o.Members.Sharing(config.RoleEnrichment)
	}
	var targets []enrich.Target
	snmpOpts := e.snmp.Load()
	for _, res := range snap {
		if res.Site != e.o.Config.Site {
			continue
		}
		key := res.Key()
		inventory[key] = true
		if e.refresher == nil || !e.o.Uses(res) || cluster.Owner(members, key) != e.o.Members.ID() {
			continue
		}
		t, err := poll.TargetFor(res, *snmpOpts)
		if err != nil {
			continue // its polls report it (internal failure)
		}
		targets = append(targets, enrich.Target{Resource: res, SNMP: t})
		mine[key] = true
	}
	if e.refresher != nil {
		e.refresher.Update(targets)
	}
	forget, remove := departures(e.mine, mine, inventory)
	e.mine = mine
	for _, k := range append(forget, remove...) {
		e.o.Cache.Forget(k)
	}
	e.o.Logger.Debug("enrichment updated", "refreshed", len(targets), "forgotten", len(forget), "removed", len(remove))
	if len(remove) == 0 {
		return
	}
	// KV deletes are network calls: off the reconcile path, and bounded
	// (Wait waits for them on shutdown).
	e.removing.Go(func() { e.remove(remove, 5*time.Second) })
}

// remove deletes the KV entries of resources gone from the inventory. A
// delete that times out means KV does not answer: the rest are left to the
// bucket's TTL rather than each waiting as long (a thousand removed
// devices must not hold a shutdown for hours).
func (e *Enrichment) remove(keys []string, timeout time.Duration) {
	for i, k := range keys {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		err := e.o.Cache.Remove(ctx, k)
		cancel()
		if err == nil {
			continue
		}
		e.o.Logger.Warn("enrichment of a removed resource stays until the bucket's TTL", "resource", k, "err", err)
		if errors.Is(err, context.DeadlineExceeded) {
			for _, rest := range keys[i+1:] {
				e.o.Cache.Forget(rest)
			}
			if left := len(keys) - i - 1; left > 0 {
				e.o.Logger.Warn("enrichment KV does not answer: the other removed resources' entries stay until the bucket's TTL", "resources", left)
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

// SetSNMP replaces what targets are built from (a config reload): the
// Refresher's next visits and the next Reconcile use it (a rotated
// credential reaches the scheduled collections too).
func (e *Enrichment) SetSNMP(o poll.SNMPOptions) { e.snmp.Store(&o) }
