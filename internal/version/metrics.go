package version

import "github.com/prometheus/client_golang/prometheus"

// NewCollector returns panoptes_build_info: always 1, labelled with this
// binary's version, commit, date and Go version, so a dashboard can tell
// which nodes run what (join it on instance).
func NewCollector() prometheus.Collector {
	i := Get()
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "panoptes_build_info",
		Help: "Always 1; the labels say which build of panoptes this process runs.",
		ConstLabels: prometheus.Labels{
			"version": i.Version, "commit": i.Commit, "date": i.Date, "goversion": i.GoVersion,
		},
	})
	g.Set(1)
	return g
}
