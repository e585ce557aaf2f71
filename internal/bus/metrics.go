package bus

import (
	"github.com/panoptes-go/panoptes/internal/selfmetric"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	published     prometheus.Counter
	publishErrors prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		published: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "panoptes", Subsystem: "bus", Name: "published_total",
			Help: "Metrics groups published to the bus and acknowledged by the stream.",
		}),
		publishErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "panoptes", Subsystem: "bus", Name: "publish_errors_total",
			Help: "Metrics groups that were not acknowledged by the stream (error, timeout or cancel).",
		}),
	}
	if reg != nil {
		m.published = selfmetric.Register(reg, m.published)
		m.publishErrors = selfmetric.Register(reg, m.publishErrors)
	}
	return m
}
