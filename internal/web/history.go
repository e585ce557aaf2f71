package web

import (
	"context"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// The self-metric series a node keeps for the overview's charts, sampled
// from its own Prometheus registry.
const (
	SeriesChecks    = "checks_per_second"
	SeriesFailures  = "failures_per_second"
	SeriesLateness  = "lateness_p99_seconds"
	SeriesPublished = "groups_published_per_second"
	SeriesBuffered  = "bus_buffered_messages"
	SeriesSinkLag   = "sink_pending_messages"
)

var seriesNames = []string{SeriesChecks, SeriesFailures, SeriesLateness, SeriesPublished, SeriesBuffered, SeriesSinkLag}

// sample is what one scrape of the registry yields.
type sample struct {
	at        time.Time
	checks    float64                       // panoptes_poll_checks_total, all
	failures  float64                       // ... whose status is not success
	byPlugin  map[string]map[string]float64 // plugin → status → checks
	published float64                       // panoptes_bus_published_total
	buffered  float64                       // panoptes_bus_buffered_messages
	sinkLag   float64                       // sum of panoptes_sink_consumer_pending
	lateness  []bucket                      // panoptes_schedule_lateness_seconds
	owned     float64                       // panoptes_cluster_resources_owned
	ownChange float64                       // panoptes_cluster_ownership_changes_total
	leaderChg float64                       // panoptes_cluster_leader_changes_total
	scheduled float64                       // panoptes_checks_scheduled
}

type bucket struct {
	le    float64
	count float64
}

// Point is one value of a series.
type Point struct {
	T int64   `json:"t"` // Unix ms
	V float64 `json:"v"`
}

// history keeps a ring of derived points per series (rates between
// consecutive samples) and the latest raw sample.
type history struct {
	g   prometheus.Gatherer
	max int

	mu     sync.Mutex
	last   *sample // previous sample
	first  *sample // oldest sample still in the window (for the hour's totals)
	window []*sample
	series map[string][]Point
}

func newHistory(g prometheus.Gatherer, max int) *history {
	return &history{g: g, max: max, series: map[string][]Point{}}
}

// run samples now and every step until ctx ends.
func (h *history) run(ctx context.Context, every time.Duration) {
	if h.g == nil {
		return
	}
	h.sampleNow()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			h.sampleNow()
		}
	}
}

func (h *history) sampleNow() {
	mfs, err := h.g.Gather()
	if err != nil && len(mfs) == 0 {
		return
	}
	s := parseSample(mfs, time.Now())
	h.add(s)
}

func (h *history) add(s *sample) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if p := h.last; p != nil {
		dt := s.at.Sub(p.at).Seconds()
		if dt > 0 {
			ms := s.at.UnixMilli()
			h.push(SeriesChecks, Point{ms, nonNeg(s.checks-p.checks) / dt})
			h.push(SeriesFailures, Point{ms, nonNeg(s.failures-p.failures) / dt})
			h.push(SeriesPublished, Point{ms, nonNeg(s.published-p.published) / dt})
			h.push(SeriesLateness, Point{ms, quantile(0.99, p.lateness, s.lateness)})
		}
	}
	ms := s.at.UnixMilli()
	h.push(SeriesBuffered, Point{ms, s.buffered})
	h.push(SeriesSinkLag, Point{ms, s.sinkLag})
	h.last = s
	h.window = append(h.window, s)
	if len(h.window) > h.max+1 {
		h.window = h.window[len(h.window)-h.max-1:]
	}
}

func (h *history) push(name string, p Point) {
	if math.IsNaN(p.V) || math.IsInf(p.V, 0) {
		p.V = 0
	}
	pts := append(h.series[name], p)
	if len(pts) > h.max {
		pts = pts[len(pts)-h.max:]
	}
	h.series[name] = pts
}

// NodeSummary is one node's self-metrics: the latest values, the hour's
// series and its checks per plugin over the window.
type NodeSummary struct {
	Node    string             `json:"node"`
	Site    string             `json:"site"`
	Version string             `json:"version,omitempty"`
	Now     map[string]float64 `json:"now"`
	Series  map[string][]Point `json:"series"`
	// Plugins: checks in the window by plugin and status name.
	Plugins map[string]map[string]float64 `json:"plugins"`
	// Window is how far back Plugins reaches, in seconds.
	Window           float64 `json:"window_seconds"`
	Owned            float64 `json:"resources_owned"`
	Scheduled        float64 `json:"checks_scheduled"`
	OwnershipChanges float64 `json:"ownership_changes"`
	LeaderChanges    float64 `json:"leader_changes"`
	Error            string  `json:"error,omitempty"`
}

func (h *history) summary() NodeSummary {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := NodeSummary{Now: map[string]float64{}, Series: map[string][]Point{}, Plugins: map[string]map[string]float64{}}
	for _, name := range seriesNames {
		pts := h.series[name]
		out.Series[name] = append([]Point{}, pts...)
		if len(pts) > 0 {
			out.Now[name] = pts[len(pts)-1].V
		}
	}
	if len(h.window) == 0 {
		return out
	}
	last, first := h.window[len(h.window)-1], h.window[0]
	out.Owned, out.Scheduled, out.OwnershipChanges, out.LeaderChanges = last.owned, last.scheduled, last.ownChange, last.leaderChg
	out.Window = last.at.Sub(first.at).Seconds()
	for plugin, st := range last.byPlugin {
		m := map[string]float64{}
		for status, v := range st {
			d := v
			if len(h.window) > 1 {
				d = v - first.byPlugin[plugin][status]
			}
			if d > 0 {
				m[status] = d
			}
		}
		out.Plugins[plugin] = m
	}
	return out
}

func nonNeg(v float64) float64 { return max(v, 0) } // a counter reset

// parseSample reads the series the page needs from a registry scrape.
func parseSample(mfs []*dto.MetricFamily, at time.Time) *sample {
	s := &sample{at: at, byPlugin: map[string]map[string]float64{}}
	for _, mf := range mfs {
		switch mf.GetName() {
		case "panoptes_poll_checks_total":
			for _, m := range mf.GetMetric() {
				v := m.GetCounter().GetValue()
				plugin, status := label(m, "plugin"), label(m, "status")
				s.checks += v
				if status != "success" {
					s.failures += v
				}
				if s.byPlugin[plugin] == nil {
					s.byPlugin[plugin] = map[string]float64{}
				}
				s.byPlugin[plugin][status] += v
			}
		case "panoptes_bus_published_total":
			s.published = sum(mf)
		case "panoptes_bus_buffered_messages":
			s.buffered = sum(mf)
		case "panoptes_sink_consumer_pending":
			s.sinkLag = sum(mf)
		case "panoptes_cluster_resources_owned":
			s.owned = sum(mf)
		case "panoptes_cluster_ownership_changes_total":
			s.ownChange = sum(mf)
		case "panoptes_cluster_leader_changes_total":
			s.leaderChg = sum(mf)
		case "panoptes_checks_scheduled":
			s.scheduled = sum(mf)
		case "panoptes_schedule_lateness_seconds":
			for _, m := range mf.GetMetric() {
				for _, b := range m.GetHistogram().GetBucket() {
					s.lateness = append(s.lateness, bucket{le: b.GetUpperBound(), count: float64(b.GetCumulativeCount())})
				}
				s.lateness = append(s.lateness, bucket{le: math.Inf(1), count: float64(m.GetHistogram().GetSampleCount())})
			}
		}
	}
	return s
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func sum(mf *dto.MetricFamily) float64 {
	t := 0.0
	for _, m := range mf.GetMetric() {
		switch {
		case m.Gauge != nil:
			t += m.GetGauge().GetValue()
		case m.Counter != nil:
			t += m.GetCounter().GetValue()
		case m.Untyped != nil:
			t += m.GetUntyped().GetValue()
		}
	}
	return t
}

// quantile estimates the q-quantile of the observations between two
// cumulative histograms (as Prometheus' histogram_quantile does over a
// rate): linear within the bucket, the last finite bound for the +Inf one.
func quantile(q float64, prev, cur []bucket) float64 {
	if len(cur) == 0 {
		return 0
	}
	d := make([]bucket, len(cur))
	for i, b := range cur {
		d[i] = b
		if len(prev) == len(cur) && prev[i].le == b.le {
			d[i].count = nonNeg(b.count - prev[i].count)
		}
	}
	sort.Slice(d, func(i, j int) bool { return d[i].le < d[j].le })
	total := d[len(d)-1].count
	if total == 0 {
		return 0
	}
	rank := q * total
	lo, loCount := 0.0, 0.0
	for _, b := range d {
		if b.count >= rank {
			if math.IsInf(b.le, 1) {
				return lo
			}
			if b.count == loCount {
				return b.le
			}
			return lo + (b.le-lo)*(rank-loCount)/(b.count-loCount)
		}
		lo, loCount = b.le, b.count
	}
	return lo
}
