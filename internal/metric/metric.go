// Package metric holds the Panoptes MetricsGroup model and its JSON codec
// (schema 0.2). Counter values are exact 64-bit integers end to end: they are
// never routed through float64.
package metric

import (
	"fmt"
	"strconv"

	"github.com/panoptes-go/panoptes/internal/resource"
)

// SchemaVersion is the metrics group schema version Panoptes wrote.
const SchemaVersion = "0.2"

// Type is a metric's type: gauge or counter, written "gauge" and "counter"
// in the JSON. The zero Type is no type (a metric_type missing or ""),
// which Validate rejects; it is written as "". A small integer rather than
// the string keeps Metric at 56 bytes (the interface plugin makes ~1,500 a
// poll).
type Type uint8

const (
	Gauge Type = iota + 1
	Counter
)

// ParseType returns the Type named s: "gauge" or "counter", exactly.
func ParseType(s string) (Type, error) {
	switch s {
	case "gauge":
		return Gauge, nil
	case "counter":
		return Counter, nil
	}
	return 0, fmt.Errorf("metric type %s is neither gauge nor counter", strconv.Quote(s))
}

// String returns "gauge" or "counter"; "" for the zero Type, and "Type(n)"
// for a value that is none of these.
func (t Type) String() string {
	switch t {
	case Gauge:
		return "gauge"
	case Counter:
		return "counter"
	case 0:
		return ""
	}
	return "Type(" + strconv.Itoa(int(t)) + ")"
}

// MarshalText writes t as the JSON does: "gauge", "counter", or "" for the
// zero Type; another value is an error.
func (t Type) MarshalText() ([]byte, error) {
	if t > Counter {
		return nil, fmt.Errorf("metric: invalid %v", t)
	}
	return []byte(t.String()), nil
}

// UnmarshalText reads what MarshalText writes: "gauge", "counter", or ""
// (the zero Type, as a missing metric_type). Anything else is an error
// naming it, as it is for Decode; ParseType refuses "" too.
func (t *Type) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*t = 0
		return nil
	}
	v, err := parseTypeBytes(b)
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// parseTypeBytes is ParseType without converting b (unless it is wrong).
func parseTypeBytes(b []byte) (Type, error) {
	switch string(b) {
	case "gauge":
		return Gauge, nil
	case "counter":
		return Counter, nil
	}
	return ParseType(string(b))
}

// Metric is one named value in a group. Its fields are ordered for size:
// Type and Hint's small fields share a word (TestMetricSize).
type Metric struct {
	Name      string  `json:"metric_name"`
	Value     Value   `json:"metric_value"`
	Timestamp float64 `json:"metric_creation_timestamp"`
	Type      Type    `json:"metric_type"`
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
	// A check keeps its encoded resource for its life: a copy of the
	// exact length, not the appends' array (~340 bytes in one of 384).
	b := appendResource(nil, r)
	json := make([]byte, len(b))
	copy(json, b)
	return &EncodedResource{Resource: r, JSON: json}
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
