package bus

import (
	"github.com/panoptes-go/panoptes/internal/selfmetric"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	published     prometheus.Counter
	publishErrors prometheus.Counter
	buffered      prometheus.Gauge
	bufferedBytes prometheus.Gauge
	dropped       prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		published: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "panoptes", Subsystem: "bus", Name: "published_total",
			Help: "Metrics groups published to the bus and acknowledged by the stream (directly or from the buffer).",
		}),
		publishErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "panoptes", Subsystem: "bus", Name: "publish_errors_total",
			Help: "Metrics groups neither acknowledged nor buffered (invalid group, or dropped for a full buffer).",
		}),
		buffered: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "panoptes", Subsystem: "bus", Name: "buffered_messages",
			Help: "Metrics groups held in the local publish buffer until the bus takes them.",
		}),
		bufferedBytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "panoptes", Subsystem: "bus", Name: "buffered_bytes",
			Help: "Approximate memory held by the local publish buffer.",
		}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "panoptes", Subsystem: "bus", Name: "dropped_total",
			Help: "Metrics groups dropped because the local publish buffer was full.",
		}),
	}
	if reg != nil {
		m.published = selfmetric.Register(reg, m.published)
		m.publishErrors = selfmetric.Register(reg, m.publishErrors)
		m.buffered = selfmetric.Register(reg, m.buffered)
		m.bufferedBytes = selfmetric.Register(reg, m.bufferedBytes)
		m.dropped = selfmetric.Register(reg, m.dropped)
	}
	return m
}
