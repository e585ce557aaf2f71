package prometheus

import (
	"github.com/panoptes-go/panoptes/internal/selfmetric"

	"github.com/prometheus/client_golang/prometheus"
)

// expositionMetrics are one exposition sink's children of shared vectors.
type expositionMetrics struct {
	series        prometheus.Gauge
	expired       prometheus.Counter
	scrapes       prometheus.Counter
	scrapeSeconds prometheus.Observer
}

func newExpositionMetrics(reg prometheus.Registerer, sinkName string) *expositionMetrics {
	series := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "panoptes", Subsystem: "sink", Name: "prometheus_series",
		Help: "Series held by a Prometheus exposition sink.",
	}, []string{"sink"})
	expired := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "panoptes", Subsystem: "sink", Name: "prometheus_series_expired_total",
		Help: "Series a Prometheus exposition sink dropped because they were not refreshed within their staleness time.",
	}, []string{"sink"})
	scrapes := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "panoptes", Subsystem: "sink", Name: "prometheus_scrapes_total",
		Help: "Scrapes served by a Prometheus exposition sink.",
	}, []string{"sink"})
	scrapeSeconds := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "panoptes", Subsystem: "sink", Name: "prometheus_scrape_duration_seconds",
		Help:    "Time a Prometheus exposition sink took to serve one scrape.",
		Buckets: []float64{.001, .01, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"sink"})
	if reg != nil {
		series = selfmetric.Register(reg, series)
		expired = selfmetric.Register(reg, expired)
		scrapes = selfmetric.Register(reg, scrapes)
		scrapeSeconds = selfmetric.Register(reg, scrapeSeconds)
	}
	return &expositionMetrics{
		series:        series.WithLabelValues(sinkName),
		expired:       expired.WithLabelValues(sinkName),
		scrapes:       scrapes.WithLabelValues(sinkName),
		scrapeSeconds: scrapeSeconds.WithLabelValues(sinkName),
	}
}

// remoteWriteMetrics are one remote-write sink's children of shared vectors.
type remoteWriteMetrics struct {
	samples prometheus.Counter
	bytes   prometheus.Counter
	// requests by outcome: 2xx, 4xx, 5xx, error (no response).
	requests *prometheus.CounterVec
	sinkName string
}

func newRemoteWriteMetrics(reg prometheus.Registerer, sinkName string) *remoteWriteMetrics {
	samples := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "panoptes", Subsystem: "sink", Name: "remote_write_samples_total",
		Help: "Samples a Prometheus remote-write sink had accepted by its receiver.",
	}, []string{"sink"})
	bytes := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "panoptes", Subsystem: "sink", Name: "remote_write_sent_bytes_total",
		Help: "Compressed request bytes a Prometheus remote-write sink sent.",
	}, []string{"sink"})
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "panoptes", Subsystem: "sink", Name: "remote_write_requests_total",
		Help: "Remote-write requests by outcome: 2xx, 4xx, 5xx or error (no response).",
	}, []string{"sink", "outcome"})
	if reg != nil {
		samples = selfmetric.Register(reg, samples)
		bytes = selfmetric.Register(reg, bytes)
		requests = selfmetric.Register(reg, requests)
	}
	return &remoteWriteMetrics{
		samples:  samples.WithLabelValues(sinkName),
		bytes:    bytes.WithLabelValues(sinkName),
		requests: requests,
		sinkName: sinkName,
	}
}

func (m *remoteWriteMetrics) request(outcome string) {
	m.requests.WithLabelValues(m.sinkName, outcome).Inc()
}
