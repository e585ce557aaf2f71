package schedule

import (
	"log/slog"

	"github.com/panoptes-go/panoptes/internal/selfmetric"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the scheduler's self-metrics. They always exist (so the hot
// path never checks for nil); they are registered only when a Registerer is
// given.
type metrics struct {
	started   *prometheus.CounterVec // plugin
	skipped   *prometheus.CounterVec // plugin, reason
	panicked  *prometheus.CounterVec // plugin
	running   prometheus.Gauge
	scheduled prometheus.Gauge
	lateness  prometheus.Histogram
}

// pluginMetrics caches one plugin's counters so that dispatch does no label
// lookup.
type pluginMetrics struct {
	name     string
	started  prometheus.Counter
	skipped  prometheus.Counter // reason overrun
	removed  prometheus.Counter // skipped, reason removed
	stopped  prometheus.Counter // skipped, reason stopped
	panicked prometheus.Counter
}

// Reasons a due time is skipped (the reason label of
// panoptes_schedule_checks_skipped_total).
const (
	// SkipOverrun: the check's previous run was still in flight, or its
	// run waited for a worker, past its next due time.
	SkipOverrun = "overrun"
	// SkipRemoved: the check was removed (a handover, a reload) while its
	// run waited for a worker.
	SkipRemoved = "removed"
	// SkipStopped: the scheduler stopped while the run waited for a worker.
	SkipStopped = "stopped"
)

func newMetrics(reg prometheus.Registerer, log *slog.Logger) *metrics {
	m := &metrics{
		started: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "panoptes_schedule_checks_started_total",
			Help: "Checks started, by polling plugin.",
		}, []string{"plugin"}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "panoptes_schedule_checks_skipped_total",
			Help: "Due times skipped, by polling plugin and reason: overrun (the check's previous run was still in flight, or its run waited for a worker, past its next due time), removed (the check was removed while its run waited for a worker), stopped (shutdown while it waited).",
		}, []string{"plugin", "reason"}),
		panicked: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "panoptes_schedule_checks_panicked_total",
			Help: "Check runs that panicked (recovered), by polling plugin.",
		}, []string{"plugin"}),
		running: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "panoptes_schedule_checks_running",
			Help: "Checks running now.",
		}),
		scheduled: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "panoptes_schedule_checks_scheduled",
			Help: "Checks scheduled on this node.",
		}),
		lateness: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "panoptes_schedule_lateness_seconds",
			Help:    "Start time minus due time of check runs.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}),
	}
	if reg == nil {
		return m
	}
	m.started = selfmetric.Register(reg, m.started)
	m.skipped = selfmetric.Register(reg, m.skipped)
	m.panicked = selfmetric.Register(reg, m.panicked)
	m.running = selfmetric.Register(reg, m.running)
	m.scheduled = selfmetric.Register(reg, m.scheduled)
	m.lateness = selfmetric.Register(reg, m.lateness)
	return m
}

func (m *metrics) forPlugin(name string) *pluginMetrics {
	return &pluginMetrics{
		name:     name,
		started:  m.started.WithLabelValues(name),
		skipped:  m.skipped.WithLabelValues(name, SkipOverrun),
		removed:  m.skipped.WithLabelValues(name, SkipRemoved),
		stopped:  m.skipped.WithLabelValues(name, SkipStopped),
		panicked: m.panicked.WithLabelValues(name),
	}
}
