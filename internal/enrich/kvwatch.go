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
	mu     sync.Mutex
	epoch  uint64            // the running watch's; 0 while none runs
	began  uint64            // watches begun
	newest map[uint64]uint64 // by kvHash: the newest revision written since the watch began
}

// begin starts a new epoch: a watch now receives every later write.
func (r *kvRevisions) begin() {
	r.mu.Lock()
	r.began++
	r.epoch, r.newest = r.began, map[uint64]uint64{}
	r.mu.Unlock()
}

// end: the watch stopped; nothing is known until the next one begins.
func (r *kvRevisions) end() {
	r.mu.Lock()
	r.epoch, r.newest = 0, nil
	r.mu.Unlock()
}

func (r *kvRevisions) saw(h, rev uint64) {
	r.mu.Lock()
	if r.newest != nil && rev > r.newest[h] {
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

// sawRevision records, e locked, that this node read or wrote revision
// rev of e's key while the watch of epoch ran (0: none ran; then nothing
// is known).
func (e *entry) sawRevision(rev, epoch uint64) {
	switch {
	case epoch == 0:
		e.rev, e.revEpoch = 0, 0
	case e.revEpoch == epoch:
		e.rev = max(e.rev, rev)
	default:
		e.rev, e.revEpoch = rev, epoch
	}
}

// kvNewer reports, e locked, whether KV may hold a value of key newer
// than what this node read or wrote: always, unless a watch runs that
// began before this node's last read or write of the key and has seen
// nothing newer since. epoch and newest go to readKV.
func (c *Cache) kvNewer(key string, e *entry) (read bool, epoch, newest uint64) {
	epoch, newest = c.revs.lookup(kvHash(key))
	if c.opts.KV != nil && epoch != 0 && e.revEpoch == epoch && newest <= e.rev {
		c.m.kvReads[kvSkipped].Inc()
		return false, epoch, newest
	}
	return true, epoch, newest
}

// readKV reads key from KV and records on e (not locked) the revision now
// known: the one read, or the watch's newest before the read (a deleted
// key reads as absent).
func (c *Cache) readKV(ctx context.Context, key string, e *entry, epoch, newest uint64) *Device {
	d, rev, ok := c.fromKV(ctx, key)
	if ok {
		e.mu.Lock()
		e.sawRevision(max(rev, newest), epoch)
		e.mu.Unlock()
	}
	return d
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
		w, err := c.opts.KV.WatchAll(ctx, jetstream.MetaOnly(), jetstream.UpdatesOnly())
		if err == nil {
			wait = time.Second
			c.revs.begin()
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

// follow records the watch's updates until it ends or ctx does.
func (c *Cache) follow(ctx context.Context, w jetstream.KeyWatcher) {
	for {
		select {
		case <-ctx.Done():
			return
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
