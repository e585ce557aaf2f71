package poll

import (
	"errors"

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
		m.checks = register(reg, m.checks)
		m.duration = register(reg, m.duration)
		m.panics = register(reg, m.panics)
	}
	return m
}

// register registers c, or returns the collector already registered under
// the same name so that several runners can share one registry.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic("poll: register self-metric: " + err.Error())
	}
	return c
}
