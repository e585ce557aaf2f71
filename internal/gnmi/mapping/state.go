package mapping

import (
	"errors"
	"log/slog"
	"sync"

	"github.com/expr-lang/expr/vm"
	pb "github.com/openconfig/gnmi/proto/gnmi"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/panoptes-go/panoptes/internal/gnmi"
	"github.com/panoptes-go/panoptes/internal/selfmetric"
)

// MaxValueBytes bounds one leaf value (a string, bytes, or a JSON tree):
// larger ones are dropped and counted as malformed.
const MaxValueBytes = 1 << 20

// State is one target's latest values, row by row. It is not safe for
// concurrent use: one goroutine feeds it (the subscriber's consumer).
type State struct {
	set    *Set
	groups []groupState
	name   string
	log    *slog.Logger
	m      *Metrics

	warnMu sync.Mutex
	warned map[string]bool

	w walker

	resync bool // between Connected and Sync: rows not refreshed are dropped at Sync
	gen    uint64
	keyBuf []byte
	vm     vm.VM
	rowEnv map[string]any // Build's, reused row to row
	ending bool           // BuildHeld: no row waits for the rest of its sample
}

type groupState struct {
	rows map[string]*row
	// touched: a row was updated (or a leaf deleted) since the last
	// Build, or a row is held; nextQuiet: the earliest a row may be quiet
	// (epoch seconds). Without either a Build skips the group.
	touched   bool
	nextQuiet float64
}

// row is one row's leaves.
type row struct {
	key     string
	keys    map[string]string
	vals    []leafVal
	multi   []map[string]leafVal // per leaf, for leaves with wildcard keys
	dirty   bool
	emitted float64 // when last built (epoch seconds)
	updated float64 // the first Build that saw its last update
	gen     uint64  // the resync generation that last refreshed it

	// A sample of a row is complete when every leaf the row's previous two
	// samples both had has come again (leaves past the 64th are never
	// waited for): a Build in the middle of a target's burst holds the
	// row back instead of publishing it in two parts, half updated.
	got     uint64  // leaves updated (or deleted) since the row was last built
	prevGot uint64  // got of the last build
	exp     uint64  // got of each of the last two builds: what a sample holds
	waiting float64 // the first Build that held the row back as incomplete; 0: none
	period  float64 // between its last two builds with updates (s); 0: unknown
	lastUpd float64 // its last build with updates
}

// leafBit is leaf i's bit in a row's got and exp.
func leafBit(i int) uint64 {
	if i >= 64 {
		return 0
	}
	return 1 << uint(i)
}

type leafVal struct {
	v   any    // the value, unless isU
	u   uint64 // an unsigned value (counters), kept unboxed
	isU bool
	ts  int64 // ns
	ok  bool
}

// value returns the leaf's value.
func (l *leafVal) value() any {
	if l.isU {
		return l.u
	}
	return l.v
}

// Options configure a State.
type Options struct {
	// Name identifies the target in logs and metrics.
	Name    string
	Logger  *slog.Logger
	Metrics *Metrics
}

// NewState returns an empty State for one target.
func (s *Set) NewState(o Options) *State {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	st := &State{set: s, name: o.Name, log: o.Logger, m: o.Metrics, groups: make([]groupState, len(s.groups)), warned: map[string]bool{}}
	for i := range st.groups {
		st.groups[i].rows = map[string]*row{}
	}
	st.w.s = st
	return st
}

// Handle applies a subscriber's event: a Connected starts a resync (the
// target sends everything again), the Sync after it drops rows the target
// no longer sent, a Notification updates rows.
func (st *State) Handle(e gnmi.Event) {
	switch e.Kind {
	case gnmi.Connected:
		st.resync = true
		st.gen++
	case gnmi.Sync:
		if st.resync {
			st.resync = false
			for gi := range st.groups {
				for k, r := range st.groups[gi].rows {
					if r.gen != st.gen {
						delete(st.groups[gi].rows, k)
					}
				}
			}
		}
	case gnmi.Notification:
		st.Notification(e.Notification)
	}
}

// Notification applies one notification's updates and deletes.
func (st *State) Notification(n *pb.Notification) {
	prefix := n.GetPrefix()
	matched := false
	for _, d := range n.GetDelete() {
		origin := d.GetOrigin()
		if origin == "" {
			origin = prefix.GetOrigin()
		}
		st.w.delete(origin, prefix.GetElem(), d.GetElem())
	}
	for _, u := range n.GetUpdate() {
		origin := u.GetPath().GetOrigin()
		if origin == "" {
			origin = prefix.GetOrigin()
		}
		if origin == "openconfig" {
			origin = ""
		}
		root := st.set.roots[origin]
		if root == nil {
			st.unknown(origin, prefix, u.GetPath())
			continue
		}
		if m := st.w.update(root, n.GetTimestamp(), prefix.GetElem(), u.GetPath().GetElem(), u.GetVal()); m > 0 {
			matched = true
		} else if st.w.err == nil {
			st.unknown(origin, prefix, u.GetPath())
		}
		if st.w.err != nil {
			st.malformed("value", gnmi.Join(prefix, u.GetPath()), st.w.err)
			st.w.err = nil
		}
	}
	if matched {
		st.m.leaves.Add(float64(st.w.leaves))
	}
	st.w.leaves = 0
}

func (st *State) unknown(origin string, prefix, p *pb.Path) {
	st.m.unknown.Inc()
	st.warnOnce("unknown", "gnmi: notification for a path no mapping reads (counted in panoptes_gnmi_unmapped_updates_total; logged once per target)",
		"path", gnmi.Join(prefix, p))
}

func (st *State) malformed(reason, path string, err error) {
	st.m.malformed.WithLabelValues(reason).Inc()
	st.warnOnce("malformed:"+reason, "gnmi: malformed value (counted in panoptes_gnmi_malformed_total; logged once per target and reason)",
		"path", path, "err", err)
}

func (st *State) warnOnce(key, msg string, args ...any) {
	st.warnMu.Lock()
	seen := st.warned[key]
	st.warned[key] = true
	st.warnMu.Unlock()
	if !seen {
		st.log.Warn(msg, append([]any{"target", st.name}, args...)...)
	}
}

// rowFor returns group gi's row for the keyed elements of elems (the
// elements down to the group's row), creating it. ok is false when a key
// the group fixes ([name=default]) differs.
func (st *State) rowFor(gi int, elems []*pb.PathElem) (*row, bool) {
	g := st.set.groups[gi]
	buf := st.keyBuf[:0]
	for _, k := range g.rowKeys {
		got, ok := elems[k.depth].GetKey()[k.name]
		if k.want != "*" {
			if got != k.want {
				return nil, false
			}
			continue
		}
		if !ok {
			return nil, false
		}
		buf = append(buf, k.name...)
		buf = append(buf, '=')
		buf = append(buf, got...)
		buf = append(buf, 0)
	}
	st.keyBuf = buf
	rows := st.groups[gi].rows
	r, ok := rows[string(buf)] // no allocation for the lookup
	if !ok {
		var keys map[string]string
		for _, k := range g.rowKeys {
			if k.want == "*" {
				if keys == nil {
					keys = map[string]string{}
				}
				keys[k.name] = elems[k.depth].GetKey()[k.name]
			}
		}
		r = &row{key: string(buf), keys: keys, vals: make([]leafVal, len(g.Leaves))}
		rows[r.key] = r
	}
	r.gen = st.gen
	return r, true
}

func keyText(e *pb.PathElem) string {
	if len(e.GetKey()) == 1 {
		for k, v := range e.GetKey() {
			return k + "=" + v
		}
	}
	return gnmi.FormatPath(&pb.Path{Elem: []*pb.PathElem{{Key: e.GetKey()}}})
}

// Rows is the number of rows held, for tests and self-metrics.
func (st *State) Rows() int {
	n := 0
	for _, g := range st.groups {
		n += len(g.rows)
	}
	return n
}

// Missing lists the groups that have no row and are not optional: after a
// sync, paths the target does not serve.
func (st *State) Missing() []*Group {
	var out []*Group
	for gi, g := range st.set.groups {
		if !g.Optional && !st.hasData(gi) {
			out = append(out, g)
		}
	}
	return out
}

func (st *State) hasData(gi int) bool {
	for _, r := range st.groups[gi].rows {
		if !allEmpty(r) {
			return true
		}
	}
	return false
}

// Metrics are the mapping's self-metrics.
type Metrics struct {
	leaves, unknown prometheus.Counter
	malformed       *prometheus.CounterVec
}

// NewMetrics registers the mapping's self-metrics with reg (nil: none).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	return &Metrics{
		leaves: selfmetric.Register(reg, prometheus.NewCounter(prometheus.CounterOpts{Name: "panoptes_gnmi_mapped_leaves_total",
			Help: "gNMI leaf values stored into rows of a mapping."})),
		unknown: selfmetric.Register(reg, prometheus.NewCounter(prometheus.CounterOpts{Name: "panoptes_gnmi_unmapped_updates_total",
			Help: "gNMI updates for paths no mapping reads (logged once per target)."})),
		malformed: selfmetric.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{Name: "panoptes_gnmi_malformed_total",
			Help: "Malformed gNMI values (undecodable, too large, or of a type a mapping cannot use), by reason."}, []string{"reason"})),
	}
}

var errTooLarge = errors.New("value larger than 1 MiB: dropped")

// Malformed is the number of malformed values counted with reason.
func (m *Metrics) Malformed(reason string) float64 {
	return testutilValue(m.malformed.WithLabelValues(reason))
}

// Unknown is the number of updates no mapping read.
func (m *Metrics) Unknown() float64 { return testutilValue(m.unknown) }

func testutilValue(c prometheus.Counter) float64 {
	var d dto.Metric
	if err := c.Write(&d); err != nil {
		return 0
	}
	return d.GetCounter().GetValue()
}
