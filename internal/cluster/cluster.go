// Package cluster is membership, ownership and leadership for the nodes of
// a site, on JetStream KV only (no consensus of our own): nodes heartbeat
// their Member record into a bucket; each resource belongs to the
// rendezvous-hash winner among the live pollers of its site; one node per
// site holds the leader key (created with Create, refreshed with Update on
// its revision, expiring with the bucket's TTL) and runs discovery.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// Buckets and timing.
const (
	MembersBucket    = "panoptes_members"
	LeadersBucket    = "panoptes_leaders"
	DefaultHeartbeat = 2 * time.Second
	// ttlBeats heartbeats without news and a member is gone.
	ttlBeats = 3
	// echoTimeout bounds Leave's wait for its draining record to come back.
	echoTimeout = 3 * time.Second
	opTimeout   = 5 * time.Second
)

// LeaderKey is the leaders bucket's key for site.
func LeaderKey(site string) string { return "leader." + site }

// Options configure Join.
type Options struct {
	JS       jetstream.JetStream
	Self     Member // ID, Site, Roles, Capacity, Version; the rest is filled in
	Replicas int    // for the buckets (default 1)
	// Heartbeat is how often Self is refreshed (default 2s); others drop it
	// after three silent heartbeats.
	Heartbeat time.Duration
	// FormingRetry is how long Start retries its first membership put
	// while the JetStream cluster forms (bus.connect_retry; 0: once).
	FormingRetry time.Duration
	Logger       *slog.Logger
	Registerer   prometheus.Registerer
}

// Cluster is this node's view of the membership and its own leadership.
type Cluster struct {
	js      jetstream.JetStream
	nc      *nats.Conn // core heartbeats (HeartbeatSubject)
	members jetstream.KeyValue
	leaders jetstream.KeyValue
	log     *slog.Logger
	m       *metrics
	hb      time.Duration
	forming time.Duration // Options.FormingRetry
	changes chan struct{}

	mu          sync.Mutex
	self        Member
	view        map[string]*Member   // every member seen, by ID
	pollers     []Member             // live pollers of self's site, as last computed
	lastBeat    time.Time            // last successful heartbeat put
	lastEcho    time.Time            // when our own record last came back
	drainAt     atomic.Int64         // Unix ns of self.DrainAt, read by every check
	joinAt      atomic.Int64         // Unix ns of self.JoinAt (max: not announced yet), read by every check
	joining     map[string]time.Time // pollers of self's site not polling before their JoinAt
	steady      []Member             // pollers minus joining: the owners until a joiner's JoinAt
	handing     map[string]time.Time // owned keys this node polls only before a joiner's JoinAt
	leaderRev   uint64               // revision of our leader key; 0 when not leader
	leaderAt    time.Time            // last successful leader refresh
	leaderSince time.Time            // when this node was elected
	owned       map[string]bool      // keys owned at the last Owned call
	echo        chan struct{}        // closed when our draining record comes back
	dupWarned   bool                 // another process's record with our ID was logged
	gen         uint64               // bumped whenever pollers change
	cache       map[string]ownership // by key, valid for cacheGen
	cacheGen    uint64

	w       jetstream.KeyWatcher // started by Join, consumed from Start
	hbSub   *nats.Subscription   // core heartbeats, from Start
	wctx    context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	stopped bool
}

// Join creates the buckets if needed and loads the current members; this
// node counts itself among them at once, the others only after Start.
// Leave and Close (or Abandon) end it.
func Join(ctx context.Context, opts Options) (*Cluster, error) {
	if !ValidID(opts.Self.ID) {
		return nil, fmt.Errorf("cluster: node id %q is not valid (letters, digits, '-', '_')", opts.Self.ID)
	}
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = DefaultHeartbeat
	}
	if opts.Replicas < 1 {
		opts.Replicas = 1
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Self.Capacity < 1 {
		opts.Self.Capacity = 1
	}
	c := &Cluster{
		js: opts.JS, nc: opts.JS.Conn(), log: opts.Logger, m: newMetrics(opts.Registerer), hb: opts.Heartbeat, forming: opts.FormingRetry,
		changes: make(chan struct{}, 1), view: map[string]*Member{}, self: opts.Self,
	}
	// Started tells one life of a node id from the next (Seq restarts at 1):
	// milliseconds, as a restart within a second is possible.
	c.self.Started = time.Now().UTC().Truncate(time.Millisecond)
	c.self.Heartbeat = Millis(opts.Heartbeat / time.Millisecond)
	c.self.Draining = false
	var err error
	ttl := ttlBeats * opts.Heartbeat
	if c.members, err = bucket(ctx, opts.JS, c.log, MembersBucket, ttl, opts.Replicas); err != nil {
		return nil, err
	}
	if c.leaders, err = bucket(ctx, opts.JS, c.log, LeadersBucket, ttl, opts.Replicas); err != nil {
		return nil, err
	}
	// Load the others first and announce self only in Start. A node that
	// joins live pollers polls nothing until then, and from then on only
	// the due times from its handover time (JoinAt) a moment ahead: the
	// others keep polling what moves to it until that time, so a join
	// neither skips nor repeats a check (as Leave for a departure).
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	c.cancel = cancel
	w, err := c.members.WatchAll(wctx)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("cluster: watch %s: %w", MembersBucket, err)
	}
	if err := c.loadInitial(ctx, w); err != nil {
		cancel()
		_ = w.Stop()
		return nil, err
	}
	c.w, c.wctx = w, wctx
	c.recompute()
	if c.self.Polls() && (len(c.Pollers()) > 1 || c.othersStored(ctx)) {
		c.joinAt.Store(math.MaxInt64)
	}
	return c, nil
}

// othersStored reports whether the members bucket holds a record (or its
// deletion) of another node, as its stream's leader counts them: a node
// live within a TTL, or true when the count cannot be read. The watch's
// initial values alone are not enough to decide that this node joins
// nobody: a node restarting (its server too) into a live cluster saw its
// watch report its initial values done before any had come, polled at
// once with no join time, and its share was polled twice until the others
// saw it (TestClusterProcesses' graceful restart: pollers [n2] at Join,
// [n1 n2 n3] 17 ms later).
func (c *Cluster) othersStored(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	s, err := c.js.Stream(ctx, "KV_"+MembersBucket)
	if err != nil {
		return true
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter("$KV."+MembersBucket+".>"))
	if err != nil {
		return true
	}
	for subj := range info.State.Subjects {
		if subj != "$KV."+MembersBucket+"."+c.self.ID {
			return true
		}
	}
	c.log.Debug("cluster: no other member's record in the bucket: joining nobody", "records_loaded", len(c.view))
	return false
}

// Start announces this node (the others take it into account from now on)
// and starts heartbeating, watching and electing. Call it once, after Join.
func (c *Cluster) Start(ctx context.Context) error {
	sub, err := c.nc.Subscribe(HeartbeatSubject, c.onHeartbeat)
	if err != nil {
		return fmt.Errorf("cluster: subscribe to heartbeats: %w", err)
	}
	if c.joinAt.Load() != 0 {
		c.mu.Lock()
		c.self.JoinAt = c.joinTimeLocked(time.Now())
		c.joinAt.Store(c.self.JoinAt.UnixNano())
		c.mu.Unlock()
	}
	// The core heartbeat first: a bucket put can block for seconds while
	// the bucket elects a leader, and the others must see the join time
	// before it comes.
	c.publishHeartbeat()
	if err := WhileForming(ctx, c.forming, c.log, "announce membership", c.beat); err != nil {
		_ = sub.Unsubscribe()
		return fmt.Errorf("cluster: publish membership: %w", err)
	}
	c.mu.Lock()
	c.hbSub = sub
	c.mu.Unlock()
	c.wg.Add(3)
	go c.watch(c.wctx, c.w)
	go c.loop(c.wctx)
	go c.heartbeatLoop(c.wctx.Done())
	return nil
}

func bucket(ctx context.Context, js jetstream.JetStream, log *slog.Logger, name string, ttl time.Duration, replicas int) (jetstream.KeyValue, error) {
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: name, Description: "panoptes cluster state; entries expire after " + ttl.String(),
		TTL: ttl, History: 1, Storage: jetstream.MemoryStorage, Replicas: replicas,
	})
	if errors.Is(err, jetstream.ErrBucketExists) {
		// Another node made it, perhaps with another heartbeat: use it as is.
		kv, err = js.KeyValue(ctx, name)
		if err == nil {
			if st, serr := kv.Status(ctx); serr == nil && st.TTL() != ttl {
				log.Warn("cluster: bucket TTL differs from 3 × this node's heartbeat; give every node the same cluster.heartbeat",
					"bucket", name, "bucket_ttl", st.TTL(), "want", ttl)
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("cluster: bucket %s: %w", name, err)
	}
	return kv, nil
}

// Changes signals (coalesced) that the set of pollers of this node's site or
// its leadership changed: time to reconcile.
func (c *Cluster) Changes() <-chan struct{} { return c.changes }

// ID is this node's ID.
func (c *Cluster) ID() string { return c.self.ID }

func (c *Cluster) notify() {
	select {
	case c.changes <- struct{}{}:
	default:
	}
}

// Members returns every member seen and not yet expired, self included.
func (c *Cluster) Members() []Member {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	self := c.self
	self.Seen = c.lastBeat
	out := []Member{self}
	for _, m := range c.view {
		if m.Alive(now) {
			out = append(out, *m)
		}
	}
	slices.SortFunc(out, func(a, b Member) int { return cmpString(a.ID, b.ID) })
	return out
}

// Pollers returns the live pollers of this node's site, as ownership sees them.
func (c *Cluster) Pollers() []Member {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.pollers)
}

// Owned returns the keys (resources of this node's site) this node owns,
// and counts ownership changes since the previous call in self-metrics.
func (c *Cluster) Owned(keys []string) map[string]bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	// Owners change only with the pollers: reuse the last answers while
	// they are the same, and hash only keys not seen before.
	if c.cacheGen != c.gen {
		c.cache, c.cacheGen = make(map[string]ownership, len(keys)), c.gen
	}
	owned := make(map[string]bool, len(keys)/max(1, len(c.pollers)))
	fresh := make(map[string]ownership, len(keys))
	c.handing = nil
	for _, k := range keys {
		o, ok := c.cache[k]
		if !ok {
			o = c.ownershipLocked(k)
		}
		fresh[k] = o
		if o.mine {
			owned[k] = true
		}
		if !o.until.IsZero() {
			if c.handing == nil {
				c.handing = map[string]time.Time{}
			}
			c.handing[k] = o.until
		}
	}
	c.cache = fresh // forget keys gone from the inventory
	changed := 0
	for k := range owned {
		if !c.owned[k] {
			changed++
		}
	}
	for k := range c.owned {
		if !owned[k] {
			changed++
		}
	}
	c.owned = owned
	c.m.owned.Set(float64(len(owned)))
	c.m.ownershipChanges.Add(float64(changed))
	return maps.Clone(owned)
}

// ownership is whether this node owns a key, and until when when the key
// moves to a joining member.
type ownership struct {
	mine  bool
	until time.Time
}

// ownershipLocked: the rendezvous winner among the pollers owns a key, but
// a key won by a member that has not reached its JoinAt stays, until then,
// with the winner among the others.
func (c *Cluster) ownershipLocked(key string) ownership {
	owner := Owner(c.pollers, key)
	if owner == c.self.ID {
		return ownership{mine: true}
	}
	if at, ok := c.joining[owner]; ok && Owner(c.steady, key) == c.self.ID {
		return ownership{mine: true, until: at}
	}
	return ownership{}
}

// Handovers returns, among owned keys, those this node polls only for due
// times before a joining member's JoinAt, when they become its.
func (c *Cluster) Handovers(owned map[string]bool) map[string]time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out map[string]time.Time
	for k, at := range c.handing {
		if owned[k] {
			if out == nil {
				out = map[string]time.Time{}
			}
			out[k] = at
		}
	}
	return out
}

// joinTimeLocked is this node's join time, announced at now: a moment
// ahead (drainDelay), or the time of a member still joining if that is at
// least half as far: joins close together then share one time, and a key
// moves once. (Two join times apart, a key won by the later joiner is held
// by the steady owners until the earlier time, and by a set that includes
// the earlier joiner after it: it can change hands without a handover time
// in between, polled twice or skipped once.)
func (c *Cluster) joinTimeLocked(now time.Time) time.Time {
	delay := drainDelay(c.hb)
	var shared time.Time
	for id, t := range c.joining {
		if id != c.self.ID && !t.Before(now.Add(delay/2)) && !t.After(now.Add(2*delay)) && t.After(shared) {
			shared = t
		}
	}
	if shared.IsZero() {
		return now.Add(delay)
	}
	return shared
}

// Joining returns the members of this node's site that joined live pollers
// and have not reached their JoinAt: until then the keys moving to them
// are held by their old owners too (Handovers), so ownership is settled
// when it is empty.
func (c *Cluster) Joining() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Sorted(maps.Keys(c.joining))
}

// JoinAt is when this node, having joined live pollers, starts polling:
// checks due before it are the others' (zero: it polls at once).
func (c *Cluster) JoinAt() time.Time {
	switch ns := c.joinAt.Load(); ns {
	case 0:
		return time.Time{}
	case math.MaxInt64:
		return time.Unix(1<<40, 0) // not announced yet (Start): nothing is due
	default:
		return time.Unix(0, ns)
	}
}

// IsLeader reports whether this node holds its site's leader key.
func (c *Cluster) IsLeader() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.leaderRev != 0
}

// Leave marks this node draining so the others take its resources over,
// from a handover time a moment ahead (DrainAt): this node polls the due
// times before it, the others those from it on, so the handover neither
// skips nor repeats a check. It returns once that time has come and the
// draining record has come back through the bus (the others have seen it
// too), or the record did not come back within a few seconds. From then on
// Owned returns nothing and the node is not leader: the caller stops
// polling, then calls Close.
func (c *Cluster) Leave(ctx context.Context) error {
	c.mu.Lock()
	at := time.Now().Add(drainDelay(c.hb))
	c.self.Draining, c.self.DrainAt = true, at
	c.drainAt.Store(at.UnixNano())
	echo := make(chan struct{})
	c.echo = echo
	c.mu.Unlock()
	c.releaseLeader(ctx)
	c.publishHeartbeat()
	if err := WhileForming(ctx, c.forming, c.log, "announce membership", c.beat); err != nil {
		// The core heartbeat may still have told the others.
		c.log.Warn("cluster: draining record not stored in the membership bucket", "err", err)
	}
	c.recompute()
	var err error
	select {
	case <-echo:
	case <-time.After(echoTimeout):
		c.log.Warn("cluster: draining record not seen back in time; leaving anyway")
		err = errors.New("cluster: draining record not seen back")
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-time.After(time.Until(at)):
	case <-ctx.Done():
		return ctx.Err()
	}
	return err
}

// drainDelay is how far ahead a leaving node sets its handover time: long
// enough for the others to see its record and schedule its resources, even
// on a busy machine (a taker that schedules them late misses the due times
// in between).
func drainDelay(hb time.Duration) time.Duration {
	return min(max(hb/2, 100*time.Millisecond), 2*time.Second)
}

// DrainAt is when this node stops polling after Leave (zero before):
// checks due from then on are the others'.
func (c *Cluster) DrainAt() time.Time {
	if ns := c.drainAt.Load(); ns != 0 {
		return time.Unix(0, ns)
	}
	return time.Time{}
}

// Takeovers returns, among owned keys, those this node takes over from a
// member that is leaving but still polls them, with the time it stops
// (its DrainAt): the caller polls those keys only from then on.
func (c *Cluster) Takeovers(owned map[string]bool) map[string]time.Time {
	c.mu.Lock()
	now := time.Now()
	ref := c.liveAtLocked(now)
	until := map[string]time.Time{}
	var handing []Member
	for _, m := range c.view {
		if m.Site == c.self.Site && m.Has(RolePoller) && m.Draining && m.Alive(ref) &&
			m.DrainAt.After(now) && m.DrainAt.Sub(now) < m.ttl() {
			handing = append(handing, *m)
			until[m.ID] = m.DrainAt
		}
	}
	all := append(slices.Clone(c.pollers), handing...)
	c.mu.Unlock()
	if len(handing) == 0 {
		return nil
	}
	out := map[string]time.Time{}
	for k := range owned {
		if at, ok := until[Owner(all, k)]; ok {
			out[k] = at
		}
	}
	return out
}

// Close stops heartbeating and deletes this node's member record and leader
// key, so nobody waits for them to expire.
func (c *Cluster) Close(ctx context.Context) error {
	if !c.stop() {
		return nil
	}
	c.releaseLeader(ctx)
	dctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	if err := c.members.Delete(dctx, c.self.ID); err != nil {
		return fmt.Errorf("cluster: delete member %s: %w", c.self.ID, err)
	}
	return nil
}

// Abandon stops heartbeating and leaves the records to expire, as a killed
// process would: the others take over after the TTL.
func (c *Cluster) Abandon() { c.stop() }

func (c *Cluster) stop() bool {
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return false
	}
	c.stopped = true
	sub := c.hbSub
	c.mu.Unlock()
	if sub != nil {
		_ = sub.Unsubscribe()
	}
	c.cancel()
	c.wg.Wait()
	_ = c.w.Stop() // a no-op when the watch goroutine already stopped it
	return true
}

// beat puts Self into the membership bucket.
func (c *Cluster) beat(ctx context.Context) error {
	c.mu.Lock()
	data, err := c.recordLocked()
	c.mu.Unlock()
	if err != nil {
		return err
	}
	pctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	if _, err := c.members.Put(pctx, c.self.ID, data); err != nil {
		c.m.heartbeatFailures.Inc()
		return err
	}
	c.mu.Lock()
	c.lastBeat = time.Now()
	c.mu.Unlock()
	return nil
}

func (c *Cluster) loop(ctx context.Context) {
	defer c.wg.Done()
	beat := time.NewTicker(c.hb)
	defer beat.Stop()
	// Sweep more often than the heartbeat so expiry is noticed promptly.
	sweep := time.NewTicker(max(c.hb/4, 50*time.Millisecond))
	defer sweep.Stop()
	c.electOrRefresh(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-beat.C:
			if err := c.beat(ctx); err != nil && ctx.Err() == nil {
				c.log.Warn("cluster: heartbeat failed", "err", err)
			}
			c.electOrRefresh(ctx)
		case <-sweep.C:
			c.recompute()
		}
	}
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
