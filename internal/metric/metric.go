// Package metric holds the Panoptes MetricsGroup model and its JSON codec
// (schema 0.2). Counter values are exact 64-bit integers end to end: they are
// never routed through float64.
package metric

import (
	"github.com/panoptes-go/panoptes/internal/resource"
)

// SchemaVersion is the metrics group schema version Panoptes wrote.
const SchemaVersion = "0.2"

// Type is a metric's type: gauge or counter.
type Type string

const (
	Gauge   Type = "gauge"
	Counter Type = "counter"
)

// Metric is one named value in a group.
type Metric struct {
	Name      string  `json:"metric_name"`
	Value     Value   `json:"metric_value"`
	Type      Type    `json:"metric_type"`
	Timestamp float64 `json:"metric_creation_timestamp"`
	// Hint is what edge processing (rates) must know about a counter that
	// the message does not carry. It is never encoded or decoded.
	Hint Hint `json:"-"`
}

// Hint describes a counter sample for rate computation. Zero values mean
// unknown.
type Hint struct {
	// Bits is the counter's width: it wraps at 2^Bits (32 for Counter32,
	// 35 for a Counter32 of octets reported in bits, 64 for Counter64).
	Bits uint8
	// HaveUptime says Uptime is set: the device's sysUpTime (hundredths
	// of a second) when the counter was read. It going back, or advancing
	// much less than the wall clock, means the agent restarted.
	HaveUptime bool
	// HaveDiscontinuity says Discontinuity is set: a value that changes
	// when the counter's continuity breaks (IF-MIB
	// ifCounterDiscontinuityTime).
	HaveDiscontinuity bool
	Uptime            uint32
	Discontinuity     uint32
}

// Dimension is one name/value pair that, with the resource, identifies a series.
type Dimension struct {
	Name  string `json:"dimension_name"`
	Value string `json:"dimension_value"`
}

// Group is a MetricsGroup: the metrics of one row (an interface, a CPU, ...)
// of one resource at one time.
type Group struct {
	Resource          *resource.Resource `json:"resource"`
	Type              string             `json:"metrics_group_type"`
	Interval          int                `json:"metrics_group_interval"`
	CreationTimestamp float64            `json:"metrics_group_creation_timestamp"`
	SchemaVersion     string             `json:"metrics_group_schema_version"`
	Metrics           []Metric           `json:"metrics"`
	Dimensions        []Dimension        `json:"dimensions"`
}

// Dimension returns the value of the named dimension, or "" when absent.
func (g *Group) Dimension(name string) string {
	for _, d := range g.Dimensions {
		if d.Name == name {
			return d.Value
		}
	}
	return ""
}

// Metric returns the named metric and whether it was found.
func (g *Group) Metric(name string) (Metric, bool) {
	for _, m := range g.Metrics {
		if m.Name == name {
			return m, true
		}
	}
	return Metric{}, false
}

// GroupSet is a MetricsGroupSet: what one check produces.
type GroupSet struct {
	Groups []*Group `json:"metrics_group_set"`
	// Encoded, when set, is the JSON of the resource its groups share,
	// made once for all polls of a resource that does not change (a
	// poll.Check keeps one): encoders start from it (Encoder.Start)
	// instead of encoding the resource at every poll.
	Encoded *EncodedResource `json:"-"`
	// Err is why the check that made the set failed (its status group
	// says how), for the node's own status page; never encoded or
	// published.
	Err error `json:"-"`
}

// EncodedResource is a resource with its JSON, as AppendJSON writes it
// inside a group. The resource must not change afterwards.
type EncodedResource struct {
	Resource *resource.Resource
	JSON     []byte
}

// EncodeResource encodes r once for its EncodedResource.
func EncodeResource(r *resource.Resource) *EncodedResource {
	if r == nil {
		return nil
	}
	return &EncodedResource{Resource: r, JSON: appendResource(nil, r)}
}

// Polling statuses carried by the status group's polling_status metric.
const (
	StatusSuccess         = 0
	StatusAuthFailure     = 1
	StatusNetworkFailure  = 2
	StatusTimeout         = 3
	StatusPartialFailure  = 4
	StatusInternalFailure = 5
	StatusMissingMetrics  = 6
	StatusPingFailure     = 7
	StatusEnrichFailure   = 8
)

// StatusName names a polling status for logs and self-metric labels.
func StatusName(s int) string {
	switch s {
	case StatusSuccess:
		return "success"
	case StatusAuthFailure:
		return "auth_failure"
	case StatusNetworkFailure:
		return "network_failure"
	case StatusTimeout:
		return "timeout"
	case StatusPartialFailure:
		return "partial_failure"
	case StatusInternalFailure:
		return "internal_failure"
	case StatusMissingMetrics:
		return "missing_metrics"
	case StatusPingFailure:
		return "ping_failure"
	case StatusEnrichFailure:
		return "enrichment_failure"
	}
	return "unknown"
}
