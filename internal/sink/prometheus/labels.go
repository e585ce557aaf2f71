// Package prometheus holds two sinks that bring Panoptes metrics into
// Prometheus: "prometheus", an exposition endpoint Prometheus scrapes, and
// "prometheus_remote_write", which pushes samples to any remote-write 1.0
// receiver. Both name and label series the same way (see README):
//
//	panoptes_<group_type>_<metric_name>[_total]{<dimensions>, resource_site, resource_class,
//	    resource_subclass, resource_type, resource_id, resource_endpoint}
//
// Counters get the conventional "_total" suffix (unless the name already
// ends with it), so a name is the same in the text format, OpenMetrics and
// remote write. Names and label names are sanitized; label values are kept
// as they are (invalid UTF-8 is replaced), and a label with an empty value is
// left out, as Prometheus treats it as absent.
package prometheus

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/panoptes-go/panoptes/internal/metric"
)

const (
	namePrefix    = "panoptes_"
	counterSuffix = "_total"
)

var counterSuffixBytes = []byte(counterSuffix)

// label is one name/value pair of a series.
type label struct{ name, value string }

// appendName appends the series name of metric m of a group of type
// groupType to b: panoptes_<group>_<metric>, "_total" added for counters.
// Every byte outside [a-zA-Z0-9_] becomes '_' (colons are left to recording
// rules, as Prometheus' naming guide asks), one '_' per invalid rune.
func appendName(b []byte, groupType, metricName string, typ metric.Type) []byte {
	start := len(b)
	b = append(b, namePrefix...)
	b = appendSanitized(b, groupType)
	b = append(b, '_')
	b = appendSanitized(b, metricName)
	if typ == metric.Counter && !bytes.HasSuffix(b[start:], counterSuffixBytes) {
		b = append(b, counterSuffix...)
	}
	return b
}

func appendSanitized(b []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if isNameByte(c) {
			b = append(b, c)
			i++
			continue
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		b = append(b, '_')
		i += size
	}
	return b
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

// labelName returns s as a valid label name: [a-zA-Z_][a-zA-Z0-9_]*, with a
// '_' in front of a leading digit, and "dim" in front of a leading "__"
// (reserved by Prometheus for internal labels). It allocates only when s
// needs changes.
func labelName(s string) string {
	ok := s != "" && !(s[0] >= '0' && s[0] <= '9') && !strings.HasPrefix(s, "__")
	for i := 0; ok && i < len(s); i++ {
		ok = isNameByte(s[i])
	}
	if ok {
		return s
	}
	b := make([]byte, 0, len(s)+3)
	switch {
	case s == "":
		b = append(b, '_')
	case s[0] >= '0' && s[0] <= '9':
		b = append(b, '_')
	case strings.HasPrefix(s, "__"):
		b = append(b, "dim"...)
	}
	return string(appendSanitized(b, s))
}

// labelValue returns s, with invalid UTF-8 replaced (Prometheus requires
// UTF-8 label values).
func labelValue(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// appendGroupLabels appends the labels every series of g carries (its
// dimensions and resource fields) to dst, sorted by name, empty values left
// out. Two labels with the same name after sanitizing (a dimension named
// "resource_site", or "if-name" beside "if_name") make the group
// unrepresentable: that is an error naming them.
func appendGroupLabels(dst []label, g *metric.Group) ([]label, error) {
	if g == nil || g.Resource == nil {
		return dst, fmt.Errorf("metrics group has no resource")
	}
	start := len(dst)
	add := func(name, value string) {
		if value != "" {
			dst = append(dst, label{name: name, value: labelValue(value)})
		}
	}
	r := g.Resource
	add("resource_site", r.Site)
	add("resource_class", r.Class)
	add("resource_subclass", r.Subclass)
	add("resource_type", r.Type)
	add("resource_id", r.ID)
	add("resource_endpoint", r.Endpoint)
	for _, d := range g.Dimensions {
		add(labelName(d.Name), d.Value)
	}
	ls := dst[start:]
	slices.SortFunc(ls, func(a, b label) int { return strings.Compare(a.name, b.name) })
	for i := 1; i < len(ls); i++ {
		if ls[i].name == ls[i-1].name {
			return dst, fmt.Errorf("two labels named %q (dimensions and resource fields must have distinct names after sanitizing)", ls[i].name)
		}
	}
	return dst, nil
}

// timestampMs is the sample time of m in milliseconds: the metric's creation
// time, else the group's, else 0 (unknown).
func timestampMs(m *metric.Metric, g *metric.Group) int64 {
	ts := m.Timestamp
	if ts <= 0 {
		ts = g.CreationTimestamp
	}
	if ts <= 0 {
		return 0
	}
	return int64(ts*1000 + 0.5)
}
