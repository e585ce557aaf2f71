package enrich

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/panoptes-go/panoptes/internal/selfmetric"
)

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

const (
	kvRead = iota
	kvSkipped
)

type metrics struct {
	lookups        [numSources]prometheus.Counter
	collections    map[string][2]prometheus.Counter // by trigger
	collectSeconds prometheus.Histogram
	changes        prometheus.Counter
	kvErrors       *prometheus.CounterVec
	kvReads        [2]prometheus.Counter // kvRead, kvSkipped
	failing        prometheus.Gauge
	age            prometheus.Histogram
	// The Refresher's.
	scheduled prometheus.Gauge
	skipped   prometheus.Counter
	overruns  prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	lookups := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "panoptes_enrichment_lookups_total",
		Help: "Enrichment lookups by polls, by where the data came from (memory, kv, collected: walked by the poll itself, stale: a failed collection's older data, none).",
	}, []string{"source"})
	collections := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "panoptes_enrichment_collections_total",
		Help: "Enrichment collections (walks of the slow columns) by trigger (scheduled: the enrichment role; inline: a poll found no usable data) and result.",
	}, []string{"trigger", "result"})
	kvReads := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "panoptes_enrichment_kv_reads_total",
		Help: "Enrichment KV reads by visits and lookups (read), and those skipped because the bucket's watch saw no value newer than this node's copy (skipped).",
	}, []string{"result"})
	m := &metrics{
		collections: map[string][2]prometheus.Counter{},
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
			Help: "Failed enrichment KV operations by operation (get, put, delete, decode; too_large: data over the KV value size, kept in memory only).",
		}, []string{"op"}),
		failing: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "panoptes_enrichment_failing_resources",
			Help: "Resources whose last enrichment collection on this node failed.",
		}),
		age: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "panoptes_enrichment_age_seconds",
			Help:    "Age of the enrichment data served to polls.",
			Buckets: []float64{60, 300, 600, 900, 1800, 3600, 7200},
		}),
		scheduled: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "panoptes_enrichment_scheduled_resources",
			Help: "Resources whose enrichment this node refreshes on its schedule (the enrichment role).",
		}),
		skipped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "panoptes_enrichment_refresh_skips_total",
			Help: "Scheduled visits that collected nothing: the data (memory or KV) was fresh, or a collection was running.",
		}),
		overruns: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "panoptes_enrichment_refresh_overruns_total",
			Help: "Scheduled visits skipped because the previous collection of the device was still running.",
		}),
	}
	lookups = selfmetric.Register(reg, lookups)
	collections = selfmetric.Register(reg, collections)
	m.collectSeconds = selfmetric.Register(reg, m.collectSeconds)
	m.changes = selfmetric.Register(reg, m.changes)
	m.kvErrors = selfmetric.Register(reg, m.kvErrors)
	kvReads = selfmetric.Register(reg, kvReads)
	m.kvReads = [2]prometheus.Counter{kvReads.WithLabelValues("read"), kvReads.WithLabelValues("skipped")}
	m.failing = selfmetric.Register(reg, m.failing)
	m.age = selfmetric.Register(reg, m.age)
	m.scheduled = selfmetric.Register(reg, m.scheduled)
	m.skipped = selfmetric.Register(reg, m.skipped)
	m.overruns = selfmetric.Register(reg, m.overruns)
	for i := range m.lookups {
		m.lookups[i] = lookups.WithLabelValues(sourceNames[i])
	}
	for _, tr := range []string{triggerInline, triggerScheduled} {
		m.collections[tr] = [2]prometheus.Counter{collections.WithLabelValues(tr, "ok"), collections.WithLabelValues(tr, "failed")}
	}
	return m
}
