package iface

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/panoptes-go/panoptes/internal/poll"

	"github.com/panoptes-go/panoptes/internal/enrich"
	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/plugin"
	"github.com/panoptes-go/panoptes/internal/snmp"
)

func init() { poll.Register("interface", newInterface) }

// Interface is the `interface` polling plugin: one group per ifIndex from
// IF-MIB's ifTable and ifXTable and EtherLike-MIB's dot3StatsTable, with
// Panoptes' metric and dimension names (see README.md in this package).
//
// Options:
//
//	include_dot3: true        # read dot3StatsTable's Ethernet error counters
//	exclude: ["Vl*", "Nu0"]   # interface_name globs to skip (path.Match)
//	enrichment: false         # walk only counter columns; names, aliases,
//	                          # types and speeds from poll.Request.Enrich
//
// Every poll also GETs sysUpTime.0 (and, with enrichment,
// ifTableLastChange.0) beside the walks: counters carry it as a rate hint
// (metric.Hint) so a rate is never computed across an agent restart.
type Interface struct {
	opts interfaceOptions
	// walker and now are replaced by tests; nil means req.SNMP and time.Now.
	walker walker
	now    func() time.Time
	// seen remembers what the last poll of each resource found (resource
	// key → *memo), to size the next one's requests and results.
	seen  sync.Map
	polls atomic.Uint64 // memoOf calls: every sweepEvery-th sweeps seen
}

// memo is what the last poll of a device found.
type memo struct {
	rows  atomic.Int32    // interfaces, in enrichment mode: sizes its GETBULKs
	walks [3]atomic.Int32 // varbinds each table's walks returned
	used  atomic.Int64    // Unix seconds of the last poll that used it
}

// A memo not used for forgetAfter is dropped (its device moved to another
// node or left the inventory), so that seen does not grow with every device
// a node ever polled; a sweep runs every sweepEvery polls. A device polled
// less often than that merely loses the sizing hint.
const (
	forgetAfter = time.Hour
	sweepEvery  = 4096
)

// memoOf is the resource's memo, nil without a resource.
func (p *Interface) memoOf(req *poll.Request) *memo {
	if req.Resource == nil {
		return nil
	}
	now := req.Now.Unix()
	if p.polls.Add(1)%sweepEvery == 0 {
		p.forgetIdle(now)
	}
	key := req.Resource.Key()
	m, ok := p.seen.Load(key)
	if !ok {
		m, _ = p.seen.LoadOrStore(key, new(memo))
	}
	mm := m.(*memo)
	mm.used.Store(now)
	return mm
}

// forgetIdle drops the memos not used since forgetAfter before now.
func (p *Interface) forgetIdle(now int64) {
	cutoff := now - int64(forgetAfter/time.Second)
	p.seen.Range(func(k, m any) bool {
		if m.(*memo).used.Load() < cutoff {
			p.seen.Delete(k)
		}
		return true
	})
}

var _ poll.Plugin = (*Interface)(nil)

// walker is the SNMP operation the plugin needs.
type walker interface {
	Walk(ctx context.Context, t snmp.Target, root string) ([]snmp.Varbind, error)
}

// sizedWalker is what a walker may also do: allocate a walk's result for
// the varbinds the last walk of the same root returned (snmp.Pool).
type sizedWalker interface {
	WalkSized(ctx context.Context, t snmp.Target, root string, size int) ([]snmp.Varbind, error)
}

// bufWalker is what a walker may also do: return a walk's result in the
// array of an earlier one (snmp.Pool), which Poll hands back once the rows
// hold what it needs of it.
type bufWalker interface {
	WalkSizedInto(ctx context.Context, t snmp.Target, root string, size int, buf []snmp.Varbind) ([]snmp.Varbind, error)
}

// columnWalker is what a walker may also do: walk several roots in one
// operation, asking for the next rows of all of them in each request
// (snmp.Pool). A table's counter columns then take a few round trips
// instead of one each; the results are those of walking each root.
type columnWalker interface {
	WalkColumns(ctx context.Context, t snmp.Target, roots []string, size int, out [][]snmp.Varbind) error
}

// arenaColumnWalker is what a columnWalker may also do: decode the
// answers' names and numbers into an arena of ours (snmp.Pool), which
// Poll hands back with the results once the rows hold copies of what they
// need (rows.add keeps numbers and copied strings, nothing of a varbind).
type arenaColumnWalker interface {
	WalkColumnsIn(ctx context.Context, t snmp.Target, roots []string, size int, out [][]snmp.Varbind, a *snmp.Arena) error
}

// arenas keeps the column walks' arenas between polls: the varbinds'
// names as text were a fifth of the bytes a poll allocated (~70 KB for a
// 48-port switch). Bounded in bytes, as walkBufs.
var arenas = arenaFree{ch: make(chan *snmp.Arena, 1024)}

// arenasBudget bounds the bytes arenas holds.
const arenasBudget = 2 << 20

type arenaFree struct {
	ch   chan *snmp.Arena
	held atomic.Int64 // bytes of the arenas in ch
}

// get returns an arena to walk into: a kept one, or a new empty one.
func (f *arenaFree) get() *snmp.Arena {
	select {
	case a := <-f.ch:
		f.held.Add(-int64(a.Size()))
		return a
	default:
		return new(snmp.Arena)
	}
}

// put keeps a for another walk, unless that would pass the budget. Nothing
// may point into a any more: the next walk overwrites it.
func (f *arenaFree) put(a *snmp.Arena) {
	size := int64(a.Size())
	if f.held.Add(size) > arenasBudget {
		f.held.Add(-size)
		return
	}
	select {
	case f.ch <- a:
	default:
		f.held.Add(-size)
	}
}

// walkBufs keeps walk results between polls: with enrichment a poll walks
// ~45 counter columns of a few KB each, the largest share of the bytes a
// poll allocates after the decoder's. A free list bounded in bytes, not a
// sync.Pool: a pool keeps every result in flight at its peak alive until
// the next GCs, which at 2,000 devices was 7 MB of live heap, paid twice
// over in RSS by the GC's headroom.
var walkBufs = walkFree{ch: make(chan []snmp.Varbind, 1024)}

// walkBufsBudget bounds the bytes walkBufs holds.
const walkBufsBudget = 2 << 20

// varbindSize is the bytes of one snmp.Varbind, for the budget.
const varbindSize = int64(unsafe.Sizeof(snmp.Varbind{}))

type walkFree struct {
	ch   chan []snmp.Varbind
	held atomic.Int64 // bytes of the arrays in ch
}

// get returns an empty result to walk into, nil when there is none.
func (f *walkFree) get() []snmp.Varbind {
	select {
	case b := <-f.ch:
		f.held.Add(-int64(cap(b)) * varbindSize)
		return b
	default:
		return nil
	}
}

// put keeps b, emptied (its values point into the decoder's memory, which
// it must not keep alive), unless that would pass the budget.
func (f *walkFree) put(b []snmp.Varbind) {
	size := int64(cap(b)) * varbindSize
	if size == 0 || f.held.Add(size) > walkBufsBudget {
		f.held.Add(-size)
		return
	}
	clear(b[:cap(b)])
	select {
	case f.ch <- b[:0]:
	default:
		f.held.Add(-size)
	}
}

// releaseWalks gives the results' arrays back to walkBufs.
func releaseWalks(results [][]walked) {
	for _, ws := range results {
		for i := range ws {
			if ws[i].reusable {
				walkBufs.put(ws[i].vbs) // cleared: no pointer into the arena is kept
			}
			if ws[i].arena != nil {
				arenas.put(ws[i].arena)
			}
			ws[i] = walked{}
		}
	}
}

// getter is what a walker may also do: GET the rate hints (sysUpTime.0,
// ifTableLastChange.0) beside the walks.
type getter interface {
	Get(ctx context.Context, t snmp.Target, oids []string) ([]snmp.Varbind, error)
}

type interfaceOptions struct {
	includeDot3 bool
	exclude     []string
	enrichment  bool
}

// interfaceConfig is what the interface plugin's options block holds.
type interfaceConfig struct {
	IncludeDot3 bool           `yaml:"include_dot3"` // walk dot3StatsTable (default true)
	Exclude     plugin.Strings `yaml:"exclude"`      // globs of interface names to leave out
	Enrichment  bool           `yaml:"enrichment"`   // names, aliases, speeds from the shared cache
}

func newInterface(options plugin.Block) (poll.Plugin, error) {
	c := interfaceConfig{IncludeDot3: true}
	if err := options.Decode(&c); err != nil {
		return nil, err
	}
	var errs []error
	for i, p := range c.Exclude {
		if _, err := path.Match(p, ""); err != nil || p == "" {
			errs = append(errs, plugin.Errorf(fmt.Sprintf("exclude[%d]", i), "%q is not a valid glob (use *, ? and [...])", p))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &Interface{opts: interfaceOptions{includeDot3: c.IncludeDot3, exclude: c.Exclude, enrichment: c.Enrichment}}, nil
}

// walked is the result of walking one root.
type walked struct {
	vbs []snmp.Varbind
	// reusable: vbs is the walker's result in an array of ours (bufWalker),
	// which releaseWalks may keep for another walk.
	reusable bool
	// arena, when set, is what vbs's names and values point into (on one
	// walked of a column walk): releaseWalks hands it back, with vbs.
	arena *snmp.Arena
	at    float64 // when the last response arrived, epoch seconds
}

// Poll walks the tables, concurrently (the pool bounds concurrency per
// device), and builds the groups. Without ifTable or ifXTable there is no
// group: falling back to other counters or names for one poll would start
// new series or fake a counter reset. A dot3StatsTable failure keeps the
// groups without its counters and reports the error (partial failure).
func (p *Interface) Poll(ctx context.Context, req *poll.Request) ([]*metric.Group, error) {
	w := p.walker
	if w == nil {
		if req.SNMP == nil {
			return nil, poll.WithStatus(metric.StatusInternalFailure, poll.ErrNoSNMP)
		}
		w = req.SNMP
	}
	now := p.now
	if now == nil {
		now = time.Now
	}
	// No credential: the walks fail with snmp.ErrNoCredential.
	v1 := req.Target.Credential != nil && req.Target.Credential.Version == "1"

	tables := []*table{ifTable, ifXTable}
	if p.opts.includeDot3 {
		tables = append(tables, dot3StatsTable)
	}
	target := req.Target
	seen := p.memoOf(req)
	if p.opts.enrichment && !v1 {
		target.MaxRepetitions = fitRepetitions(req.Target.MaxRepetitions, seen)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make([][]walked, len(tables))
	errs := make([]error, len(tables))
	var (
		wg      sync.WaitGroup
		once    sync.Once
		cause   error // the first essential failure, not the cancellations it causes
		signals enrich.Signals
	)
	if g, ok := w.(getter); ok {
		wg.Go(func() { signals = readSignals(ctx, g, target, p.opts.enrichment) })
	}
	for i, t := range tables {
		var size *atomic.Int32
		if seen != nil {
			size = &seen.walks[i]
		}
		wg.Go(func() {
			results[i], errs[i] = walkTable(ctx, w, target, t, v1, p.opts.enrichment, now, size)
			if errs[i] != nil && t != dot3StatsTable {
				once.Do(func() { cause = fmt.Errorf("walk %s: %w", t.name, errs[i]) })
				cancel() // the check has failed: stop the other walks
			}
		})
	}
	wg.Wait()
	if cause != nil {
		releaseWalks(results) // the tables that answered: their arrays and arenas serve later polls
		return nil, cause
	}

	rs := newRows(estimateRows(results[0]))
	rs.uptime, rs.haveUptime = signals.Uptime, signals.HaveUptime
	for i, t := range tables {
		for _, r := range results[i] {
			rs.add(t, r.vbs, r.at, t != dot3StatsTable)
		}
	}
	releaseWalks(results)
	if len(rs.slab) == 0 {
		rs.release()
		return nil, poll.WithStatus(metric.StatusMissingMetrics,
			errors.New("ifTable and ifXTable returned no interfaces"))
	}
	var enrichErr error
	if p.opts.enrichment {
		enrichErr = rs.enrich(ctx, req, w, signals, now)
		if seen != nil {
			seen.rows.Store(int32(min(len(rs.slab), math.MaxInt32)))
		}
	}
	groups := rs.build(req.Resource, int(req.Interval/time.Second), poll.Epoch(req.Now), &p.opts, req.Rates)
	n := len(rs.slab)
	rs.release()
	if enrichErr != nil {
		// Metrics with <not set> names beat no metrics: the check did not fail.
		return groups, poll.WithStatus(metric.StatusEnrichFailure, enrichErr)
	}
	if req.Logger != nil {
		req.Logger.Debug("interfaces polled", "interfaces", n, "groups", len(groups))
	}
	if len(tables) > 2 && errs[2] != nil {
		return groups, fmt.Errorf("walk %s: %w", dot3StatsTable.name, errs[2])
	}
	return groups, nil
}

// walkTable walks t's roots one after the other. size, when not nil, holds
// the varbinds the table's last walks returned, which sizes this one's
// results, and is updated.
//
// With enrichment (countersOnly: max-repetitions fitted to the rows, so a
// column fits an answer) a walker that walks columns together walks the
// needed columns of t (those of a table enrichment has nothing of too,
// instead of the whole table) in one column walk: a few GETBULKs for the
// table instead of one per column, or one per max-repetitions varbinds.
func walkTable(ctx context.Context, w walker, target snmp.Target, t *table, v1, countersOnly bool, now func() time.Time, size *atomic.Int32) ([]walked, error) {
	roots := t.walkRoots(v1)
	if countersOnly {
		roots = t.counterRoots(v1)
	}
	cw, columnar := w.(columnWalker)
	if columnar = columnar && countersOnly && !v1; columnar {
		roots = t.counterCols
	}
	sw, sized := w.(sizedWalker)
	bw, _ := w.(bufWalker)
	each := 0 // the expected varbinds of one root: roots of a table are alike
	if sized && size != nil {
		each = int(size.Load()) / len(roots)
	}
	if columnar {
		return walkColumns(ctx, cw, target, roots, each, now, size)
	}
	out := make([]walked, 0, len(roots))
	total := 0
	for _, root := range roots {
		var vbs []snmp.Varbind
		var err error
		reusable := false
		switch {
		case bw != nil:
			vbs, err = bw.WalkSizedInto(ctx, target, root, each, walkBufs.get())
			reusable = true
		case sized:
			vbs, err = sw.WalkSized(ctx, target, root, each)
		default:
			vbs, err = w.Walk(ctx, target, root)
		}
		if err != nil {
			releaseWalks([][]walked{out}) // the roots walked before: their arrays serve later polls
			return nil, err
		}
		total += len(vbs)
		out = append(out, walked{vbs: vbs, reusable: reusable, at: poll.Epoch(now())})
	}
	if size != nil {
		size.Store(int32(min(total, math.MaxInt32)))
	}
	return out, nil
}

// walkColumns is walkTable's walk of roots together (columnWalker). Each
// result is walked into an array from walkBufs.
func walkColumns(ctx context.Context, cw columnWalker, target snmp.Target, roots []string, each int, now func() time.Time, size *atomic.Int32) ([]walked, error) {
	vbs := make([][]snmp.Varbind, len(roots))
	for i := range vbs {
		vbs[i] = walkBufs.get()
	}
	var arena *snmp.Arena
	var err error
	if aw, ok := cw.(arenaColumnWalker); ok {
		arena = arenas.get()
		err = aw.WalkColumnsIn(ctx, target, roots, each, vbs, arena)
	} else {
		err = cw.WalkColumns(ctx, target, roots, each, vbs)
	}
	if err != nil {
		for _, b := range vbs {
			walkBufs.put(b)
		}
		if arena != nil {
			arenas.put(arena) // the results are dropped; the error's text is its own
		}
		return nil, err
	}
	at := poll.Epoch(now())
	out := make([]walked, len(roots))
	total := 0
	for i, v := range vbs {
		out[i] = walked{vbs: v, reusable: true, at: at}
		total += len(v)
	}
	if len(out) > 0 {
		out[0].arena = arena
	}
	if size != nil {
		size.Store(int32(min(total, math.MaxInt32)))
	}
	return out, nil
}

// estimateRows guesses the interface count from the ifTable walk (each row
// has at most 22 columns, of which we walk at least 16).
func estimateRows(ws []walked) int {
	n := 0
	for _, w := range ws {
		n += len(w.vbs)
	}
	return n/16 + 1
}
