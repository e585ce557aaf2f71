package file

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/panoptes-go/panoptes/internal/selfmetric"
)

// newMetrics returns the rotation counter of the sink named name.
func newMetrics(reg prometheus.Registerer, name string) prometheus.Counter {
	rotations := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "panoptes", Subsystem: "sink", Name: "file_rotations_total",
		Help: "Times a file sink rotated its file.",
	}, []string{"sink"})
	if reg != nil {
		rotations = selfmetric.Register(reg, rotations)
	}
	return rotations.WithLabelValues(name)
}
