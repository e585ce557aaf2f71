package kafka

import (
	"sync"

	"github.com/panoptes-go/panoptes/internal/selfmetric"

	"github.com/prometheus/client_golang/prometheus"
)

// sourceMetrics are one Kafka-sourced sink's children of shared vectors.
type sourceMetrics struct {
	lag          prometheus.Gauge
	retries      prometheus.Counter
	commitErrors prometheus.Counter
	fetchErrors  prometheus.Counter

	mu    sync.Mutex // partitions are forgotten from the group's goroutine
	parts map[topicPartition]int64
}

type topicPartition struct {
	topic     string
	partition int32
}

func newSourceMetrics(reg prometheus.Registerer, sinkName string) *sourceMetrics {
	lag := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "panoptes", Subsystem: "sink", Name: "kafka_source_lag",
		Help: "Records in the Kafka partitions a sink reads that it has not handed to the sink yet, as of its last poll.",
	}, []string{"sink"})
	retries := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "panoptes", Subsystem: "sink", Name: "kafka_source_rereads_total",
		Help: "Batches read again from Kafka because the sink's write failed.",
	}, []string{"sink"})
	commitErrors := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "panoptes", Subsystem: "sink", Name: "kafka_source_commit_errors_total",
		Help: "Offset commits that failed after a write; those records will be written again.",
	}, []string{"sink"})
	fetchErrors := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "panoptes", Subsystem: "sink", Name: "kafka_source_fetch_errors_total",
		Help: "Errors fetching from Kafka partitions or the consumer group.",
	}, []string{"sink"})
	if reg != nil {
		lag = selfmetric.Register(reg, lag)
		retries = selfmetric.Register(reg, retries)
		commitErrors = selfmetric.Register(reg, commitErrors)
		fetchErrors = selfmetric.Register(reg, fetchErrors)
	}
	return &sourceMetrics{
		lag:          lag.WithLabelValues(sinkName),
		retries:      retries.WithLabelValues(sinkName),
		commitErrors: commitErrors.WithLabelValues(sinkName),
		fetchErrors:  fetchErrors.WithLabelValues(sinkName),
		parts:        map[topicPartition]int64{},
	}
}

func (m *sourceMetrics) setLag(topic string, partition int32, lag int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.parts[topicPartition{topic, partition}] = max(lag, 0)
	m.lag.Set(float64(m.sumLocked()))
}

func (m *sourceMetrics) dropLag(topic string, partition int32) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.parts, topicPartition{topic, partition})
	m.lag.Set(float64(m.sumLocked()))
}

func (m *sourceMetrics) clearLag() {
	m.mu.Lock()
	defer m.mu.Unlock()
	clear(m.parts)
	m.lag.Set(0)
}

func (m *sourceMetrics) totalLag() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sumLocked()
}

func (m *sourceMetrics) sumLocked() int64 {
	var n int64
	for _, l := range m.parts {
		n += l
	}
	return n
}
