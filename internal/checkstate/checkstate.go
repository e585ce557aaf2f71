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
	"slices"
	"strings"
	"sync"
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

// checkState is a check's record, its history a ring.
type checkState struct {
	last Run
	ring [HistoryLen]Point
	head int // next slot to write
	n    int // points held
}

// Book holds the records of this node's checks, by resource key and
// plugin. Safe for concurrent use; its zero value is not ready: use New.
type Book struct {
	mu    sync.RWMutex
	byRes map[string]map[string]*checkState // resource key → plugin → state
}

// New returns an empty book.
func New() *Book { return &Book{byRes: map[string]map[string]*checkState{}} }

// Record stores run as the latest of its check on resource resKey.
func (b *Book) Record(resKey string, run Run) {
	run.Messages = slices.Clone(run.Messages)
	b.mu.Lock()
	defer b.mu.Unlock()
	plugins := b.byRes[resKey]
	if plugins == nil {
		plugins = map[string]*checkState{}
		b.byRes[resKey] = plugins
	}
	st := plugins[run.Plugin]
	if st == nil {
		st = &checkState{}
		plugins[run.Plugin] = st
	}
	st.last = run
	st.ring[st.head] = Point{End: run.End, Status: run.Status, Duration: run.End.Sub(run.Start)}
	st.head = (st.head + 1) % HistoryLen
	st.n = min(st.n+1, HistoryLen)
}

// Retain forgets the resources for which keep is false: no longer owned,
// or gone from the inventory.
func (b *Book) Retain(keep func(resKey string) bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for k := range b.byRes {
		if !keep(k) {
			delete(b.byRes, k)
		}
	}
}

// Forget drops one check of a resource (a plugin removed from the config
// or whose filter no longer matches).
func (b *Book) Forget(resKey, plugin string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if plugins := b.byRes[resKey]; plugins != nil {
		delete(plugins, plugin)
		if len(plugins) == 0 {
			delete(b.byRes, resKey)
		}
	}
}

// Checks returns copies of the resource's checks, by plugin name order;
// nil when none ran here.
func (b *Book) Checks(resKey string) []Check {
	b.mu.RLock()
	defer b.mu.RUnlock()
	plugins := b.byRes[resKey]
	if len(plugins) == 0 {
		return nil
	}
	out := make([]Check, 0, len(plugins))
	for _, st := range plugins {
		c := Check{Last: st.last, History: make([]Point, 0, st.n)}
		c.Last.Messages = slices.Clone(st.last.Messages)
		for i := range st.n {
			c.History = append(c.History, st.ring[(st.head-st.n+i+HistoryLen)%HistoryLen])
		}
		out = append(out, c)
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
	b.mu.RLock()
	all := make([]entry, 0, len(b.byRes))
	for k, plugins := range b.byRes {
		all = append(all, entry{k, summarize(plugins)})
	}
	b.mu.RUnlock()
	for _, e := range all {
		fn(e.key, e.s)
	}
}

// Summary is one resource's summary; false when none of its checks ran here.
func (b *Book) Summary(resKey string) (Summary, bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	plugins := b.byRes[resKey]
	if len(plugins) == 0 {
		return Summary{}, false
	}
	return summarize(plugins), true
}

// Len is the number of resources with a record.
func (b *Book) Len() int {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return len(b.byRes)
}

func summarize(plugins map[string]*checkState) Summary {
	s := Summary{Checks: len(plugins)}
	failing := ""
	for name, st := range plugins {
		if st.last.End.After(s.LastEnd) {
			s.LastEnd = st.last.End
		}
		if !st.last.NextDue.IsZero() && (s.NextDue.IsZero() || st.last.NextDue.Before(s.NextDue)) {
			s.NextDue = st.last.NextDue
		}
		if st.last.Status != 0 && (failing == "" || name < failing) {
			failing = name
			s.Status, s.Plugin, s.Reason = st.last.Status, name, st.last.Reason
		}
	}
	return s
}
