package tracker

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/panoptes-go/panoptes/internal/selfmetric"
)

type metrics struct {
	emitted       *prometheus.CounterVec
	conflicts     prometheus.Counter
	stale         prometheus.Counter
	damaged       prometheus.Counter
	publishErrors prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	return &metrics{
		emitted: selfmetric.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "panoptes_events_emitted_total",
			Help: "State changes recorded as events (once per change across the cluster), by kind and status (problem, ok).",
		}, []string{"kind", "status"})),
		conflicts: selfmetric.Register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "panoptes_events_state_conflicts_total",
			Help: "Compare-and-set retries of event state entries: another node updated the same resource's entry first.",
		})),
		stale: selfmetric.Register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "panoptes_events_stale_observations_total",
			Help: "Observations older than their object's last recorded change, ignored (redelivered or late messages).",
		})),
		damaged: selfmetric.Register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "panoptes_events_state_damaged_total",
			Help: "Event state entries that did not decode and were started again.",
		})),
		publishErrors: selfmetric.Register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "panoptes_events_publish_errors_total",
			Help: "Failed publishes of events to the events stream (the event stays pending and is published again).",
		})),
	}
}
