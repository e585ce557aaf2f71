package bus

import (
	"errors"

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
		m.published = register(reg, m.published)
		m.publishErrors = register(reg, m.publishErrors)
	}
	return m
}

// register registers c, or returns the collector already registered under
// the same name, so two buses on one registry (tests, restarts) share them.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
	}
	return c
}
