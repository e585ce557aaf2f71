package wire

import (
	"fmt"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/resource"
)

func testResource(site, id string) *resource.Resource {
	return &resource.Resource{
		Site: site, Class: "network", Subclass: "switch", Type: "cisco",
		ID: id, Endpoint: id, Metadata: map[string]string{"_resource_ttl": "604800"},
		CreationTimestamp: 1535496674.53, Plugin: "discovery_csv",
	}
}

// interfaceSet is what one interface check of a switch produces: an
// interface group per port and the status group.
func interfaceSet(r *resource.Resource, ports int) *metric.GroupSet {
	set := &metric.GroupSet{}
	now := 1535497112.075
	for i := range ports {
		g := &metric.Group{
			Resource: r, Type: "interface", Interval: 60, CreationTimestamp: now,
			SchemaVersion: metric.SchemaVersion,
			Dimensions: []metric.Dimension{
				{Name: "interface_name", Value: fmt.Sprintf("Ethernet1/%d", i+1)},
				{Name: "media_type", Value: "ethernetCsmacd"},
			},
		}
		for _, name := range []string{"bits_in", "bits_out", "packets_in", "packets_out", "errors_in", "errors_out", "discards_in", "discards_out"} {
			g.Metrics = append(g.Metrics, metric.Metric{Name: name, Value: metric.Uint(29771896789864 + uint64(i)), Type: metric.Counter, Timestamp: now})
		}
		g.Metrics = append(g.Metrics, metric.Metric{Name: "oper_state", Value: metric.Int(1), Type: metric.Gauge, Timestamp: now})
		set.Groups = append(set.Groups, g)
	}
	set.Groups = append(set.Groups, &metric.Group{
		Resource: r, Type: "status", Interval: 60, CreationTimestamp: now, SchemaVersion: metric.SchemaVersion,
		Metrics: []metric.Metric{{Name: "polling_status", Value: metric.Int(metric.StatusSuccess), Type: metric.Gauge, Timestamp: now}},
	})
	return set
}

// jsonOf is each group's JSON, the reference a decoded group is compared to.
func jsonOf(groups []*metric.Group) []string {
	var out []string
	for _, g := range groups {
		out = append(out, string(metric.AppendJSON(nil, g)))
	}
	return out
}
