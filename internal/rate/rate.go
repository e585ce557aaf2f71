// Package rate turns counters into per-second rates at the edge: a gauge
// `<counter>_rate` beside each selected counter, right across 32-bit wraps,
// agent restarts, counter discontinuities and missed polls.
//
// The previous sample of every series is kept in memory and written, one
// KV entry per resource, to the JetStream KV bucket panoptes_rate_state
// every FlushInterval, so a restarted node (or the node a resource moves
// to) computes the next rate instead of starting over.
package rate

import (
	"context"
	"errors"
	"hash/fnv"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/resource"
)

// Options configure a Processor. Zero values take the defaults.
type Options struct {
	// KV stores the previous samples (see OpenBucket); nil keeps them in
	// memory only.
	KV jetstream.KeyValue
	// FlushInterval is how often changed state is written to KV: a node
	// that dies loses at most this much, which only costs the rates of
	// the polls in it. Default 30s.
	FlushInterval time.Duration
	// MaxGap: a rate needs Δt ≤ MaxGap × the group's interval (missed
	// polls beyond that give no rate). Default 3; negative: no limit.
	MaxGap int
	// EvictAfter drops the state of a series or resource not seen for
	// this long (removed interfaces, resources gone). Default 1h.
	EvictAfter time.Duration
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Processor computes rates. It is safe for concurrent use.
type Processor struct {
	opts Options
	log  *slog.Logger
	m    *metrics

	mu  sync.Mutex
	res map[string]*resState // by resource key
}

// resState is the previous samples of one resource's series.
type resState struct {
	mu       sync.Mutex
	key      string // resource key
	loaded   bool   // KV consulted
	dirty    bool   // changed since the last flush
	lastUsed time.Time
	slot     uint32 // its share of a spread flush (a hash of key)
	pos      positional
	series   *table // by series hash: Swap's, and those pos does not hold (see positional); nil: none
}

// table returns st.series, made when st has none.
func (st *resState) table() *table {
	if st.series == nil {
		st.series = &table{}
	}
	return st.series
}

// New returns a Processor.
func New(opts Options) *Processor {
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = 30 * time.Second
	}
	if opts.MaxGap == 0 {
		opts.MaxGap = 3
	}
	if opts.EvictAfter <= 0 {
		opts.EvictAfter = time.Hour
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Processor{opts: opts, log: log, m: newMetrics(opts.Registerer), res: map[string]*resState{}}
}

// Apply adds `<counter>_rate` gauges to the groups of set for the counters
// sel selects, and records the counters as the previous samples. now is
// the check's time (eviction bookkeeping); rates use the metrics' own
// timestamps. The first poll of a resource since this node started reads
// its state from KV (ctx bounds that read).
func (p *Processor) Apply(ctx context.Context, set *metric.GroupSet, sel Selector, now time.Time) {
	if set == nil || sel.Empty() {
		return
	}
	growAll(set.Groups, sel)
	var (
		st    *resState
		last  *resource.Resource // st's: a set's groups share one (Key builds a string)
		count [numOutcomes]int   // added to the counters once per set, not per series
	)
	run := runs.Get().(*applyRun)
	defer runs.Put(run)
	for _, g := range set.Groups {
		if g == nil || g.Resource == nil {
			continue
		}
		if g.Resource != last {
			key := g.Resource.Key()
			if st == nil || st.key != key {
				if st != nil {
					st.finish(run)
				}
				st = p.state(ctx, key, now)
				run.start()
			}
			last = g.Resource
		}
		p.applyGroup(st, run, g, sel, &count)
	}
	if st != nil {
		st.finish(run)
	}
	for out, n := range count {
		if n > 0 {
			p.m.outcomes[out].Add(float64(n))
		}
	}
}

// applyRun is an Apply's work on one resource (pooled: an Apply
// allocates nothing for it).
type applyRun struct {
	refs   []metricRef // a group's rated counters
	row    []sidx      // a slot's row being changed
	done   []bool      // the slot's series set by this poll
	order  []int       // the slots visited, in order
	seen   []bool      // scratch of finish
	missed bool        // a group was not in the slot expected
	relaid bool        // a slot was added or reshaped
	forgot bool        // a series moved from the table to its position
}

var runs = sync.Pool{New: func() any { return new(applyRun) }}

func (r *applyRun) start() {
	r.order, r.missed, r.relaid, r.forgot = r.order[:0], false, false, false
}

// finish ends an Apply's run on st and unlocks it: the slots take the
// order of a poll that visited each once in another order, slices are
// clipped after a layout change, unused stamps dropped.
func (st *resState) finish(run *applyRun) {
	ps := &st.pos
	if run.missed && len(run.order) == len(ps.slots) {
		seen := slices.Grow(run.seen[:0], len(ps.slots))[:len(ps.slots)]
		clear(seen)
		perm := true
		for _, k := range run.order {
			if seen[k] {
				perm = false
				break
			}
			seen[k] = true
		}
		run.seen = seen
		if perm && !slices.IsSorted(run.order) {
			ps.reorder(run.order)
			run.relaid = true
		}
	}
	if run.relaid {
		ps.clip()
	}
	ps.tidy()
	ps.next, ps.nextOff = 0, 0
	st.series.merge()
	if run.forgot && st.series.stored() == 0 {
		st.series = nil
	}
	st.mu.Unlock()
}

// state returns the resource's state, locked, loading it on first use.
func (p *Processor) state(ctx context.Context, key string, now time.Time) *resState {
	p.mu.Lock()
	st, ok := p.res[key]
	if !ok {
		st = &resState{key: key, slot: slotOf(key)}
		p.res[key] = st
	}
	p.mu.Unlock()
	st.mu.Lock()
	st.lastUsed = now
	if !st.loaded {
		st.loaded = true
		p.load(ctx, st)
	}
	return st
}

func (p *Processor) applyGroup(st *resState, run *applyRun, g *metric.Group, sel Selector, count *[numOutcomes]int) {
	var speed float64
	for i := len(g.Metrics) - 1; i >= 0; i-- { // from the end: the interface plugin puts it last
		if g.Metrics[i].Name == "configured_speed" {
			speed = g.Metrics[i].Value.Float64()
			break
		}
	}
	maxGap := 0.0
	if p.opts.MaxGap > 0 && g.Interval > 0 {
		maxGap = float64(p.opts.MaxGap*g.Interval) + 0.5 // poll jitter
	}
	ms := run.refs[:0]
	for i := range g.Metrics {
		m := &g.Metrics[i]
		if m.Type == metric.Counter && sel.selects(m.Name) && m.Value.IsInteger() && !m.Value.IsNegative() {
			ms = append(ms, metricRef{i: i, name: m.Name, width: widthOf(m.Value.Uint64())})
		}
	}
	run.refs = ms[:0]
	if len(ms) == 0 {
		return
	}
	h := groupHash(g)
	ps := &st.pos
	k, off, missed := ps.find(h)
	run.missed = run.missed || missed
	inOrder := k >= 0 && ps.match(k, ms)
	if !inOrder {
		k, off = ps.fit(k, off, h, ms)
		run.relaid = true
	}
	run.order = append(run.order, k)
	sh := ps.slots[k].shape
	names := sh.names
	ps.next, ps.nextOff = k+1, off+sh.units
	row := append(run.row[:0], ps.row(k)...) // set changes it, commit puts it in place
	done := slices.Grow(run.done[:0], len(names))[:len(names)]
	clear(done)
	// The slot's discontinuity time is the previous poll's until every
	// series of the group is rated; disc is the group's (the first
	// series' with one: the others with another go to the table).
	oldDisc, disc, haveDisc := ps.slots[k].disc, uint32(0), false
	for j, ref := range ms {
		if !inOrder {
			j = slices.Index(names, ref.name)
		}
		m := &g.Metrics[ref.i]
		cur := sampleOf(m)
		prevDisc := oldDisc
		if done[j] { // a counter twice in the group: rated against the first
			prevDisc = disc
		}
		prev, seen := ps.get(row, sh, j, off, prevDisc)
		loose := false
		if !seen && st.series.len() > 0 { // read from a version 1 or 2 entry, or no room for its stamp
			prev, _, seen = st.series.find(seriesHash(h, ref.name))
			loose = seen
		}
		if seen {
			r, out := compute(prev, cur, m.Hint.Bits, maxGap, maxRateFor(ref.name, speed))
			count[out]++
			if out == outStale {
				continue
			}
			if out == outRate || out == outWrap {
				g.Metrics = append(g.Metrics, metric.Metric{Name: sh.rates[j], Value: metric.Float(r),
					Type: metric.Gauge, Timestamp: cur.at})
			}
		} else {
			count[outFirst]++
		}
		st.dirty = true
		fits := true
		if cur.flags&flagDisc != 0 {
			if !haveDisc {
				disc, haveDisc = cur.disc, true
			} else {
				fits = cur.disc == disc
			}
		}
		if !fits {
			row[j] = absent
		}
		if fits && ps.set(row, sh, j, off, cur) {
			done[j] = true
			if loose {
				st.series.forget(seriesHash(h, ref.name))
				run.forgot = true
			}
		} else {
			st.table().put(seriesHash(h, ref.name), cur)
		}
	}
	if haveDisc && disc != oldDisc {
		// A series of the slot this poll did not set keeps a sample of
		// the old discontinuity time: dropped, the next rates it as a
		// first instead of across a discontinuity unseen.
		for j, x := range row {
			if !done[j] && x != absent && ps.stamps[x].flags&flagDisc != 0 {
				row[j] = absent
			}
		}
		ps.slots[k].disc = disc
	}
	ps.commit(k, row)
	run.row, run.done = row[:0], done[:0]
}

// growAll makes room for every group's rates in one allocation: one slab
// carved into full-capacity segments, rather than one growth per group
// (which was half the cost of Apply on a 48-port switch).
func growAll(groups []*metric.Group, sel Selector) {
	var buf [64]int // on the stack for a switch's groups
	wants := buf[:]
	if len(groups) > len(buf) {
		wants = make([]int, len(groups))
	}
	wants = wants[:len(groups)]
	total := 0
	for gi, g := range groups {
		if g == nil {
			continue
		}
		for i := range g.Metrics {
			if g.Metrics[i].Type == metric.Counter && sel.selects(g.Metrics[i].Name) {
				wants[gi]++
			}
		}
		if wants[gi] > 0 && cap(g.Metrics)-len(g.Metrics) < wants[gi] {
			total += len(g.Metrics) + wants[gi]
		}
	}
	if total == 0 {
		return
	}
	slab := make([]metric.Metric, 0, total)
	for gi, g := range groups {
		if g == nil || wants[gi] == 0 || cap(g.Metrics)-len(g.Metrics) >= wants[gi] {
			continue
		}
		start := len(slab)
		slab = append(slab, g.Metrics...)
		end := len(slab)
		slab = slab[:end+wants[gi]] // reserve; the segment's appends fill it
		g.Metrics = slab[start : end : end+wants[gi]]
	}
}

// groupHash identifies a group's series within its resource: type and
// dimensions, in order (plugins emit them in a fixed order). FNV-1a of
// the type, then of 0, name, 1, value for each dimension, inline (it is
// in every KV entry: the same as hash/fnv's).
func groupHash(g *metric.Group) uint64 {
	const offset, prime = 14695981039346656037, 1099511628211
	h := fnvString(offset, g.Type)
	for _, d := range g.Dimensions {
		h = fnvString((h^0)*prime, d.Name)
		h = fnvString((h^1)*prime, d.Value)
	}
	return h
}

// fnvString adds s to the FNV-1a hash h.
func fnvString(h uint64, s string) uint64 {
	const prime = 1099511628211
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= prime
	}
	return h
}

// seriesHash adds the metric name to a group hash (FNV-1a, inline: this
// runs for every counter of every poll).
func seriesHash(base uint64, name string) uint64 {
	const prime = 1099511628211
	return fnvString((base^0xff)*prime, name)
}

// flushSlots spreads the flush: Run writes a 1/flushSlots share of the
// resources every FlushInterval/flushSlots, each resource still once per
// FlushInterval. Written all at once, a flush was a burst of every
// resource's state (~17 bytes a series in version 2: 240 MB at 10,000
// switches with every counter rated; ~9 in versions 3 and 4), and the JetStream
// store keeps what it wrote in the last 10 s in memory: spread over 30 s,
// a third of it.
const flushSlots = 30

// slotOf is a resource's flush slot: a hash of its key.
func slotOf(key string) uint32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	return h.Sum32()
}

// slots is how many shares Run spreads a flush over: flushSlots, fewer
// for a FlushInterval under flushSlots seconds (at least a second apart).
func (p *Processor) slots() int {
	return max(1, min(flushSlots, int(p.opts.FlushInterval/time.Second)))
}

// Run flushes state to KV until ctx ends, each resource every
// FlushInterval (spread: see flushSlots), then all once more (bounded by
// 5 s) so a clean shutdown loses nothing.
func (p *Processor) Run(ctx context.Context) {
	n := p.slots()
	t := time.NewTicker(p.opts.FlushInterval / time.Duration(n))
	defer t.Stop()
	for tick := 0; ; tick++ {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			if err := p.Flush(fctx, time.Now()); err != nil {
				p.log.Warn("final rate state flush failed", "err", err)
			}
			cancel()
			return
		case now := <-t.C:
			if err := p.flush(ctx, now, tick%n, n); err != nil && ctx.Err() == nil {
				p.log.Warn("rate state flush failed", "err", err)
			}
		}
	}
}

// Flush writes the state of every resource that changed since the last
// flush (one KV put per resource) and evicts what was not seen for
// EvictAfter.
func (p *Processor) Flush(ctx context.Context, now time.Time) error { return p.flush(ctx, now, 0, 1) }

// flush is Flush for the resources of one slot of n.
func (p *Processor) flush(ctx context.Context, now time.Time, slot, n int) error {
	start := time.Now()
	p.mu.Lock()
	var all []*resState
	for k, st := range p.res {
		if int(st.slot%uint32(n)) != slot {
			continue
		}
		st.mu.Lock()
		idle := now.Sub(st.lastUsed) > p.opts.EvictAfter
		st.mu.Unlock()
		if idle {
			delete(p.res, k)
			continue
		}
		all = append(all, st)
	}
	p.m.resources.Set(float64(len(p.res)))
	p.mu.Unlock()

	var errs []error
	var buf []byte
	for _, st := range all {
		st.mu.Lock()
		if !st.dirty {
			st.mu.Unlock()
			continue
		}
		buf = encodeState(buf[:0], st, p.opts.EvictAfter)
		st.dirty = false
		st.mu.Unlock()
		if p.opts.KV == nil {
			continue
		}
		if _, err := p.opts.KV.Put(ctx, kvKey(st.key), buf); err != nil {
			p.m.kvErrors.WithLabelValues("put").Inc()
			st.mu.Lock()
			st.dirty = true // retry at the next flush
			st.mu.Unlock()
			errs = append(errs, err)
			if ctx.Err() != nil {
				break
			}
			continue
		}
		p.m.flushBytes.Add(float64(len(buf)))
		p.m.flushPuts.Inc()
	}
	p.m.flushSeconds.Observe(time.Since(start).Seconds())
	if len(errs) > 0 {
		return errors.Join(errs[0], errors.New("rate state: writes to KV failed; they are retried at the next flush"))
	}
	return nil
}

// load reads st's state from KV; a miss or failure starts empty (the
// first poll then gives no rate, which is the safe outcome).
func (p *Processor) load(ctx context.Context, st *resState) {
	if p.opts.KV == nil {
		return
	}
	e, err := p.opts.KV.Get(ctx, kvKey(st.key))
	if err != nil {
		if !errors.Is(err, jetstream.ErrKeyNotFound) {
			p.m.kvErrors.WithLabelValues("get").Inc()
			p.log.Warn("rate state read failed; rates of this resource restart", "resource", st.key, "err", err)
		}
		return
	}
	if err := decodeState(e.Value(), st); err != nil {
		p.m.kvErrors.WithLabelValues("decode").Inc()
		p.log.Warn("rate state unreadable; rates of this resource restart", "resource", st.key, "err", err)
		st.series = nil
		st.pos = positional{}
	}
}
