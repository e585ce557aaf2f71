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
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/snmp"
)

// Bucket is the JetStream KV bucket shared by every node.
const Bucket = "panoptes_enrichment"

// Options configure a Cache. Zero values take the defaults.
type Options struct {
	// KV shares collections between nodes (see OpenBucket); nil keeps
	// them in this node's memory only.
	KV jetstream.KeyValue
	// Refresh is the enrichment interval: data older than this is
	// collected again at the next poll. Default 15m. The bucket's TTL
	// should be a few times longer, so that data outlives a failed
	// refresh.
	Refresh time.Duration
	// MinInterval bounds change-triggered collections of one device
	// (agents whose ifTableLastChange moves at every flap). Default 1m.
	MinInterval time.Duration
	Logger      *slog.Logger
	Registerer  prometheus.Registerer
	Now         func() time.Time // default time.Now
}

// Cache serves enrichment: from memory, else from KV (another node's
// collection), else by collecting it now. It is safe for concurrent use;
// lookups of one device wait for one collection.
type Cache struct {
	opts Options
	log  *slog.Logger
	m    *metrics

	mu      sync.Mutex
	entries map[string]*entry // by resource key
}

type entry struct {
	mu        sync.Mutex
	dev       *Device
	attempted time.Time // last collection attempt by this node
}

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
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Cache{opts: opts, log: log, m: newMetrics(opts.Registerer), entries: map[string]*entry{}}
}

// OpenBucket creates or opens the enrichment bucket; ttl (default 1h)
// expires the data of devices nobody polls any more.
func OpenBucket(ctx context.Context, js jetstream.JetStream, ttl time.Duration, replicas int) (jetstream.KeyValue, error) {
	if ttl <= 0 {
		ttl = time.Hour
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: Bucket, Description: "slow-changing device data (interface names, aliases, speeds)",
		History: 1, TTL: ttl, Replicas: max(replicas, 1),
	})
	if err != nil {
		return nil, fmt.Errorf("open KV bucket %s: %w", Bucket, err)
	}
	return kv, nil
}

// Lookup returns res's enrichment. It is collected again (through s and t)
// when older than Refresh or when seen shows the device changed. When a
// collection fails, older data is returned if there is any (stale names
// beat none); with no data at all the error says why.
func (c *Cache) Lookup(ctx context.Context, res *resource.Resource, t snmp.Target, s SNMP, seen Signals) (*Device, error) {
	if res == nil {
		return nil, errors.New("enrichment lookup: nil resource")
	}
	key := res.Key()
	e := c.entry(key)
	e.mu.Lock()
	defer e.mu.Unlock()
	now := c.opts.Now()

	if e.dev != nil && c.usable(e.dev, now, seen) {
		c.m.lookups[srcMemory].Inc()
		return e.dev, nil
	}
	if d := c.fromKV(ctx, key); d != nil && c.usable(d, now, seen) && (e.dev == nil || d.CollectedAt.After(e.dev.CollectedAt)) {
		e.dev = d
		c.m.lookups[srcKV].Inc()
		return d, nil
	}
	if e.dev != nil && now.Sub(e.attempted) < c.opts.MinInterval {
		c.m.lookups[srcMemory].Inc()
		return e.dev, nil // changed again too soon: keep what we have
	}
	e.attempted = now
	start := time.Now()
	d, err := Collect(ctx, s, t)
	c.m.collectSeconds.Observe(time.Since(start).Seconds())
	if err != nil {
		c.m.collections[resultFailed].Inc()
		if e.dev != nil {
			c.log.Warn("enrichment refresh failed; using older data", "resource", key, "err", err)
			c.m.lookups[srcStale].Inc()
			return e.dev, nil
		}
		c.m.lookups[srcNone].Inc()
		return nil, err
	}
	c.m.collections[resultOK].Inc()
	c.m.lookups[srcCollected].Inc()
	d.Resource, d.CollectedAt = key, now
	e.dev = d
	c.toKV(ctx, key, d)
	return d, nil
}

// Invalidate makes the next lookup of the resource collect again.
func (c *Cache) Invalidate(resourceKey string) {
	e := c.entry(resourceKey)
	e.mu.Lock()
	e.dev, e.attempted = nil, time.Time{}
	e.mu.Unlock()
	if c.opts.KV != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = c.opts.KV.Delete(ctx, kvKey(resourceKey))
	}
}

// Forget drops a resource no longer polled by this node from memory.
func (c *Cache) Forget(resourceKey string) {
	c.mu.Lock()
	delete(c.entries, resourceKey)
	c.mu.Unlock()
}

func (c *Cache) entry(key string) *entry {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		e = &entry{}
		c.entries[key] = e
	}
	return e
}

// usable: fresh, and the device shows no change since the collection.
func (c *Cache) usable(d *Device, now time.Time, seen Signals) bool {
	if now.Sub(d.CollectedAt) >= c.opts.Refresh {
		return false
	}
	if d.changed(seen) {
		c.m.changes.Inc()
		return false
	}
	return true
}

func (c *Cache) fromKV(ctx context.Context, key string) *Device {
	if c.opts.KV == nil {
		return nil
	}
	kve, err := c.opts.KV.Get(ctx, kvKey(key))
	if err != nil {
		if !errors.Is(err, jetstream.ErrKeyNotFound) {
			c.m.kvErrors.WithLabelValues("get").Inc()
			c.log.Warn("enrichment KV read failed", "resource", key, "err", err)
		}
		return nil
	}
	d := &Device{}
	if err := json.Unmarshal(kve.Value(), d); err != nil || d.Resource != key {
		c.m.kvErrors.WithLabelValues("decode").Inc()
		return nil
	}
	return d
}

func (c *Cache) toKV(ctx context.Context, key string, d *Device) {
	if c.opts.KV == nil {
		return
	}
	b, err := json.Marshal(d)
	if err == nil {
		_, err = c.opts.KV.Put(ctx, kvKey(key), b)
	}
	if err != nil {
		c.m.kvErrors.WithLabelValues("put").Inc()
		c.log.Warn("enrichment KV write failed; other nodes will collect it themselves", "resource", key, "err", err)
	}
}

// kvKey hashes the resource key (it holds characters KV keys may not);
// the value repeats the resource key to catch a collision.
func kvKey(resourceKey string) string {
	h := fnv.New64a()
	_, _ = h.Write([]byte(resourceKey))
	return "e" + strconv.FormatUint(h.Sum64(), 16)
}
