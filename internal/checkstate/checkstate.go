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
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panoptes-go/panoptes/internal/wire"
)

// HistoryLen is how many points a check's history keeps (its status strip
// on the device page): an hour of one-minute checks, 16 minutes of 15 s
// ones, 10 minutes of checks at SampleEvery or less.
const HistoryLen = 64

// SampleEvery is the least time one history point covers. A check with a
// shorter interval (a light check every second) adds a point per
// SampleEvery, summing up its runs there, instead of a point per run: 64
// points then span 10 minutes rather than a minute, and a node at 50,000
// light checks/s writes 5,000 points a second instead of 50,000, each
// into memory that left the CPU's cache since the check's last run.
const SampleEvery = 10 * time.Second

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

// Point is a check's history at one time: one run or, for a check with an
// interval under SampleEvery, the runs of up to SampleEvery.
type Point struct {
	End time.Time `json:"end"` // the last run's end
	// Status is the last failed run's status; 0 when every run succeeded.
	Status   int           `json:"status"`
	Duration time.Duration `json:"duration_ns"` // the longest run's
	Runs     int           `json:"runs"`        // runs the point covers
	Failed   int           `json:"failed"`      // of them failed
}

// Check is what is known of one (plugin, resource) check.
type Check struct {
	Last    Run
	History []Point // oldest first, at most HistoryLen
}

// Entry is one check's record. A collector keeps its check's Entry
// (Book.Entry) and records each run into it: no lookup, no allocation and
// only this check's lock on the path every check run takes. The last run
// is held in a few words (times as Unix nanoseconds) beside the history
// point being filled, so that a record touches little memory besides the
// ring, which it writes once per point.
type Entry struct {
	mu      sync.Mutex
	name    string      // the plugin it is kept under in the book; never changes
	removed atomic.Bool // dropped from the book: ask Book.Entry again
	head    uint8       // next ring slot to write
	n       uint8       // closed points in the ring

	// The last run (its plugin is name); its Messages are the entry's own
	// (reused).
	interval            time.Duration
	start, end, nextDue int64 // Unix nanoseconds; 0: none (a zero time)
	status              int
	reason              string
	messages            []MessageRef
	open                point // the point being filled (open.runs > 0)
	openFrom            int64 // the end of its first run
	ringBase            int64 // Unix milliseconds the ring's ends count from
	ring                *ring // apart and pointer-free: the GC never scans it
}

// ring is the closed points, by column: 9 bytes a point, 576 a check (in
// 16-byte points it was 1 KB a check, the book's largest part at 10,000
// devices). Ends are milliseconds after the entry's ringBase (49 days of
// range: rebase moves it), durations in durCode.
type ring struct {
	end          [HistoryLen]uint32
	dur          [HistoryLen]uint16
	status       [HistoryLen]uint8 // polling statuses are 0..8; saturates at 255
	runs, failed [HistoryLen]uint8
}

// put stores p at slot i (p.end relative to base, in milliseconds).
func (r *ring) put(i int, p point, end uint32) {
	r.end[i], r.dur[i] = end, durCode(time.Duration(p.dur)*time.Microsecond)
	r.status[i] = uint8(min(p.status, math.MaxUint8))
	r.runs[i], r.failed[i] = p.runs, p.failed
}

func (r *ring) point(i int, base int64) Point {
	return Point{End: time.UnixMilli(base + int64(r.end[i])), Status: int(r.status[i]), Duration: durOf(r.dur[i]),
		Runs: int(r.runs[i]), Failed: int(r.failed[i])}
}

// durCode packs a duration in 16 bits as a decimal float: 12 bits of
// microseconds times 10 to a 4-bit exponent (at most 9: 47 days, where it
// saturates). Exact to the microsecond up to 4 ms, to three digits or
// better beyond (1.234567 s is 1.234 s).
func durCode(d time.Duration) uint16 {
	us := uint64(max(d/time.Microsecond, 0))
	e := uint16(0)
	for us > 4095 && e < 9 {
		us /= 10
		e++
	}
	return e<<12 | uint16(min(us, 4095))
}

func durOf(c uint16) time.Duration {
	d := time.Duration(c & 4095)
	for range c >> 12 {
		d *= 10
	}
	return d * time.Microsecond
}

// point is a Point in 16 bytes. A node with 50,000 checks holds 3.2M of
// them: as Points (a time.Time each, with its *Location) they were 130 MB
// of heap the GC scanned every cycle, which cost a node at 50,000 light
// checks/s enough CPU to fall behind.
type point struct {
	end    int64  // Unix nanoseconds
	dur    uint32 // microseconds, at most ~71 minutes
	status uint16
	runs   uint8 // at most 255: counting stops there
	failed uint8
}

func (p point) Point() Point {
	return Point{End: time.Unix(0, p.end), Status: int(p.status), Duration: time.Duration(p.dur) * time.Microsecond,
		Runs: int(p.runs), Failed: int(p.failed)}
}

// add merges one run into p.
func (p *point) add(end int64, dur time.Duration, status int) {
	p.end = end
	p.dur = max(p.dur, uint32(min(max(dur/time.Microsecond, 0), math.MaxUint32)))
	if p.runs < math.MaxUint8 {
		p.runs++
	}
	if status != 0 {
		p.status = uint16(min(max(status, 0), math.MaxUint16))
		if p.failed < math.MaxUint8 {
			p.failed++
		}
	}
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

// Record stores run as the entry's latest, with a copy of run.Messages:
// the caller may reuse their array.
func (e *Entry) Record(run Run) {
	end := unixNano(run.End)
	e.mu.Lock()
	e.interval, e.status, e.reason = run.Interval, run.Status, run.Reason
	e.start, e.end, e.nextDue = unixNano(run.Start), end, unixNano(run.NextDue)
	e.messages = append(e.messages[:0], run.Messages...)
	// A point is closed (into the ring) by the first run that does not
	// fit in it: every run when the interval is SampleEvery or more.
	if e.open.runs > 0 && (run.Interval >= SampleEvery || end-e.openFrom >= int64(SampleEvery)) {
		if e.ring == nil {
			e.ring = new(ring)
		}
		e.ring.put(int(e.head), e.open, e.ringEnd(e.open.end))
		e.head = (e.head + 1) % HistoryLen
		e.n = min(e.n+1, HistoryLen-1) // the open point is the history's newest
		e.open = point{}
	}
	if e.open.runs == 0 {
		e.openFrom = end
	}
	e.open.add(end, run.End.Sub(run.Start), run.Status)
	e.mu.Unlock()
}

// ringEnd is end (Unix nanoseconds) in the ring's milliseconds, moving
// the ring's base when end is before it (the clock went back) or more
// than 49 days after it.
func (e *Entry) ringEnd(end int64) uint32 {
	ms := end / int64(time.Millisecond)
	if e.ringBase == 0 || ms < e.ringBase || ms-e.ringBase > math.MaxUint32 {
		e.rebase(ms)
	}
	return uint32(ms - e.ringBase)
}

// rebase makes the base the earliest of ms and the ring's ends, so far as
// ms stays in range; ends older than the range read as its start.
func (e *Entry) rebase(ms int64) {
	base := ms
	for i := range int(e.n) {
		base = min(base, e.ringBase+int64(e.ring.end[e.slot(i)]))
	}
	base = max(base, ms-math.MaxUint32)
	for i := range int(e.n) {
		j := e.slot(i)
		e.ring.end[j] = uint32(min(max(e.ringBase+int64(e.ring.end[j])-base, 0), math.MaxUint32))
	}
	e.ringBase = base
}

// slot is the ring's index of the i-th oldest closed point.
func (e *Entry) slot(i int) int { return (int(e.head) - int(e.n) + i + HistoryLen) % HistoryLen }

// Removed reports whether the book dropped the entry (Retain, Forget):
// runs recorded into it are no longer seen.
func (e *Entry) Removed() bool { return e.removed.Load() }

// lastLocked is the last run, its Messages the entry's own (clone them to
// keep them).
func (e *Entry) lastLocked() Run {
	return Run{Plugin: e.name, Interval: e.interval, Start: fromUnixNano(e.start), End: fromUnixNano(e.end),
		Status: e.status, Reason: e.reason, NextDue: fromUnixNano(e.nextDue), Messages: e.messages}
}

// summary is what summarize needs of the last run.
func (e *Entry) summary() (end, nextDue int64, status int, reason string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.end, e.nextDue, e.status, e.reason
}

// check copies the entry out.
func (e *Entry) check() Check {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := Check{Last: e.lastLocked(), History: make([]Point, 0, int(e.n)+1)}
	c.Last.Messages = slices.Clone(e.messages)
	for i := range int(e.n) {
		c.History = append(c.History, e.ring.point(e.slot(i), e.ringBase))
	}
	if e.open.runs > 0 {
		c.History = append(c.History, e.open.Point())
	}
	return c
}

// Book holds the records of this node's checks, by resource key and
// plugin. Safe for concurrent use; its zero value is not ready: use New.
// Every check run records here (50,000 a second on a busy node, from up
// to max_concurrent_checks workers), into its own Entry; the maps, split
// in shards by resource key, are touched when a check first runs and by
// the page's readers. A resource's entries are a slice sorted by plugin,
// not a map: a resource has a few checks (one on most devices), and a map
// of one cost ~250 bytes a resource where the slice costs 8.
type Book struct {
	seed   maphash.Seed
	shards [bookShards]shard
}

const bookShards = 64

type shard struct {
	mu    sync.RWMutex
	byRes map[string][]*Entry // resource key → its entries, by plugin name
	_     [32]byte            // 64 bytes a shard: no false sharing between their locks
}

// New returns an empty book.
func New() *Book {
	b := &Book{seed: maphash.MakeSeed()}
	for i := range b.shards {
		b.shards[i].byRes = map[string][]*Entry{}
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
	entries := sh.byRes[resKey]
	i, found := search(entries, plugin)
	sh.mu.RUnlock()
	if found {
		return entries[i]
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	entries = sh.byRes[resKey]
	if i, found = search(entries, plugin); found {
		return entries[i]
	}
	e := &Entry{name: plugin}
	sh.byRes[resKey] = slices.Insert(slices.Clip(entries), i, e) // a new array: readers may hold the old
	return e
}

// search finds plugin's place in entries (sorted by name).
func search(entries []*Entry, plugin string) (int, bool) {
	return slices.BinarySearchFunc(entries, plugin, func(e *Entry, name string) int { return strings.Compare(e.name, name) })
}

// Record stores run as the latest of its check on resource resKey (a copy
// of run.Messages).
func (b *Book) Record(resKey string, run Run) {
	b.Entry(resKey, run.Plugin).Record(run)
}

// Retain forgets the resources for which keep is false: no longer owned,
// or gone from the inventory.
func (b *Book) Retain(keep func(resKey string) bool) {
	for i := range b.shards {
		sh := &b.shards[i]
		sh.mu.Lock()
		for k, entries := range sh.byRes {
			if !keep(k) {
				for _, e := range entries {
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
	entries := sh.byRes[resKey]
	i, found := search(entries, plugin)
	if !found {
		return
	}
	entries[i].removed.Store(true)
	if len(entries) == 1 {
		delete(sh.byRes, resKey)
		return
	}
	sh.byRes[resKey] = slices.Delete(slices.Clone(entries), i, i+1) // a new array: readers may hold the old
}

// Checks returns copies of the resource's checks, by plugin name order;
// nil when none ran here.
func (b *Book) Checks(resKey string) []Check {
	sh := b.shard(resKey)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	entries := sh.byRes[resKey]
	if len(entries) == 0 {
		return nil
	}
	out := make([]Check, 0, len(entries))
	for _, e := range entries {
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
		for k, entries := range sh.byRes {
			all = append(all, entry{k, summarize(entries)})
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
	entries := sh.byRes[resKey]
	if len(entries) == 0 {
		return Summary{}, false
	}
	return summarize(entries), true
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

func summarize(entries []*Entry) Summary {
	s := Summary{Checks: len(entries)}
	var lastEnd, nextDue int64
	failing := ""
	for _, e := range entries {
		name := e.name
		end, due, status, reason := e.summary()
		lastEnd = max(lastEnd, end)
		if due != 0 && (nextDue == 0 || due < nextDue) {
			nextDue = due
		}
		if status != 0 && (failing == "" || name < failing) {
			failing = name
			s.Status, s.Plugin, s.Reason = status, name, reason
		}
	}
	s.LastEnd, s.NextDue = fromUnixNano(lastEnd), fromUnixNano(nextDue)
	return s
}
