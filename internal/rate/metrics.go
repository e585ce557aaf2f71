package rate

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/panoptes-go/panoptes/internal/selfmetric"
)

type metrics struct {
	outcomes     [numOutcomes]prometheus.Counter
	kvErrors     *prometheus.CounterVec
	flushSeconds prometheus.Histogram
	flushBytes   prometheus.Counter
	flushPuts    prometheus.Counter
	resources    prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	outcomes := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "panoptes_rate_samples_total",
		Help: "Counter samples seen by the rate processor, by outcome (rate, wrap, first, stale, gap, restart, discontinuity, backwards).",
	}, []string{"outcome"})
	m := &metrics{
		kvErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "panoptes_rate_kv_errors_total",
			Help: "Failed rate state KV operations, by operation (get, put, decode).",
		}, []string{"op"}),
		flushSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "panoptes_rate_flush_seconds",
			Help:    "Time to write the changed rate state to KV.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 8),
		}),
		flushBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "panoptes_rate_flush_bytes_total",
			Help: "Bytes of rate state written to KV.",
		}),
		flushPuts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "panoptes_rate_flush_puts_total",
			Help: "Rate state KV puts (one per changed resource per flush).",
		}),
		resources: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "panoptes_rate_resources",
			Help: "Resources whose counter samples the rate processor holds.",
		}),
	}
	outcomes = selfmetric.Register(reg, outcomes)
	m.kvErrors = selfmetric.Register(reg, m.kvErrors)
	m.flushSeconds = selfmetric.Register(reg, m.flushSeconds)
	m.flushBytes = selfmetric.Register(reg, m.flushBytes)
	m.flushPuts = selfmetric.Register(reg, m.flushPuts)
	m.resources = selfmetric.Register(reg, m.resources)
	for i := range m.outcomes {
		m.outcomes[i] = outcomes.WithLabelValues(outcomeNames[i])
	}
	return m
}
