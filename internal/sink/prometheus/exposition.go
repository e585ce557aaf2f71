package prometheus

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/sink"
	"github.com/panoptes-go/panoptes/internal/websec"
)

// Exposition defaults.
const (
	DefaultPath = "/metrics"
	// DefaultStaleAfter applies to a group without an interval when
	// stale_after is 0 (otherwise 3 × the group's interval).
	DefaultStaleAfter = 5 * time.Minute
	// staleIntervals is how many of its group's intervals a series lives
	// without a refresh when stale_after is 0.
	staleIntervals = 3
	defaultSweep   = 5 * time.Second
)

// Exposition is the "prometheus" sink. Write keeps the latest sample of
// every series in memory; Serve exposes them in the Prometheus text format
// 0.0.4 on Listen at Path, with each sample's device timestamp. A series not
// refreshed within its staleness time is no longer exposed and is swept.
type Exposition struct {
	name       string
	listen     string
	web        websec.Config // TLS and basic auth of the endpoint
	path       string
	staleAfter time.Duration // 0: staleIntervals × the group's interval
	sweepEvery time.Duration
	now        func() time.Time
	logger     *slog.Logger
	metrics    *expositionMetrics

	mu       sync.RWMutex
	families map[string]*family // by series name
	byKey    map[famKey]*family // cache: no name building on the write path
	sorted   []*family          // by name: scrape order without sorting
	series   int
	// Write scratch, guarded by mu.
	labels  []label
	block   []byte
	nameBuf []byte

	addrMu sync.Mutex
	addr   string // where Serve listens, once it does

	snapshots sync.Pool // *[]entry, scrape scratch
}

var (
	_ sink.Sink    = (*Exposition)(nil)
	_ sink.Service = (*Exposition)(nil)
)

// famKey is how a metric finds its family without building its name.
type famKey struct {
	group, metric string
	typ           metric.Type
}

// family is one metric family: its series in a slice (copied cheaply by a
// scrape) indexed by their rendered label block.
type family struct {
	name    string
	typ     metric.Type
	header  string // "# HELP ...\n# TYPE ...\n"
	index   map[string]int32
	entries []entry
}

// entry is one series' latest sample.
type entry struct {
	labels  string // rendered `{a="x",b="y"}`, shared by the group's series
	value   metric.Value
	tsMs    int64 // device time; 0 = unknown (Prometheus uses scrape time)
	expires int64 // unix ns after which the series is stale
}

// Write stores the latest sample of every metric in batch. A group whose
// labels collide after sanitizing, or a metric whose name is already used
// by a family of the other type, is reported in a *sink.Rejected (the
// group's other metrics are stored). A sample older than the one stored for
// its series (a redelivery) is ignored.
func (e *Exposition) Write(_ context.Context, batch []sink.Record) error {
	now := e.now().UnixNano()
	var rejected map[int]error
	e.mu.Lock()
	for i := range batch {
		if err := e.writeGroup(batch[i].Group, now); err != nil {
			if rejected == nil {
				rejected = make(map[int]error)
			}
			rejected[i] = err
		}
	}
	series := e.series
	e.mu.Unlock()
	e.metrics.series.Set(float64(series))
	if rejected != nil {
		return &sink.Rejected{Reasons: rejected}
	}
	return nil
}

// writeGroup stores g's samples; e.mu is held.
func (e *Exposition) writeGroup(g *metric.Group, now int64) error {
	ls, err := appendGroupLabels(e.labels[:0], g)
	e.labels = ls[:0]
	if err != nil {
		return err
	}
	e.block = appendLabelBlock(e.block[:0], ls)
	expires := now + int64(e.staleness(g))
	var (
		blockStr  string // allocated once, for the group's new series only
		haveBlock bool
		firstErr  error
	)
	for mi := range g.Metrics {
		m := &g.Metrics[mi]
		f, err := e.family(g.Type, m.Name, m.Type)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		ts := timestampMs(m, g)
		if idx, ok := f.index[string(e.block)]; ok {
			en := &f.entries[idx]
			if ts != 0 && ts < en.tsMs {
				continue
			}
			en.value, en.tsMs, en.expires = m.Value, ts, expires
			continue
		}
		if !haveBlock {
			blockStr, haveBlock = string(e.block), true
		}
		f.index[blockStr] = int32(len(f.entries))
		f.entries = append(f.entries, entry{labels: blockStr, value: m.Value, tsMs: ts, expires: expires})
		e.series++
	}
	return firstErr
}

func (e *Exposition) staleness(g *metric.Group) time.Duration {
	switch {
	case e.staleAfter > 0:
		return e.staleAfter
	case g.Interval > 0:
		return staleIntervals * time.Duration(g.Interval) * time.Second
	}
	return DefaultStaleAfter
}

// family returns the family of a metric, creating it on first use; e.mu is
// held. A name already used by a family of the other type is an error:
// one family cannot be both a gauge and a counter.
func (e *Exposition) family(group, name string, typ metric.Type) (*family, error) {
	k := famKey{group: group, metric: name, typ: typ}
	if f, ok := e.byKey[k]; ok {
		return f, nil
	}
	e.nameBuf = appendName(e.nameBuf[:0], group, name, typ)
	f, ok := e.families[string(e.nameBuf)]
	if ok && f.typ != typ {
		return nil, fmt.Errorf("metric %s of group %s is a %s, but series %s is already exposed as a %s",
			name, group, typ, f.name, f.typ)
	}
	if !ok {
		f = &family{
			name:   string(e.nameBuf),
			typ:    typ,
			header: familyHeader(string(e.nameBuf), group, name, typ),
			index:  make(map[string]int32),
		}
		e.families[f.name] = f
		i, _ := slices.BinarySearchFunc(e.sorted, f.name, func(x *family, n string) int { return strings.Compare(x.name, n) })
		e.sorted = slices.Insert(e.sorted, i, f)
	}
	e.byKey[k] = f
	return f, nil
}

func familyHeader(name, group, metricName string, typ metric.Type) string {
	help := "Panoptes metric " + metricName + " of metrics group " + group + "."
	help = strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(help)
	return "# HELP " + name + " " + help + "\n# TYPE " + name + " " + typ.String() + "\n"
}

// appendLabelBlock renders ls as `{a="x",b="y"}` ("" without labels),
// escaping values as the text format requires.
func appendLabelBlock(b []byte, ls []label) []byte {
	if len(ls) == 0 {
		return b
	}
	b = append(b, '{')
	for i, l := range ls {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, l.name...)
		b = append(b, '=', '"')
		for j := 0; j < len(l.value); j++ {
			switch c := l.value[j]; c {
			case '\\':
				b = append(b, '\\', '\\')
			case '"':
				b = append(b, '\\', '"')
			case '\n':
				b = append(b, '\\', 'n')
			default:
				b = append(b, c)
			}
		}
		b = append(b, '"')
	}
	return append(b, '}')
}

// sweep forgets the series that expired before now and the families left
// empty, so memory follows the live series.
func (e *Exposition) sweep(now int64) {
	e.mu.Lock()
	expired := 0
	for _, f := range e.families {
		for i := 0; i < len(f.entries); {
			if f.entries[i].expires >= now {
				i++
				continue
			}
			delete(f.index, f.entries[i].labels)
			last := len(f.entries) - 1
			if i != last {
				f.entries[i] = f.entries[last]
				f.index[f.entries[i].labels] = int32(i)
			}
			f.entries[last] = entry{}
			f.entries = f.entries[:last]
			expired++
		}
		if len(f.entries) == 0 {
			e.dropFamily(f)
		}
	}
	e.series -= expired
	series := e.series
	e.mu.Unlock()
	e.metrics.expired.Add(float64(expired))
	e.metrics.series.Set(float64(series))
}

// dropFamily removes an empty family; e.mu is held.
func (e *Exposition) dropFamily(f *family) {
	delete(e.families, f.name)
	e.sorted = slices.DeleteFunc(e.sorted, func(x *family) bool { return x == f })
	for k, x := range e.byKey {
		if x == f {
			delete(e.byKey, k)
		}
	}
}

// Series returns how many series are held (expired ones until the next sweep).
func (e *Exposition) Series() int {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.series
}
