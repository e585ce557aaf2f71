package sim

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/panoptes-go/panoptes/internal/selfmetric"
)

// registerMetrics exposes the farm's counters, read on scrape (the serving
// path only bumps its device's own counters).
func registerMetrics(reg prometheus.Registerer, f *Farm) {
	if reg == nil {
		return
	}
	counter := func(name, help string, get func(Stats) uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "panoptes_sim_" + name, Help: help},
			func() float64 { return float64(get(f.Stats())) })
	}
	dropped := func(reason string, get func(Stats) uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "panoptes_sim_dropped_total", Help: "Requests not answered, by reason.",
			ConstLabels: prometheus.Labels{"reason": reason},
		}, func() float64 { return float64(get(f.Stats())) })
	}
	for _, c := range []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "panoptes_sim_devices", Help: "Simulated devices."},
			func() float64 { return float64(len(f.devices)) }),
		counter("requests_total", "Request datagrams received.", func(s Stats) uint64 { return s.Requests }),
		counter("varbinds_total", "Varbinds answered.", func(s Stats) uint64 { return s.Varbinds }),
		counter("reports_total", "SNMPv3 reports sent.", func(s Stats) uint64 { return s.Reports }),
		dropped("loss", func(s Stats) uint64 { return s.Lost }),
		dropped("silent", func(s Stats) uint64 { return s.Silent }),
		dropped("community", func(s Stats) uint64 { return s.BadCommunity }),
		dropped("malformed", func(s Stats) uint64 { return s.Malformed }),
		dropped("usm", func(s Stats) uint64 { return s.USM }),
		dropped("no_device", func(s Stats) uint64 { return s.NoDevice }),
		dropped("queue_full", func(s Stats) uint64 { return s.QueueFull }),
	} {
		if selfmetric.Register(reg, c) != c {
			// Another farm's: it would count that farm, not this one.
			f.log.Warn("self-metrics not registered: a second farm on one registry")
			return
		}
	}
}
