package poll

import (
	"github.com/panoptes-go/panoptes/internal/selfmetric"

	"github.com/prometheus/client_golang/prometheus"
)

// runnerMetrics are the Runner's self-metrics.
type runnerMetrics struct {
	checks   *prometheus.CounterVec
	duration *prometheus.HistogramVec
	panics   *prometheus.CounterVec
}

func newRunnerMetrics(reg prometheus.Registerer) *runnerMetrics {
	m := &runnerMetrics{
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "panoptes_poll_checks_total",
			Help: "Checks run, by polling plugin instance and polling status.",
		}, []string{"plugin", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "panoptes_poll_duration_seconds",
			Help:    "Time one check took, by polling plugin instance.",
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120},
		}, []string{"plugin"}),
		panics: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "panoptes_poll_plugin_panics_total",
			Help: "Panics recovered from polling plugins (each one is a bug), by plugin instance.",
		}, []string{"plugin"}),
	}
	if reg != nil {
		m.checks = selfmetric.Register(reg, m.checks)
		m.duration = selfmetric.Register(reg, m.duration)
		m.panics = selfmetric.Register(reg, m.panics)
	}
	return m
}
