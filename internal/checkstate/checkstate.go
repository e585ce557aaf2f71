// Package checkstate is what a node remembers of the checks it runs, for
// the status page: per check its last run (start, end, status, reason,
// next due), a short history of statuses, and where the groups its last
// poll published sit in the bus (stream and sequence, from the publish
// acks), so that a page can fetch them from the stream instead of the node
// keeping a copy. The collector records; the web package reads. Nothing
// here is written to the bus or to KV: a node answers for its own checks
// (its peers ask it over NATS).
package checkstate

import (
	"hash/maphash"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panoptes-go/panoptes/internal/wire"
)

// HistoryLen is how many past runs a check keeps (its status history on
// the device page): an hour of one-minute checks, 16 minutes of 15 s ones.
const HistoryLen = 64

// MessageRef locates one bus message: the stream that stored it and its
// sequence there (what bus.PublishSetRefs returns).
type MessageRef = wire.Ref

// Run is the outcome of one check run, as the collector records it.
type Run struct {
	Plugin   string        // polling plugin instance
	Interval time.Duration // the check's interval
	Start    time.Time
	End      time.Time
	Status   int    // polling status (metric.Status*)
	Reason   string // why it failed, "" on success; never a secret
	NextDue  time.Time
	// Messages are the bus messages the run's groups went to; empty when
	// the bus did not acknowledge them in time (they were buffered) or
	// did not report where.
	Messages []MessageRef
}

// Point is one past run in a check's history.
type Point struct {
	End      time.Time     `json:"end"`
	Status   int           `json:"status"`
	Duration time.Duration `json:"duration_ns"`
}

// Check is what is known of one (plugin, resource) check.
type Check struct {
	Last    Run
	History []Point // oldest first, at most HistoryLen
}

// Entry is one check's record, its history a ring. A collector keeps its
// check's Entry (Book.Entry) and records each run into it: no lookup, and
// only this check's lock, on the path every check run takes.
type Entry struct {
	mu      sync.Mutex
	removed atomic.Bool // dropped from the book: ask Book.Entry again
	last    Run
	ring    *[HistoryLen]point // apart and pointer-free: the GC never scans it
	head    int                // next slot to write
	n       int                // points held
}

// point is a Point held compactly. A node with 50,000 checks holds 3.2M of
// them: as Points (a time.Time each, with its *Location) they were 130 MB
// of heap the GC scanned every cycle, which cost a node at 50,000 light
// checks/s enough CPU to fall behind.
type point struct {
	end    int64 // Unix nanoseconds
	dur    int64 // nanoseconds
	status int32
}

// Record stores run as the entry's latest; the entry owns run.Messages
// from then on.
func (e *Entry) Record(run Run) {
	e.mu.Lock()
	e.last = run
	if e.ring == nil {
		e.ring = new([HistoryLen]point)
	}
	e.ring[e.head] = point{end: run.End.UnixNano(), dur: int64(run.End.Sub(run.Start)), status: int32(run.Status)}
	e.head = (e.head + 1) % HistoryLen
	e.n = min(e.n+1, HistoryLen)
	e.mu.Unlock()
}

// Removed reports whether the book dropped the entry (Retain, Forget):
// runs recorded into it are no longer seen.
func (e *Entry) Removed() bool { return e.removed.Load() }

func (e *Entry) lastRun() Run {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.last
}

// check copies the entry out.
func (e *Entry) check() Check {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := Check{Last: e.last, History: make([]Point, 0, e.n)}
	c.Last.Messages = slices.Clone(e.last.Messages)
	for i := range e.n {
		p := e.ring[(e.head-e.n+i+HistoryLen)%HistoryLen]
		c.History = append(c.History, Point{End: time.Unix(0, p.end), Status: int(p.status), Duration: time.Duration(p.dur)})
	}
	return c
}

// Book holds the records of this node's checks, by resource key and
// plugin. Safe for concurrent use; its zero value is not ready: use New.
// Every check run records here (50,000 a second on a busy node, from up
// to max_concurrent_checks workers), into its own Entry; the maps, split
// in shards by resource key, are touched when a check first runs and by
// the page's readers.
type Book struct {
	seed   maphash.Seed
	shards [bookShards]shard
}

const bookShards = 64

type shard struct {
	mu    sync.RWMutex
	byRes map[string]map[string]*Entry // resource key → plugin → state
	_     [32]byte                     // 64 bytes a shard: no false sharing between their locks
}

// New returns an empty book.
func New() *Book {
	b := &Book{seed: maphash.MakeSeed()}
	for i := range b.shards {
		b.shards[i].byRes = map[string]map[string]*Entry{}
	}
	return b
}

func (b *Book) shard(resKey string) *shard {
	return &b.shards[maphash.String(b.seed, resKey)%bookShards]
}

// Entry returns the record of check plugin on resource resKey, made on
// first use.
func (b *Book) Entry(resKey, plugin string) *Entry {
	sh := b.shard(resKey)
	sh.mu.RLock()
	e := sh.byRes[resKey][plugin]
	sh.mu.RUnlock()
	if e != nil {
		return e
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	plugins := sh.byRes[resKey]
	if plugins == nil {
		plugins = map[string]*Entry{}
		sh.byRes[resKey] = plugins
	}
	if e = plugins[plugin]; e == nil {
		e = &Entry{}
		plugins[plugin] = e
	}
	return e
}

// Record stores run as the latest of its check on resource resKey (a copy
// of run.Messages).
func (b *Book) Record(resKey string, run Run) {
	run.Messages = slices.Clone(run.Messages)
	b.Entry(resKey, run.Plugin).Record(run)
}

// Retain forgets the resources for which keep is false: no longer owned,
// or gone from the inventory.
func (b *Book) Retain(keep func(resKey string) bool) {
	for i := range b.shards {
		sh := &b.shards[i]
		sh.mu.Lock()
		for k, plugins := range sh.byRes {
			if !keep(k) {
				for _, e := range plugins {
					e.removed.Store(true)
				}
				delete(sh.byRes, k)
			}
		}
		sh.mu.Unlock()
	}
}

// Forget drops one check of a resource (a plugin removed from the config
// or whose filter no longer matches).
func (b *Book) Forget(resKey, plugin string) {
	sh := b.shard(resKey)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if plugins := sh.byRes[resKey]; plugins != nil {
		if e := plugins[plugin]; e != nil {
			e.removed.Store(true)
		}
		delete(plugins, plugin)
		if len(plugins) == 0 {
			delete(sh.byRes, resKey)
		}
	}
}

// Checks returns copies of the resource's checks, by plugin name order;
// nil when none ran here.
func (b *Book) Checks(resKey string) []Check {
	sh := b.shard(resKey)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	plugins := sh.byRes[resKey]
	if len(plugins) == 0 {
		return nil
	}
	out := make([]Check, 0, len(plugins))
	for _, e := range plugins {
		out = append(out, e.check())
	}
	slices.SortFunc(out, func(a, b Check) int { return strings.Compare(a.Last.Plugin, b.Last.Plugin) })
	return out
}

// Summary is a resource's checks in one line: what a device list shows.
type Summary struct {
	// Status is the worst (first failing, by plugin name) last status of
	// its checks: 0 when every check succeeded last time.
	Status int
	// Plugin and Reason are those of the failing check ("" when none).
	Plugin, Reason string
	LastEnd        time.Time // the latest end of its checks
	NextDue        time.Time // the earliest next due time of its checks
	Checks         int
}

// Each calls fn with the summary of every resource that has a record, in
// no particular order, without holding the book's lock for fn (the
// summaries are computed first).
func (b *Book) Each(fn func(resKey string, s Summary)) {
	type entry struct {
		key string
		s   Summary
	}
	var all []entry
	for i := range b.shards {
		sh := &b.shards[i]
		sh.mu.RLock()
		for k, plugins := range sh.byRes {
			all = append(all, entry{k, summarize(plugins)})
		}
		sh.mu.RUnlock()
	}
	for _, e := range all {
		fn(e.key, e.s)
	}
}

// Summary is one resource's summary; false when none of its checks ran here.
func (b *Book) Summary(resKey string) (Summary, bool) {
	sh := b.shard(resKey)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	plugins := sh.byRes[resKey]
	if len(plugins) == 0 {
		return Summary{}, false
	}
	return summarize(plugins), true
}

// Len is the number of resources with a record.
func (b *Book) Len() int {
	n := 0
	for i := range b.shards {
		sh := &b.shards[i]
		sh.mu.RLock()
		n += len(sh.byRes)
		sh.mu.RUnlock()
	}
	return n
}

func summarize(plugins map[string]*Entry) Summary {
	s := Summary{Checks: len(plugins)}
	failing := ""
	for name, e := range plugins {
		last := e.lastRun()
		if last.End.After(s.LastEnd) {
			s.LastEnd = last.End
		}
		if !last.NextDue.IsZero() && (s.NextDue.IsZero() || last.NextDue.Before(s.NextDue)) {
			s.NextDue = last.NextDue
		}
		if last.Status != 0 && (failing == "" || name < failing) {
			failing = name
			s.Status, s.Plugin, s.Reason = last.Status, name, last.Reason
		}
	}
	return s
}
