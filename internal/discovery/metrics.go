package discovery

import (
	"log/slog"

	"github.com/panoptes-go/panoptes/internal/selfmetric"

	"github.com/prometheus/client_golang/prometheus"
)

// Run results, the values of the result label.
const (
	resultOK           = "ok"
	resultKeptPrevious = "kept_previous" // the set looked broken; the inventory was not touched
	resultFailed       = "failed"        // the source or the inventory failed
)

type metrics struct {
	resources   *prometheus.GaugeVec
	runs        *prometheus.CounterVec
	rejected    *prometheus.CounterVec
	lastSuccess *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer, log *slog.Logger) *metrics {
	m := &metrics{
		resources: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "panoptes", Subsystem: "discovery", Name: "resources",
			Help: "Resources in the inventory, by the discovery source that produced them.",
		}, []string{"source"}),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "panoptes", Subsystem: "discovery", Name: "runs_total",
			Help: "Discovery runs by source and result (ok, kept_previous, failed).",
		}, []string{"source", "result"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "panoptes", Subsystem: "discovery", Name: "rows_rejected_total",
			Help: "Input rows rejected by discovery sources.",
		}, []string{"source"}),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "panoptes", Subsystem: "discovery", Name: "last_success_timestamp_seconds",
			Help: "Unix time of the last discovery run whose set was applied, by source.",
		}, []string{"source"}),
	}
	if reg != nil {
		m.resources = selfmetric.Register(reg, m.resources)
		m.runs = selfmetric.Register(reg, m.runs)
		m.rejected = selfmetric.Register(reg, m.rejected)
		m.lastSuccess = selfmetric.Register(reg, m.lastSuccess)
	}
	return m
}

// classifyMetrics are the classification decorator's (Classify).
type classifyMetrics struct {
	probes       *prometheus.CounterVec
	unclassified *prometheus.GaugeVec
}

func newClassifyMetrics(reg prometheus.Registerer) *classifyMetrics {
	m := &classifyMetrics{
		probes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "panoptes", Subsystem: "discovery", Name: "classify_probes_total",
			Help: "SNMP identity probes of discovered devices, by source and result (ok, failed).",
		}, []string{"source", "result"}),
		unclassified: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "panoptes", Subsystem: "discovery", Name: "unclassified_resources",
			Help: "Resources whose last identity probe failed (kept in the inventory, probed again next run), by source.",
		}, []string{"source"}),
	}
	if reg != nil {
		m.probes = selfmetric.Register(reg, m.probes)
		m.unclassified = selfmetric.Register(reg, m.unclassified)
	}
	return m
}
