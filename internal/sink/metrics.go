package sink

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// sinkMetrics are one sink's children of the shared metric vectors.
type sinkMetrics struct {
	written     prometheus.Counter
	writeErrors prometheus.Counter
	pending     prometheus.Gauge
	rotations   prometheus.Counter
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
	pending := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "panoptes", Subsystem: "sink", Name: "consumer_pending",
		Help: "Messages on the bus not yet delivered to a sink (its lag), as of its last batch.",
	}, []string{"sink"})
	rotations := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "panoptes", Subsystem: "sink", Name: "file_rotations_total",
		Help: "Times a file sink rotated its file.",
	}, []string{"sink"})
	if reg != nil {
		written = register(reg, written)
		writeErrors = register(reg, writeErrors)
		pending = register(reg, pending)
		rotations = register(reg, rotations)
	}
	return &sinkMetrics{
		written:     written.WithLabelValues(sink),
		writeErrors: writeErrors.WithLabelValues(sink),
		pending:     pending.WithLabelValues(sink),
		rotations:   rotations.WithLabelValues(sink),
	}
}

// register registers c, or returns the collector already registered under
// the same name, so every sink on one registry shares the vectors.
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
