package profile

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"

	"github.com/panoptes-go/panoptes/internal/poll"
)

// delta(x) is the increase of the counter x since the previous poll of the
// same resource, row and expression: tick counters become a utilization
// (100 × Δbusy / Δtotal), octet counters a volume per interval. It yields
// nil — and a metric that reads it is left out, without an error — on the
// first poll, when x went down (a wrap or an agent or host restart: the two
// cannot be told apart, so neither gives a value), when the previous poll
// is more than rates.max_gap intervals old (3 without the node's rate
// state), or when x is absent.
//
// The previous values are kept per resource in a poll.History: the node's
// rate state (in JetStream KV, so they survive a restart) or, without one,
// the plugin's own memory.

// deltaEnvKey is where the evaluator puts the group's deltaState in the
// expression environment. It is not an identifier, so no column or
// expression can name it.
const deltaEnvKey = "#delta"

// maxGapIntervals: a delta needs the previous poll within this many
// intervals, as rates do (internal/rate's default MaxGap), unless the
// History says otherwise (gapLimiter: the node's rate state follows
// rates.max_gap).
const maxGapIntervals = 3

// gapLimiter is a History that sets the gap (the node's rate state,
// rate.Processor): a count of intervals; negative means no limit.
type gapLimiter interface{ MaxGap() int }

// deltaFunction is delta() after deltaPatcher: delta($env, site, x).
var deltaFunction = expr.Function("delta", func(params ...any) (any, error) {
	env, _ := params[0].(map[string]any)
	d, _ := env[deltaEnvKey].(*deltaState)
	site, _ := params[1].(string)
	if d == nil {
		return nil, errors.New("delta(): no previous-value state in this evaluation")
	}
	return d.delta(env, site, params[2])
}, new(func(any, string, any) any))

// deltaPatcher rewrites delta(x) into delta($env, "x", x) before type
// checking: the function needs the evaluation's state (in the environment)
// and a name for x's series (its source text). It records misuse in err,
// which compile reports instead of expr's message about the hidden
// arguments.
type deltaPatcher struct {
	err error
}

func (v *deltaPatcher) Visit(n *ast.Node) {
	c, ok := (*n).(*ast.CallNode)
	if !ok {
		return
	}
	if id, ok := c.Callee.(*ast.IdentifierNode); !ok || id.Value != "delta" {
		return
	}
	if len(c.Arguments) == 3 {
		if id, ok := c.Arguments[0].(*ast.IdentifierNode); ok && id.Value == "$env" {
			return // already patched
		}
	}
	if len(c.Arguments) != 1 {
		v.fail(fmt.Errorf("delta() takes one argument, the counter (delta(ssCpuRawIdle)); got %d", len(c.Arguments)))
		return
	}
	arg := c.Arguments[0]
	if usesPointer(arg) {
		v.fail(fmt.Errorf("delta(%s): not inside a closure (# or .field): the previous value is kept per row and expression; use delta in a per-row group", arg))
		return
	}
	c.Arguments = []ast.Node{&ast.IdentifierNode{Value: "$env"}, &ast.StringNode{Value: arg.String()}, arg}
}

func (v *deltaPatcher) fail(err error) {
	if v.err == nil {
		v.err = err
	}
}

// usesPointer says whether n reads a closure's element (# or .field).
func usesPointer(n ast.Node) bool {
	f := &pointerFinder{}
	ast.Walk(&n, f)
	return f.found
}

type pointerFinder struct{ found bool }

func (f *pointerFinder) Visit(n *ast.Node) {
	if _, ok := (*n).(*ast.PointerNode); ok {
		f.found = true
	}
}

// deltaState is one group evaluation's access to the previous values. The
// evaluator builds a group's rows and metrics one after another, so it is
// not shared between goroutines.
type deltaState struct {
	ctx      context.Context
	hist     poll.History // nil: no state, delta() is always nil
	resource string       // resource key
	profile  string
	group    *Group
	at       float64 // when the device answered
	maxGap   float64 // seconds; 0: any

	groupID string         // lazily: profile, group type and OIDs
	memo    map[string]any // row index + site → result, once per poll
	// missing is set when a delta() of the expression being evaluated had
	// no value: its failure or nil result is then not an error.
	missing bool
}

func newDeltaState(ctx context.Context, req *Request, profile string, g *Group, at float64) *deltaState {
	d := &deltaState{ctx: ctx, hist: req.History, profile: profile, group: g, at: at}
	if req.Resource != nil {
		d.resource = req.Resource.Key()
	}
	gap := maxGapIntervals
	if g, ok := req.History.(gapLimiter); ok && g.MaxGap() != 0 {
		gap = g.MaxGap()
	}
	if req.Interval > 0 && gap > 0 {
		d.maxGap = float64(gap*req.Interval) + 0.5 // poll jitter
	}
	return d
}

// delta returns x's increase since the previous poll, or nil (see above).
// Each (row, site) is computed once per poll: two metrics reading
// delta(total) see the same value, and the second does not find the
// first's sample as its previous one.
func (d *deltaState) delta(env map[string]any, site string, x any) (any, error) {
	idx, _ := env["index"].(string)
	key := idx + "\x00" + site
	if r, ok := d.memo[key]; ok {
		d.missing = d.missing || r == nil
		return r, nil
	}
	r, err := d.compute(idx, site, x)
	if err != nil {
		return nil, err
	}
	if d.memo == nil {
		d.memo = map[string]any{}
	}
	d.memo[key] = r
	d.missing = d.missing || r == nil
	return r, nil
}

func (d *deltaState) compute(idx, site string, x any) (any, error) {
	cur, ok, err := counterOf(x)
	if err != nil {
		return nil, fmt.Errorf("delta(%s): %w", site, err)
	}
	if !ok || d.hist == nil || d.resource == "" {
		return nil, nil
	}
	prev, prevAt, seen := d.hist.Swap(d.ctx, d.resource, d.series(idx, site), cur, d.at)
	dt := d.at - prevAt
	if !seen || dt <= 0 || (d.maxGap > 0 && dt > d.maxGap) || cur < prev || cur-prev > math.MaxInt64 {
		return nil, nil
	}
	return int(cur - prev), nil
}

// series names a delta within the resource: profile, group (type and
// OIDs, stable across edits that move it in the file), row and site. The
// "delta" prefix keeps it apart from the rate series in the same state.
func (d *deltaState) series(idx, site string) uint64 {
	if d.groupID == "" {
		var b strings.Builder
		b.WriteString(d.profile + "\x00" + d.group.Type)
		for _, c := range d.group.Columns {
			b.WriteString("\x00" + c.OID)
		}
		for _, c := range d.group.Scalars {
			b.WriteString("\x00" + c.OID)
		}
		d.groupID = b.String()
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte("delta\x00"))
	_, _ = h.Write([]byte(d.groupID))
	_, _ = h.Write([]byte("\x00" + idx + "\x00" + site))
	return h.Sum64()
}

// counterOf reads a counter value: a non-negative integer. ok is false for
// nil (the input is absent).
func counterOf(x any) (uint64, bool, error) {
	switch v := x.(type) {
	case nil:
		return 0, false, nil
	case uint64:
		return v, true, nil
	case uint32:
		return uint64(v), true, nil
	case uint:
		return uint64(v), true, nil
	case int:
		return signedCounter(int64(v))
	case int64:
		return signedCounter(v)
	case int32:
		return signedCounter(int64(v))
	}
	return 0, false, fmt.Errorf("want an integer counter, got %v (%T)", x, x)
}

func signedCounter(v int64) (uint64, bool, error) {
	if v < 0 {
		return 0, false, fmt.Errorf("counter value %d is negative", v)
	}
	return uint64(v), true, nil
}

// deltaOf returns the deltaState of an evaluation environment (nil if the
// group does not use delta()).
func deltaOf(env map[string]any) *deltaState {
	d, _ := env[deltaEnvKey].(*deltaState)
	return d
}

// reset starts the evaluation of an expression.
func (d *deltaState) reset() {
	if d != nil {
		d.missing = false
	}
}

// lacked says a delta() of the expression just evaluated had no value.
func (d *deltaState) lacked() bool { return d != nil && d.missing }

// usesDelta says whether an expression of the group calls delta(): only
// then does the evaluator add the state to the environment (an entry more
// in every row's map cost BenchmarkEvaluate 30% more bytes allocated).
func (g *Group) usesDelta() bool {
	uses := func(src string) bool { return strings.Contains(src, "delta(") }
	if g.Filter != nil && uses(g.Filter.Source) {
		return true
	}
	for i := range g.Metrics {
		if uses(g.Metrics[i].Source) {
			return true
		}
	}
	for i := range g.Dimensions {
		if uses(g.Dimensions[i].Source) {
			return true
		}
	}
	return false
}

// memHistory is the plugin's own previous-value store when the node hands
// it none (panoptes poll, tests): in memory, so a restart starts over. Like
// the node's rate state without KV, every sweepEvery it drops resources
// not swapped for evictAfter and, in the others, series whose newest sample
// is evictAfter older than the resource's newest.
type memHistory struct {
	mu   sync.Mutex
	res  map[string]*memResource
	next time.Time // when the next sweep is due
}

type memResource struct {
	used   time.Time
	series map[uint64]memSample
}

type memSample struct {
	value uint64
	at    float64
}

const (
	sweepEvery = 10 * time.Minute
	evictAfter = time.Hour
)

func newMemHistory() *memHistory {
	return &memHistory{res: map[string]*memResource{}, next: time.Now().Add(sweepEvery)}
}

// Swap follows poll.History: a sample not newer than the stored one is not
// stored, and the stored one is returned.
func (h *memHistory) Swap(_ context.Context, resourceKey string, series uint64, value uint64, at float64) (uint64, float64, bool) {
	now := time.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	if now.After(h.next) {
		h.next = now.Add(sweepEvery)
		h.sweep(now)
	}
	r := h.res[resourceKey]
	if r == nil {
		r = &memResource{series: map[uint64]memSample{}}
		h.res[resourceKey] = r
	}
	r.used = now
	old, seen := r.series[series]
	if seen && at <= old.at {
		return old.value, old.at, true
	}
	r.series[series] = memSample{value: value, at: at}
	return old.value, old.at, seen
}

func (h *memHistory) sweep(now time.Time) {
	for key, r := range h.res {
		if now.Sub(r.used) > evictAfter {
			delete(h.res, key)
			continue
		}
		newest := 0.0
		for _, s := range r.series {
			newest = max(newest, s.at)
		}
		for id, s := range r.series {
			if s.at < newest-evictAfter.Seconds() {
				delete(r.series, id)
			}
		}
	}
}

// UsesHistory tells the node to keep a previous-value store (the rate
// state) even when no plugin asks for rates: delta() reads it.
func (p *Plugin) UsesHistory() bool { return true }

var (
	_ poll.History     = (*memHistory)(nil)
	_ poll.HistoryUser = (*Plugin)(nil)
)
