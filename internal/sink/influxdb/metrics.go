package influxdb

import (
	"github.com/panoptes-go/panoptes/internal/selfmetric"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics of one InfluxDB sink (label sink); the consumer's own metrics
// (written, failed, retried, dead-lettered, latency, lag) are in package sink.
type metrics struct {
	requests *prometheus.CounterVec // by code: HTTP status or "error"
	dropped  *prometheus.CounterVec // by reason
}

func newMetrics(reg prometheus.Registerer, sink string) *metrics {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "panoptes", Subsystem: "sink_influxdb", Name: "requests_total",
		Help: "Write requests sent to InfluxDB, by HTTP status (\"error\": no response).",
	}, []string{"sink", "code"})
	dropped := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "panoptes", Subsystem: "sink_influxdb", Name: "fields_dropped_total",
		Help: "Metrics left out of their point: uint64_overflow (a counter above 2^63-1, which InfluxDB 1.x cannot store as an integer) or not_finite (NaN, Inf).",
	}, []string{"sink", "reason"})
	if reg != nil {
		requests = selfmetric.Register(reg, requests)
		dropped = selfmetric.Register(reg, dropped)
	}
	return &metrics{
		requests: requests.MustCurryWith(prometheus.Labels{"sink": sink}),
		dropped:  dropped.MustCurryWith(prometheus.Labels{"sink": sink}),
	}
}
