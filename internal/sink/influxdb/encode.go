package influxdb

import (
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/influxdata/line-protocol/v2/lineprotocol"

	"github.com/panoptes-go/panoptes/internal/metric"
)

// Reasons a metric is left out of its point (label reason of
// panoptes_sink_influxdb_fields_dropped_total).
const (
	dropOverflow  = "uint64_overflow" // a counter above 2^63-1: InfluxDB 1.x has no unsigned type
	dropNotFinite = "not_finite"      // NaN or ±Inf: InfluxDB cannot store them
)

// encoder turns metrics groups into line protocol, one point per group:
// measurement = group type; tags = dimensions plus resource_site,
// resource_class, resource_subclass, resource_type, resource_endpoint (and
// resource_id when asked), sorted; fields = metrics; millisecond timestamps.
// It is not safe for concurrent use.
type encoder struct {
	enc       lineprotocol.Encoder
	compat    bool // Panoptes' field names <metric>__<type>, float values, second timestamps
	includeID bool
	dropped   func(reason string)

	tags   []tag
	fields []field
}

type tag struct{ key, value string }

type field struct {
	key   string
	value lineprotocol.Value
}

func newEncoder(compat, includeID bool, dropped func(string)) *encoder {
	e := &encoder{compat: compat, includeID: includeID, dropped: dropped}
	e.enc.SetPrecision(lineprotocol.Millisecond)
	return e
}

// reset starts a new request body.
func (e *encoder) reset() { e.enc.Reset() }

// bytes is the body encoded so far.
func (e *encoder) bytes() []byte { return e.enc.Bytes() }

// encode appends g as one line. It reports false, appending nothing, when g
// has no metric InfluxDB can store; an error means g cannot be written
// (the encoder's reason), also with nothing appended. fallback is the
// record's publish time, used when g carries no timestamp.
func (e *encoder) encode(g *metric.Group, fallback time.Time) (bool, error) {
	e.fields = e.fields[:0]
	for _, m := range g.Metrics {
		v, ok := e.value(m)
		if !ok {
			continue
		}
		key := m.Name
		if e.compat {
			key = m.Name + "__" + m.Type.String()
		}
		e.fields = append(e.fields, field{clean(key, '_'), v})
	}
	if len(e.fields) == 0 {
		return false, nil
	}
	e.collectTags(g)

	e.enc.ClearErr()
	measurement := g.Type
	if e.compat {
		measurement = panoptesMeasurement(measurement)
	}
	e.enc.StartLine(clean(measurement, '_'))
	for _, t := range e.tags {
		e.enc.AddTag(t.key, t.value)
	}
	for _, f := range e.fields {
		e.enc.AddField(f.key, f.value)
	}
	e.enc.EndLine(e.timestamp(g, fallback))
	if err := e.enc.Err(); err != nil {
		e.enc.ClearErr()
		return false, err
	}
	return true, nil
}

// value is a metric as InfluxDB stores it. Counters are integers (exact);
// gauges are floats: JSON writes a float gauge of 2.0 as 2, so deciding by
// the value would flip a field between integer and float, and InfluxDB
// refuses the second type for good (field type conflict).
func (e *encoder) value(m metric.Metric) (lineprotocol.Value, bool) {
	if e.compat || m.Type != metric.Counter {
		return e.float(m.Value.Float64())
	}
	v := m.Value
	if v.IsInteger() {
		if v.IsNegative() {
			return lineprotocol.IntValue(v.Int64()), true
		}
		if u := v.Uint64(); u <= math.MaxInt64 {
			return lineprotocol.IntValue(int64(u)), true
		}
		// InfluxDB 1.x rejects the unsigned 'u' suffix, and writing the
		// value as a float would conflict with the field's integer type
		// and lose the whole point: leave this one metric out, counted.
		e.dropped(dropOverflow)
		return lineprotocol.Value{}, false
	}
	f := v.Float64()
	if f == math.Trunc(f) && f >= math.MinInt64 && f < math.MaxInt64 {
		return lineprotocol.IntValue(int64(f)), true
	}
	return e.float(f)
}

func (e *encoder) float(f float64) (lineprotocol.Value, bool) {
	v, ok := lineprotocol.FloatValue(f)
	if !ok {
		e.dropped(dropNotFinite)
	}
	return v, ok
}

// collectTags fills e.tags, sorted by key as line protocol wants. Resource
// tags override dimensions of the same name, as in Panoptes; empty values
// are left out (line protocol has no empty tag value).
func (e *encoder) collectTags(g *metric.Group) {
	e.tags = e.tags[:0]
	for _, d := range g.Dimensions {
		e.addTag(d.Name, d.Value)
	}
	if r := g.Resource; r != nil {
		e.addTag("resource_class", r.Class)
		e.addTag("resource_endpoint", r.Endpoint)
		if e.includeID {
			e.addTag("resource_id", r.ID)
		}
		e.addTag("resource_site", r.Site)
		e.addTag("resource_subclass", r.Subclass)
		e.addTag("resource_type", r.Type)
	}
	// Stable: of equal keys, the one added last (the resource's) stays last.
	slices.SortStableFunc(e.tags, func(a, b tag) int { return strings.Compare(a.key, b.key) })
	out := e.tags[:0]
	for i, t := range e.tags {
		if i+1 < len(e.tags) && e.tags[i+1].key == t.key {
			continue
		}
		out = append(out, t)
	}
	e.tags = out
}

func (e *encoder) addTag(key, value string) {
	key, value = clean(key, '_'), clean(value, ' ')
	if key == "" || strings.TrimSpace(value) == "" {
		return
	}
	e.tags = append(e.tags, tag{key, value})
}

// timestamp is the group's creation time (whole seconds in Panoptes
// compatibility mode, as Panoptes wrote them), else its newest metric's,
// else fallback; zero lets the server stamp the point.
func (e *encoder) timestamp(g *metric.Group, fallback time.Time) time.Time {
	ts := g.CreationTimestamp
	if ts <= 0 {
		for _, m := range g.Metrics {
			ts = max(ts, m.Timestamp)
		}
	}
	if ts <= 0 || ts > math.MaxInt64/1e9 {
		return fallback
	}
	if e.compat {
		return time.Unix(int64(ts), 0)
	}
	return time.UnixMilli(int64(math.Round(ts * 1000)))
}

// clean makes s encodable as a line protocol key or tag value: invalid
// UTF-8 and control characters (a newline would end the line) become repl,
// and a trailing backslash, which line protocol cannot carry, becomes '_'.
// Commas, spaces, equals signs and quotes are escaped by the encoder.
func clean(s string, repl byte) string {
	if isClean(s) {
		return s
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c == 0x7f {
			b[i] = repl
		}
	}
	if n := len(b); n > 0 && b[n-1] == '\\' {
		b[n-1] = '_'
	}
	return string(b)
}

func isClean(s string) bool {
	ascii := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == 0x7f {
			return false
		}
		if c >= utf8.RuneSelf {
			ascii = false
		}
	}
	if len(s) > 0 && s[len(s)-1] == '\\' {
		return false
	}
	return ascii || utf8.ValidString(s)
}

// panoptesMeasurement is Panoptes' measurement name: every run of
// characters other than [0-9a-zA-Z_] becomes one '_'.
func panoptesMeasurement(s string) string {
	var b strings.Builder
	run := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
			b.WriteByte(c)
			run = false
		} else if !run {
			b.WriteByte('_')
			run = true
		}
	}
	return b.String()
}
