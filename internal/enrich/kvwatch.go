package enrich

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Why a watch: a KV Get of a value written a while ago makes nats-server
// load the whole block that holds it (4 MiB in a KV bucket) into memory,
// and a Refresher visits each device once per interval, long after its
// value left the block being written. The watch (headers only, new
// messages only) is delivered from the block being written; it tells a
// node which keys another node wrote since, so that a visit or a lookup
// reads KV only when the bucket holds something newer than the node's copy.

// kvRevisions is what the bucket's watch saw written.
type kvRevisions struct {
	mu    sync.Mutex
	epoch uint64 // the running watch's; 0 while none runs
	began uint64 // watches begun
	// newest, by kvHash of the keys this node holds an entry for (only
	// those: every other node's devices would be ~45 B each here): the
	// newest revision written since the watch began (0: none).
	newest  map[uint64]uint64
	created time.Time // the bucket's stream's creation, when the watch began (zero: unknown)
}

// bucketCheckEvery is how often a watch and, at most, reads that returned
// an older revision than seen compare the bucket's last revision and
// creation with what the watch saw (Cache.checkEvery: tests shorten it).
const bucketCheckEvery = time.Minute

// begin starts a new epoch: a watch now receives every later write of
// held, the hashes of the keys this node holds an entry for.
func (r *kvRevisions) begin(held []uint64, created time.Time) {
	r.mu.Lock()
	r.began++
	r.epoch, r.newest, r.created = r.began, make(map[uint64]uint64, len(held)), created
	for _, h := range held {
		r.newest[h] = 0
	}
	r.mu.Unlock()
}

// end: the watch stopped; nothing is known until the next one begins.
func (r *kvRevisions) end() {
	r.mu.Lock()
	r.epoch, r.newest = 0, nil
	r.mu.Unlock()
}

// hold and release follow the keys this node has an entry for.
func (r *kvRevisions) hold(h uint64) {
	r.mu.Lock()
	if r.newest != nil {
		if _, ok := r.newest[h]; !ok {
			r.newest[h] = 0
		}
	}
	r.mu.Unlock()
}

func (r *kvRevisions) release(h uint64) {
	r.mu.Lock()
	delete(r.newest, h)
	r.mu.Unlock()
}

// saw records a write the watch delivered, of a key this node holds.
func (r *kvRevisions) saw(h, rev uint64) {
	r.mu.Lock()
	if old, ok := r.newest[h]; ok && rev > old {
		r.newest[h] = rev
	}
	r.mu.Unlock()
}

func (r *kvRevisions) current() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.epoch
}

func (r *kvRevisions) lookup(h uint64) (epoch, newest uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.epoch, r.newest[h]
}

// bucketCreated is the bucket's creation when the watch of epoch began,
// learnt now (created) if it was not known then; ok is false once another
// watch runs.
func (r *kvRevisions) bucketCreated(epoch uint64, created time.Time) (t time.Time, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if epoch == 0 || r.epoch != epoch {
		return time.Time{}, false
	}
	if r.created.IsZero() {
		r.created = created
	}
	return r.created, true
}

// sawRevision records, e locked, that this node read or wrote revision
// rev of e's key while the watch of epoch ran (0: none ran; then nothing
// is known). It returns the revision recorded before in that epoch (0:
// none): one above rev means the bucket went back or a replica lags.
func (e *entry) sawRevision(rev, epoch uint64) (before uint64) {
	if e.revEpoch == epoch {
		before = e.rev
	}
	e.rev, e.revEpoch = rev, epoch
	if epoch == 0 {
		e.rev = 0
	}
	return before
}

// kvNewer reports, e locked, whether KV may hold a value of key newer
// than what this node read or wrote: always, unless a watch runs that
// began before this node's last read or write of the key and has seen
// nothing newer since. epoch and newest go to readKV.
//
// A skip that should have read costs at most a collection this node did
// not need, or another node's newer alias seen one refresh later: a copy
// older than the refresh policy allows is collected again whatever KV
// holds. No read is forced at a count of skips: a Get of a value written
// an interval ago loads its block (the reason for the watch), and a few
// such reads a second keep every recent block in memory.
func (c *Cache) kvNewer(key string, e *entry) (read bool, epoch, newest uint64) {
	epoch, newest = c.revs.lookup(kvHash(key))
	if c.opts.KV != nil && epoch != 0 && e.revEpoch == epoch && newest <= e.rev {
		c.m.kvReads[kvSkipped].Inc()
		return false, epoch, newest
	}
	return true, epoch, newest
}

// readKV reads key from KV and records on e (not locked) the revision
// read: 0 when the key is absent (a replica that lags may not have it
// yet; a deleted key is read again until this node writes it). A revision
// read below what this node saw is a lagging replica's (the next visit
// reads again: the watch's newest stays above it) or a bucket that went
// back (checkBucket).
func (c *Cache) readKV(ctx context.Context, key string, e *entry, epoch, newest uint64) *Device {
	d, rev, ok := c.fromKV(ctx, key)
	if !ok {
		return d
	}
	e.mu.Lock()
	before := e.sawRevision(rev, epoch)
	e.mu.Unlock()
	if rev != 0 && epoch != 0 && (rev < newest || rev < before) {
		c.checkBucket(ctx, epoch, max(newest, before), true)
	}
	return d
}

// checkBucket compares the bucket's last revision and creation with seen,
// a revision this node saw written, and the creation when the watch
// began: when the bucket went back (deleted and created again, or a bus
// server lost writes) the watch follows sequences that no longer come,
// so it is restarted (a new epoch: each key is read again once). Only
// the watch of epoch is restarted (a read made under an earlier one asks
// nothing). limited: at most once per checkEvery (a read that met an
// older revision than seen).
//
// Writes lost and then written over (LastSeq past seen again by the next
// check) are not detected: such a key is read again when a later write
// of it is seen, or collected when its copy is older than the refresh.
func (c *Cache) checkBucket(ctx context.Context, epoch, seen uint64, limited bool) {
	if limited {
		now, last := time.Now().UnixNano(), c.lastCheck.Load()
		if now-last < int64(c.checkEvery) || !c.lastCheck.CompareAndSwap(last, now) {
			return
		}
	}
	info := c.bucketInfo(ctx)
	if info == nil {
		return
	}
	created, ok := c.revs.bucketCreated(epoch, info.Created)
	if !ok {
		return
	}
	if info.State.LastSeq >= seen && info.Created.Equal(created) {
		if limited {
			c.log.Debug("enrichment KV answered an older revision than seen (a lagging replica, or writes lost); the next visit reads again",
				"seen_revision", seen, "last_revision", info.State.LastSeq)
		}
		return
	}
	c.log.Info("enrichment KV bucket went back (created again, or a bus server lost writes); restarting its watch",
		"seen_revision", seen, "last_revision", info.State.LastSeq)
	select {
	case c.rewatch <- struct{}{}:
	default:
	}
}

// bucketInfo is the bucket's stream info (nil when unknown), from the
// stream's leader: not a replica's direct get.
func (c *Cache) bucketInfo(ctx context.Context) *jetstream.StreamInfo {
	if c.opts.KV == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, kvTimeout)
	defer cancel()
	st, err := c.opts.KV.Status(ctx)
	if err != nil {
		c.log.Debug("enrichment KV status failed", "err", err)
		return nil
	}
	if b, ok := st.(*jetstream.KeyValueBucketStatus); ok && b.StreamInfo() != nil {
		return b.StreamInfo()
	}
	return nil
}

// beginWatch starts the epoch of a watch that just began, on the bucket
// created at created (zero: unknown; the first check learns it).
func (c *Cache) beginWatch(created time.Time) {
	c.mu.Lock()
	held := make([]uint64, 0, len(c.entries))
	for k := range c.entries {
		held = append(held, kvHash(k))
	}
	c.revs.begin(held, created) // under c.mu: no entry made meanwhile is missed
	c.mu.Unlock()
}

// WatchKV follows the bucket's writes until ctx ends, restarting the watch
// when it fails; ready (if not nil) is closed once the first attempt
// ended. Without it every visit and stale lookup reads KV.
func (c *Cache) WatchKV(ctx context.Context, ready chan<- struct{}) {
	signal := func() {
		if ready != nil {
			close(ready)
			ready = nil
		}
	}
	defer signal()
	if c.opts.KV == nil {
		return
	}
	for wait := time.Second; ; wait = min(2*wait, 30*time.Second) {
		select {
		case <-c.rewatch: // asked of an earlier watch
		default:
		}
		// The creation before the watch: a bucket created again in between
		// is then seen as new by the first check (one restart too many at
		// worst), not taken for the watched one.
		var created time.Time
		if info := c.bucketInfo(ctx); info != nil {
			created = info.Created
		}
		w, err := c.opts.KV.WatchAll(ctx, jetstream.MetaOnly(), jetstream.UpdatesOnly())
		if err == nil {
			wait = time.Second
			c.beginWatch(created)
			signal()
			c.follow(ctx, w)
			c.revs.end()
			_ = w.Stop()
		} else if ctx.Err() == nil {
			c.log.Warn("enrichment KV watch failed; every visit reads KV until it runs", "err", err, "retry_in", wait)
		}
		signal()
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// follow records the watch's updates until it ends, ctx does, or the
// bucket went back (checked every checkEvery).
func (c *Cache) follow(ctx context.Context, w jetstream.KeyWatcher) {
	check := time.NewTicker(c.checkEvery)
	defer check.Stop()
	epoch := c.revs.current()
	var seen uint64 // the newest revision the watch delivered
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.rewatch:
			return
		case <-check.C:
			c.checkBucket(ctx, epoch, seen, false)
		case u, ok := <-w.Updates():
			if !ok {
				if ctx.Err() == nil {
					c.log.Warn("enrichment KV watch ended; restarting it")
				}
				return
			}
			if u == nil {
				continue // the end of the initial values (none: updates only)
			}
			seen = max(seen, u.Revision())
			k := u.Key()
			if len(k) < 2 || k[0] != 'e' {
				continue
			}
			if h, err := strconv.ParseUint(k[1:], 16, 64); err == nil {
				c.revs.saw(h, u.Revision())
			}
		}
	}
}
