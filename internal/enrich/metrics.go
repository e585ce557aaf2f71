package enrich

import "github.com/prometheus/client_golang/prometheus"

const (
	srcMemory = iota
	srcKV
	srcCollected
	srcStale
	srcNone
	numSources
)

var sourceNames = [numSources]string{"memory", "kv", "collected", "stale", "none"}

const (
	resultOK = iota
	resultFailed
)

type metrics struct {
	lookups        [numSources]prometheus.Counter
	collections    [2]prometheus.Counter
	collectSeconds prometheus.Histogram
	changes        prometheus.Counter
	kvErrors       *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	lookups := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "panoptes_enrichment_lookups_total",
		Help: "Enrichment lookups by where the data came from (memory, kv, collected, stale, none).",
	}, []string{"source"})
	collections := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "panoptes_enrichment_collections_total",
		Help: "Enrichment collections (walks of the slow columns) by result.",
	}, []string{"result"})
	m := &metrics{
		collectSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "panoptes_enrichment_collect_seconds",
			Help:    "Time to collect one device's enrichment.",
			Buckets: prometheus.ExponentialBuckets(0.005, 3, 8),
		}),
		changes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "panoptes_enrichment_changes_total",
			Help: "Lookups that found the device changed (sysUpTime went back, ifTableLastChange moved).",
		}),
		kvErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "panoptes_enrichment_kv_errors_total",
			Help: "Failed enrichment KV operations by operation (get, put, decode).",
		}, []string{"op"}),
	}
	for i := range m.lookups {
		m.lookups[i] = lookups.WithLabelValues(sourceNames[i])
	}
	m.collections[resultOK] = collections.WithLabelValues("ok")
	m.collections[resultFailed] = collections.WithLabelValues("failed")
	if reg != nil {
		reg.MustRegister(lookups, collections, m.collectSeconds, m.changes, m.kvErrors)
	}
	return m
}
