package node

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/panoptes-go/panoptes/internal/inventory"
	"github.com/panoptes-go/panoptes/internal/selfmetric"
)

type nodeMetrics struct {
	checks prometheus.Gauge
}

func newNodeMetrics(reg prometheus.Registerer, ix *inventory.Index) *nodeMetrics {
	m := &nodeMetrics{
		checks: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "panoptes_checks_scheduled", Help: "Checks (plugin × resource) this node schedules.",
		}),
	}
	m.checks = selfmetric.Register(reg, m.checks)
	selfmetric.Register(reg, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "panoptes_inventory_resources", Help: "Resources in the inventory.",
	}, func() float64 { return float64(ix.Len()) }))
	return m
}
