package reload

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/panoptes-go/panoptes/internal/selfmetric"
)

// metrics are the reload self-metrics, named as Prometheus names its own.
type metrics struct {
	successful  prometheus.Gauge
	successTime prometheus.Gauge
	reloads     *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		successful: selfmetric.Register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "panoptes", Subsystem: "config", Name: "last_reload_successful",
			Help: "1 when the last config reload was applied (or none was asked since the start), 0 when it was refused or failed: the node runs on the config before it.",
		})),
		successTime: selfmetric.Register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "panoptes", Subsystem: "config", Name: "last_reload_success_timestamp_seconds",
			Help: "When the running config was loaded: the start, or the last successful reload (Unix seconds).",
		})),
		reloads: selfmetric.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "panoptes", Subsystem: "config", Name: "reloads_total",
			Help: "Config reloads by result: success, invalid (the config does not load), restart_needed (it changes a key only a restart applies), failed (applying it failed).",
		}, []string{"result"})),
	}
	for _, r := range []string{ResultSuccess, ResultInvalid, ResultRestartNeeded, ResultFailed} {
		m.reloads.WithLabelValues(r) // shown at 0 before the first
	}
	return m
}
