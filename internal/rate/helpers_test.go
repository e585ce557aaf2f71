package rate

import (
	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/resource"
)

var testRes = &resource.Resource{Site: "dc1", Class: "network", Subclass: "switch", Type: "cisco",
	ID: "sw1", Endpoint: "sw1", Plugin: "test"}

// ifGroup is an interface group with one port's bits_in counter.
func ifGroup(port string, at float64, bitsIn uint64, hint metric.Hint, speed uint64) *metric.Group {
	ms := []metric.Metric{{Name: "bits_in", Value: metric.Uint(bitsIn), Type: metric.Counter, Timestamp: at, Hint: hint}}
	if speed > 0 {
		ms = append(ms, metric.Metric{Name: "configured_speed", Value: metric.Uint(speed), Type: metric.Gauge, Timestamp: at})
	}
	return &metric.Group{Resource: testRes, Type: "interface", Interval: 60, CreationTimestamp: at,
		SchemaVersion: metric.SchemaVersion, Metrics: ms,
		Dimensions: []metric.Dimension{{Name: "interface_name", Value: port}}}
}

// rateOf returns the group's <name>_rate and whether it is there.
func rateOf(g *metric.Group, name string) (float64, bool) {
	m, ok := g.Metric(name + Suffix)
	if ok && m.Type != metric.Gauge {
		panic("rate is not a gauge")
	}
	return m.Value.Float64(), ok
}
