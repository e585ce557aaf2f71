package sink

import (
	"github.com/panoptes-go/panoptes/internal/selfmetric"

	"github.com/prometheus/client_golang/prometheus"
)

// Dead-letter reasons, the values of the reason label.
const (
	reasonDecode   = "decode"   // the message is not a valid metrics group
	reasonRejected = "rejected" // the store refused it as malformed
)

// sinkMetrics are one sink's children of the shared metric vectors (label
// sink), so every sink of a process reports under the same names.
type sinkMetrics struct {
	written      prometheus.Counter
	writeErrors  prometheus.Counter
	retried      prometheus.Counter
	deadDecode   prometheus.Counter
	deadRejected prometheus.Counter
	writeSeconds prometheus.Observer
	latency      prometheus.Observer
	pending      prometheus.Gauge
	trusted      prometheus.Counter
}

func newSinkMetrics(reg prometheus.Registerer, sink string) *sinkMetrics {
	written := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "panoptes", Subsystem: "sink", Name: "messages_written_total",
		Help: "Metrics groups written by a sink and acked on the bus.",
	}, []string{"sink"})
	writeErrors := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "panoptes", Subsystem: "sink", Name: "write_errors_total",
		Help: "Batches a sink failed to write; they were not acked and are retried.",
	}, []string{"sink"})
	retried := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "panoptes", Subsystem: "sink", Name: "messages_retried_total",
		Help: "Messages handed back for another attempt after a failed write.",
	}, []string{"sink"})
	dead := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "panoptes", Subsystem: "sink", Name: "messages_dead_lettered_total",
		Help: "Poison messages set aside on the dead-letter stream: reason decode (not a valid metrics group) or rejected (refused by the store as malformed).",
	}, []string{"sink", "reason"})
	writeSeconds := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "panoptes", Subsystem: "sink", Name: "write_duration_seconds",
		Help:    "How long one batch write to the store took, successful or not.",
		Buckets: prometheus.ExponentialBuckets(0.001, 4, 9), // 1ms .. 65s
	}, []string{"sink"})
	latency := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "panoptes", Subsystem: "sink", Name: "delivery_latency_seconds",
		Help:    "Time from the publication of a batch's oldest message to its ack: how far behind the store is.",
		Buckets: prometheus.ExponentialBuckets(0.01, 4, 10), // 10ms .. 43m
	}, []string{"sink"})
	pending := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "panoptes", Subsystem: "sink", Name: "consumer_pending",
		Help: "Messages on the bus not yet delivered to a sink (its lag), as of its last batch.",
	}, []string{"sink"})
	trusted := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "panoptes", Subsystem: "sink", Name: "groups_trusted_total",
		Help: "Metrics groups a sink storing messages as they are took without validating them: their publisher's encoder vouched for them (the Panoptes-Valid header; never for a message sourced from another site).",
	}, []string{"sink"})
	if reg != nil {
		written = selfmetric.Register(reg, written)
		trusted = selfmetric.Register(reg, trusted)
		writeErrors = selfmetric.Register(reg, writeErrors)
		retried = selfmetric.Register(reg, retried)
		dead = selfmetric.Register(reg, dead)
		writeSeconds = selfmetric.Register(reg, writeSeconds)
		latency = selfmetric.Register(reg, latency)
		pending = selfmetric.Register(reg, pending)
	}
	return &sinkMetrics{
		written:      written.WithLabelValues(sink),
		writeErrors:  writeErrors.WithLabelValues(sink),
		retried:      retried.WithLabelValues(sink),
		deadDecode:   dead.WithLabelValues(sink, reasonDecode),
		deadRejected: dead.WithLabelValues(sink, reasonRejected),
		writeSeconds: writeSeconds.WithLabelValues(sink),
		latency:      latency.WithLabelValues(sink),
		pending:      pending.WithLabelValues(sink),
		trusted:      trusted.WithLabelValues(sink),
	}
}

func (m *sinkMetrics) deadLettered(reason string) prometheus.Counter {
	if reason == reasonDecode {
		return m.deadDecode
	}
	return m.deadRejected
}
