package enrich

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/s2frame"
	"github.com/panoptes-go/panoptes/internal/snmp"
)

// Bucket is the JetStream KV bucket shared by every node.
const Bucket = "panoptes_enrichment"

// kvTimeout bounds a KV write made after the caller's deadline may have
// passed, and every KV read (a stream electing a leader must not hold a
// poll or a Refresher slot for the whole collection timeout).
const kvTimeout = 5 * time.Second

// DefaultMaxValueSize fits NATS's default max payload (1 MiB) with room
// for the KV subject and headers.
const DefaultMaxValueSize = 1<<20 - 4<<10

// Options configure a Cache. Zero values take the defaults.
type Options struct {
	// KV shares collections between nodes (see OpenBucket); nil keeps
	// them in this node's memory only.
	KV jetstream.KeyValue
	// Refresh is the enrichment interval: a Refresher collects each of its
	// devices once per Refresh, and polls of a device no Refresher visits
	// collect data older than this again. Default 15m. The bucket's TTL
	// should be a few times longer, so that data outlives a failed refresh.
	Refresh time.Duration
	// MinInterval bounds change-triggered collections of one device
	// (agents whose ifTableLastChange moves at every flap). Default 1m.
	MinInterval time.Duration
	// Need says what to collect for a resource, given the device's
	// sysObjectID: the union of what its plugins read (the node builds it
	// from poll.Enricher). Nil: the interface columns.
	Need func(res *resource.Resource, sysObjectID string) Need
	// MaxValueSize bounds a KV entry (the bus's max payload, less room for
	// the message's subject and headers). A device whose data exceeds it
	// (thousands of interfaces and entity rows) is kept in this node's
	// memory only. Default DefaultMaxValueSize.
	MaxValueSize int
	Logger       *slog.Logger
	Registerer   prometheus.Registerer
	Now          func() time.Time // default time.Now
}

// Cache serves enrichment: from memory, else from KV (another node's
// collection), else by collecting it now. It is safe for concurrent use;
// one collection of a device runs at a time, and lookups that need data
// wait for it rather than walk the device again.
type Cache struct {
	opts Options
	log  *slog.Logger
	m    *metrics

	mu        sync.Mutex
	entries   map[string]*entry // by resource key
	scheduled map[string]bool   // keys a Refresher of this node visits

	revs       kvRevisions   // what the bucket's watch saw written (WatchKV)
	rewatch    chan struct{} // restarts the watch: the bucket went back
	lastCheck  atomic.Int64  // unix ns of the last checkBucket a read asked for
	checkEvery time.Duration // bucketCheckEvery
}

// entry is one resource's state in the cache. Its flags sit together at the
// end: 88 bytes (96 allocated), where spread between the words they took
// 104 (112).
type entry struct {
	mu        sync.Mutex
	dev       *Device
	attempted time.Time // last collection attempt by this node
	flight    *flight   // the collection running now, nil when none
	lastErr   error     // why, while failing
	// rev is the newest KV revision of the key this node has read or
	// written (0: none there), known while the watch of epoch revEpoch
	// runs: while the watch shows nothing newer, a KV read is skipped.
	rev, revEpoch uint64
	failing       bool // the last collection failed (logged once)
	oversize      bool // the last collection was too large for KV (logged once)
	// gone: Forget or Remove dropped the entry while a collection ran; its
	// end then leaves the failing gauge alone, and after Remove (removed)
	// does not store the data in KV again.
	gone, removed bool
}

// flight is one collection in progress; done closes when it has ended and
// its result (if any) is the entry's dev.
type flight struct{ done chan struct{} }

// Triggers of a collection, for metrics and logs.
const (
	triggerInline    = "inline"    // a poll found no usable data
	triggerScheduled = "scheduled" // a Refresher's visit
)

// New returns a Cache.
func New(opts Options) *Cache {
	if opts.Refresh <= 0 {
		opts.Refresh = 15 * time.Minute
	}
	if opts.MinInterval <= 0 {
		opts.MinInterval = time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxValueSize <= 0 {
		opts.MaxValueSize = DefaultMaxValueSize
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Cache{opts: opts, log: log, m: newMetrics(opts.Registerer), entries: map[string]*entry{}, scheduled: map[string]bool{},
		rewatch: make(chan struct{}, 1), checkEvery: bucketCheckEvery}
}

// OpenBucket creates or opens the enrichment bucket; ttl (default 1h)
// expires the data of devices nobody polls any more.
func OpenBucket(ctx context.Context, js jetstream.JetStream, ttl time.Duration, replicas int) (jetstream.KeyValue, error) {
	if ttl <= 0 {
		ttl = time.Hour
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: Bucket, Description: "slow-changing device data (interface names, aliases, speeds, entity names)",
		History: 1, TTL: ttl, Replicas: max(replicas, 1),
	})
	if err != nil {
		return nil, fmt.Errorf("open KV bucket %s: %w", Bucket, err)
	}
	return kv, nil
}

// Lookup returns res's enrichment, holding at least want. It is collected
// now (through s and t) when there is none fresh, when seen shows the
// device changed, or when the data lacks part of want; a collection
// already running (a Refresher's) is waited for instead. When a collection
// fails, older data is returned if there is any (stale names beat none);
// with no data at all the error says why.
func (c *Cache) Lookup(ctx context.Context, res *resource.Resource, t snmp.Target, s SNMP, seen Signals, want Need) (*Device, error) {
	if res == nil {
		return nil, errors.New("enrichment lookup: nil resource")
	}
	key := res.Key()
	e := c.entry(key)
	e.mu.Lock()
	c.await(ctx, e, seen, want)
	now := c.opts.Now()
	if e.dev != nil && c.usable(e.dev, now, seen, want) {
		return c.serve(e, srcMemory, now)
	}
	if e.dev != nil && e.dev.changed(seen) {
		c.m.changes.Inc()
	}
	// The KV read is a network call: not under the entry's lock, which the
	// other polls of the device and the Refresher take.
	read, epoch, newest := c.kvNewer(key, e)
	e.mu.Unlock()
	var kd *Device
	if read {
		kd = c.readKV(ctx, key, e, epoch, newest)
	}
	e.mu.Lock()
	c.await(ctx, e, seen, want) // one the Refresher started meanwhile
	if kd != nil && c.usable(kd, now, seen, want) && (e.dev == nil || kd.CollectedAt.After(e.dev.CollectedAt)) {
		e.dev = kd
		return c.serve(e, srcKV, now)
	}
	if e.dev != nil && c.usable(e.dev, now, seen, want) { // collected meanwhile
		return c.serve(e, srcMemory, now)
	}
	if e.dev == nil && e.flight == nil && e.failing && now.Sub(e.attempted) < c.opts.MinInterval {
		// The last collection failed a moment ago (every poll of an
		// unreachable device would walk it again): wait MinInterval.
		err := e.lastErr
		e.mu.Unlock()
		c.m.lookups[srcNone].Inc()
		return nil, fmt.Errorf("%w (not collected again until %v after the failure)", err, c.opts.MinInterval)
	}
	if e.flight != nil || (e.dev != nil && now.Sub(e.attempted) < c.opts.MinInterval) {
		// Collecting already, or changed again too soon: keep what we have.
		if e.dev != nil {
			return c.serve(e, srcMemory, now)
		}
		e.mu.Unlock()
		c.m.lookups[srcNone].Inc()
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("enrichment: waiting for the running collection: %w", err)
		}
		return nil, errors.New("enrichment: no data yet; a collection of the device is running")
	}
	f := c.begin(e, now)
	e.mu.Unlock()
	d, err := c.collect(ctx, res, t, s, want)
	c.finish(ctx, e, f, key, d, err, now, triggerInline)

	e.mu.Lock()
	defer e.mu.Unlock()
	if err != nil {
		if e.dev != nil {
			c.m.lookups[srcStale].Inc()
			return e.dev, nil
		}
		c.m.lookups[srcNone].Inc()
		return nil, err
	}
	c.m.lookups[srcCollected].Inc()
	c.m.age.Observe(0)
	return d, nil
}

// await waits, with e locked (unlocking it meanwhile), for the collection
// of e running now, unless e's data already serves the lookup.
func (c *Cache) await(ctx context.Context, e *entry, seen Signals, want Need) {
	if f := e.flight; f != nil && (e.dev == nil || !c.usable(e.dev, c.opts.Now(), seen, want)) {
		e.mu.Unlock()
		select {
		case <-f.done:
		case <-ctx.Done():
		}
		e.mu.Lock()
	}
}

// serve returns e.dev to a poll and unlocks e.
func (c *Cache) serve(e *entry, src int, now time.Time) (*Device, error) {
	d := e.dev
	e.mu.Unlock()
	c.m.lookups[src].Inc()
	c.m.age.Observe(now.Sub(d.CollectedAt).Seconds())
	return d, nil
}

// refresh is a Refresher's visit of res, whose next visit is at next: it
// collects unless the data at hand (memory, else KV) stays fresh until
// well after next and holds what res's plugins need. skipped reports that
// nothing was collected (fresh data, or a collection already running).
func (c *Cache) refresh(ctx context.Context, res *resource.Resource, t snmp.Target, s SNMP, next time.Time) (skipped bool, err error) {
	key := res.Key()
	e := c.entry(key)
	e.mu.Lock()
	if e.flight != nil {
		e.mu.Unlock()
		return true, nil
	}
	read, epoch, newest := c.kvNewer(key, e)
	e.mu.Unlock()
	var kd *Device
	if read {
		kd = c.readKV(ctx, key, e, epoch, newest) // not under the entry's lock: polls take it
	}
	e.mu.Lock()
	if e.flight != nil {
		e.mu.Unlock()
		return true, nil
	}
	now := c.opts.Now()
	if kd != nil && (e.dev == nil || kd.CollectedAt.After(e.dev.CollectedAt)) {
		e.dev = kd
	}
	if d := e.dev; d != nil && d.Covers(c.need(res, d.SysObjectID)) && c.freshUntil(d).After(next.Add(c.opts.Refresh/4)) {
		e.mu.Unlock()
		return true, nil
	}
	f := c.begin(e, now)
	e.mu.Unlock()
	d, err := c.collect(ctx, res, t, s, Need{})
	c.finish(ctx, e, f, key, d, err, now, triggerScheduled)
	return false, err
}

// begin starts a collection of e (locked).
func (c *Cache) begin(e *entry, now time.Time) *flight {
	f := &flight{done: make(chan struct{})}
	e.flight, e.attempted = f, now
	return f
}

func (c *Cache) collect(ctx context.Context, res *resource.Resource, t snmp.Target, s SNMP, want Need) (*Device, error) {
	start := time.Now()
	d, err := Collect(ctx, s, t, func(sysObjectID string) Need { return c.need(res, sysObjectID).Merge(want) })
	c.m.collectSeconds.Observe(time.Since(start).Seconds())
	return d, err
}

// finish ends e's collection f started at now: the data replaces e's, is
// shared through KV, and a failure is logged when it starts and when it
// ends, not at every attempt.
func (c *Cache) finish(ctx context.Context, e *entry, f *flight, key string, d *Device, err error, now time.Time, trigger string) {
	e.mu.Lock()
	e.flight = nil
	if err == nil {
		d.Resource, d.CollectedAt = key, now
		fresh := c.opts.Refresh
		if c.isScheduled(key) {
			fresh *= 2 // the Refresher comes back within one interval
		}
		d.FreshUntil = now.Add(fresh)
		e.dev = d
	}
	wasFailing, older, gone, removed := e.failing, e.dev != nil, e.gone, e.removed
	e.failing, e.lastErr = err != nil, err
	if gone {
		e.failing = false // dropped: no gauge to keep
	}
	e.mu.Unlock()
	close(f.done)

	if err != nil {
		c.m.collections[trigger][resultFailed].Inc()
		if !wasFailing && !gone {
			c.m.failing.Inc()
			c.log.Warn("enrichment collection failed", "resource", key, "trigger", trigger, "older_data_kept", older, "err", err)
		}
		return
	}
	c.m.collections[trigger][resultOK].Inc()
	if wasFailing && !gone {
		c.m.failing.Dec()
		c.log.Info("enrichment collection recovered", "resource", key, "trigger", trigger)
	}
	if removed {
		return // left the inventory while collected: not in KV again
	}
	kctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), kvTimeout)
	defer cancel()
	c.toKV(kctx, e, key, d)
}

// Invalidate makes the next lookup of the resource collect again.
func (c *Cache) Invalidate(resourceKey string) {
	e := c.entry(resourceKey)
	e.mu.Lock()
	e.dev, e.attempted = nil, time.Time{}
	e.rev, e.revEpoch = 0, 0
	e.mu.Unlock()
	if c.opts.KV != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = c.opts.KV.Delete(ctx, kvKey(resourceKey))
	}
}

// Forget drops a resource this node no longer polls or refreshes from
// memory; its KV entry stays for the node that took it over.
func (c *Cache) Forget(resourceKey string) { c.drop(resourceKey, false) }

// drop removes the entry from memory; a collection still running ends
// without touching the failing gauge (nor KV, when removed).
func (c *Cache) drop(resourceKey string, removed bool) {
	c.mu.Lock()
	e, ok := c.entries[resourceKey]
	delete(c.entries, resourceKey)
	if ok {
		c.revs.release(kvHash(resourceKey))
	}
	c.mu.Unlock()
	if !ok {
		return
	}
	e.mu.Lock()
	failing := e.failing
	e.failing, e.gone = false, true
	e.removed = e.removed || removed
	e.mu.Unlock()
	if failing {
		c.m.failing.Dec()
	}
}

// Remove forgets a resource that left the inventory and deletes its KV
// entry, so that no node serves its data again (a collection of it still
// running does not store it again).
func (c *Cache) Remove(ctx context.Context, resourceKey string) error {
	c.drop(resourceKey, true)
	if c.opts.KV == nil {
		return nil
	}
	if err := c.opts.KV.Delete(ctx, kvKey(resourceKey)); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		c.m.kvErrors.WithLabelValues("delete").Inc()
		return fmt.Errorf("enrichment: delete %s from KV: %w", resourceKey, err)
	}
	return nil
}

// Has reports whether this node holds data for the resource in memory.
func (c *Cache) Has(resourceKey string) bool {
	c.mu.Lock()
	e, ok := c.entries[resourceKey]
	c.mu.Unlock()
	if !ok {
		return false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.dev != nil
}

// Len is the number of resources this node keeps in memory.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

func (c *Cache) entry(key string) *entry {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		e = &entry{}
		c.entries[key] = e
		c.revs.hold(kvHash(key))
	}
	return e
}

// setScheduled records the keys a Refresher visits: their collections
// stay fresh for two intervals.
func (c *Cache) setScheduled(keys map[string]bool) {
	c.mu.Lock()
	c.scheduled = keys
	c.mu.Unlock()
}

func (c *Cache) isScheduled(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.scheduled[key]
}

func (c *Cache) need(res *resource.Resource, sysObjectID string) Need {
	if c.opts.Need == nil {
		return Need{Interfaces: true}
	}
	return c.opts.Need(res, sysObjectID)
}

func (c *Cache) freshUntil(d *Device) time.Time {
	if !d.FreshUntil.IsZero() {
		return d.FreshUntil
	}
	return d.CollectedAt.Add(c.opts.Refresh)
}

// usable: fresh, holds want, and the device shows no change since the
// collection.
func (c *Cache) usable(d *Device, now time.Time, seen Signals, want Need) bool {
	return now.Before(c.freshUntil(d)) && d.Covers(want) && !d.changed(seen)
}

// fromKV reads key's data from KV. rev is the revision read (0: the key
// is not there); ok is false when the read failed. d is nil unless the
// value decoded.
func (c *Cache) fromKV(ctx context.Context, key string) (d *Device, rev uint64, ok bool) {
	if c.opts.KV == nil {
		return nil, 0, false
	}
	ctx, cancel := context.WithTimeout(ctx, kvTimeout)
	defer cancel()
	c.m.kvReads[kvRead].Inc()
	kve, err := c.opts.KV.Get(ctx, kvKey(key))
	if err != nil {
		if !errors.Is(err, jetstream.ErrKeyNotFound) {
			c.m.kvErrors.WithLabelValues("get").Inc()
			c.log.Warn("enrichment KV read failed", "resource", key, "err", err)
			return nil, 0, false
		}
		return nil, 0, true
	}
	plain, err := s2frame.Decode(nil, kve.Value()) // plain JSON from older versions passes through
	d = &Device{}
	if err == nil {
		err = json.Unmarshal(plain, d)
	}
	if err != nil || d.Resource != key {
		c.m.kvErrors.WithLabelValues("decode").Inc()
		return nil, kve.Revision(), true
	}
	return d, kve.Revision(), true
}

// toKV shares d, e's data. Data too large for a KV value stays in memory:
// logged once per resource (and when it fits again), counted as a
// "too_large" KV error; the other nodes collect such a device themselves.
func (c *Cache) toKV(ctx context.Context, e *entry, key string, d *Device) {
	if c.opts.KV == nil {
		return
	}
	b, err := json.Marshal(d)
	if err == nil {
		// S2-compressed (~8× for a switch): the bucket's store keeps recent
		// blocks in memory, and at 10,000 devices the JSON was 80 MB of it.
		if z := s2frame.Append(nil, b); len(z) < len(b) {
			b = z
		}
		tooLarge := len(b) > c.opts.MaxValueSize
		e.mu.Lock()
		was := e.oversize
		e.oversize = tooLarge
		e.mu.Unlock()
		if tooLarge {
			c.m.kvErrors.WithLabelValues("too_large").Inc()
			if !was {
				c.log.Warn("enrichment too large for the KV bucket; kept in this node's memory only, other nodes collect the device themselves",
					"resource", key, "bytes", len(b), "max_bytes", c.opts.MaxValueSize,
					"interfaces", d.Interfaces.Len(), "tables", d.Tables.Len())
			}
			return
		}
		if was {
			c.log.Info("enrichment fits the KV bucket again", "resource", key, "bytes", len(b))
		}
		epoch := c.revs.current()
		var rev uint64
		if rev, err = c.opts.KV.Put(ctx, kvKey(key), b); err == nil {
			e.mu.Lock()
			before := e.sawRevision(rev, epoch)
			e.mu.Unlock()
			if before > rev && epoch != 0 { // a write numbered below an earlier one
				c.checkBucket(ctx, epoch, before, true)
			}
		}
	}
	if err != nil {
		c.m.kvErrors.WithLabelValues("put").Inc()
		c.log.Warn("enrichment KV write failed; other nodes will collect it themselves", "resource", key, "err", err)
	}
}

// kvKey hashes the resource key (it holds characters KV keys may not);
// the value repeats the resource key to catch a collision.
func kvKey(resourceKey string) string {
	return "e" + strconv.FormatUint(kvHash(resourceKey), 16)
}

func kvHash(resourceKey string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(resourceKey))
	return h.Sum64()
}
