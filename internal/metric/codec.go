package metric

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/panoptes-go/panoptes/internal/resource"
)

// AppendJSON appends g's Panoptes JSON (one bus message) to b. It is the hot
// path of every poll, so it writes bytes directly instead of using reflection;
// Decode reads the same shape back (TestRoundTrip keeps the two in step).
func AppendJSON(b []byte, g *Group) []byte { return appendGroup(b, g, nil) }

// Encoder is AppendJSON for many groups in a row: it encodes a resource
// once and copies its JSON for the next groups with the same *Resource
// (the groups of one check share theirs), which saves a quarter of a
// light check's encoding and most of an interface check's. The resource
// must not change while an Encoder may remember it: Reset between uses
// that could see it changed. The zero Encoder is ready.
type Encoder struct {
	res     *resource.Resource
	resJSON []byte
}

// Reset forgets the remembered resource (its JSON buffer is kept).
func (e *Encoder) Reset() { e.res, e.resJSON = nil, e.resJSON[:0] }

// Start is Reset before encoding set's groups, remembering set.Encoded's
// resource when it has one: a check's groups then copy an encoding made
// once for all its polls (the resource was half of a light check's
// encoding).
func (e *Encoder) Start(set *GroupSet) {
	e.Reset()
	if set != nil && set.Encoded != nil && set.Encoded.Resource != nil {
		e.res, e.resJSON = set.Encoded.Resource, append(e.resJSON, set.Encoded.JSON...)
	}
}

// AppendJSON appends g's JSON to b, as the package's AppendJSON does.
func (e *Encoder) AppendJSON(b []byte, g *Group) []byte { return appendGroup(b, g, e) }

// appendGroup is AppendJSON, remembering resources in e unless it is nil.
func appendGroup(b []byte, g *Group, e *Encoder) []byte {
	b = append(b, `{"metrics_group_interval":`...)
	b = strconv.AppendInt(b, int64(g.Interval), 10)
	b = append(b, `,"resource":`...)
	switch {
	case e == nil || g.Resource == nil:
		b = appendResource(b, g.Resource)
	case g.Resource == e.res:
		b = append(b, e.resJSON...)
	default:
		start := len(b)
		b = appendResource(b, g.Resource)
		e.res, e.resJSON = g.Resource, append(e.resJSON[:0], b[start:]...)
	}
	b = append(b, `,"dimensions":[`...)
	for i, d := range g.Dimensions {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"dimension_name":`...)
		b = appendString(b, d.Name)
		b = append(b, `,"dimension_value":`...)
		b = appendString(b, d.Value)
		b = append(b, '}')
	}
	b = append(b, `],"metrics_group_type":`...)
	b = appendString(b, g.Type)
	b = append(b, `,"metrics":[`...)
	// A poll's metrics share a few timestamps (one per column walked; a
	// rate gauge has its counter's): each one's text, once written, is
	// copied (formatting a float was half of the metrics' encoding, and a
	// third of what rates added to it while only the last was kept).
	var seen tsCache
	for i := range g.Metrics {
		m := &g.Metrics[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"metric_creation_timestamp":`...)
		bits := math.Float64bits(m.Timestamp)
		if ts, ok := seen.find(bits); ok {
			b = append(b, b[ts.start:ts.end]...)
		} else {
			start := len(b)
			b = appendTimestamp(b, m.Timestamp)
			seen.add(ts, tsText{bits: bits, start: start, end: len(b)})
		}
		switch m.Type {
		case Counter:
			b = append(b, `,"metric_type":"counter"`...)
		case Gauge:
			b = append(b, `,"metric_type":"gauge"`...)
		default: // no type, which Validate rejects
			b = append(b, `,"metric_type":""`...)
		}
		b = append(b, `,"metric_name":`...)
		b = appendString(b, m.Name)
		b = append(b, `,"metric_value":`...)
		b = m.Value.AppendText(b)
		b = append(b, '}')
	}
	b = append(b, `],"metrics_group_creation_timestamp":`...)
	b = appendTimestamp(b, g.CreationTimestamp)
	b = append(b, `,"metrics_group_schema_version":`...)
	sv := g.SchemaVersion
	if sv == "" {
		sv = SchemaVersion
	}
	b = appendString(b, sv)
	return append(b, '}')
}

func appendResource(b []byte, r *resource.Resource) []byte {
	if r == nil {
		return append(b, "null"...)
	}
	b = append(b, `{"resource_site":`...)
	b = appendString(b, r.Site)
	b = append(b, `,"resource_class":`...)
	b = appendString(b, r.Class)
	b = append(b, `,"resource_subclass":`...)
	b = appendString(b, r.Subclass)
	b = append(b, `,"resource_type":`...)
	b = appendString(b, r.Type)
	b = append(b, `,"resource_id":`...)
	b = appendString(b, r.ID)
	b = append(b, `,"resource_endpoint":`...)
	b = appendString(b, r.Endpoint)
	b = append(b, `,"resource_metadata":{`...)
	if len(r.Metadata) > 0 {
		var small [16]string // on the stack for the usual few keys
		keys := small[:0]
		for k := range r.Metadata {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = appendString(b, r.Metadata[k])
		}
	}
	b = append(b, `},"resource_creation_timestamp":`...)
	b = appendTimestamp(b, r.CreationTimestamp)
	b = append(b, `,"resource_plugin":`...)
	b = appendString(b, r.Plugin)
	return append(b, '}')
}

// tsCache holds where a group's timestamps were written: an open-addressed
// table of up to tsCacheMax (an interface group has ~30, one per column
// walked); beyond that a timestamp not in it is written again.
type tsCache struct {
	e [64]tsText
	n int
}

const tsCacheMax = 48 // of 64: a search always ends at an empty entry

// tsText is a timestamp's bits and where its text is (end 0: none).
type tsText struct {
	bits       uint64
	start, end int
}

// find returns the entry of bits and true, or where to add it and false.
func (c *tsCache) find(bits uint64) (*tsText, bool) {
	for i := (bits * 0x9E3779B97F4A7C15) >> 58; ; i = (i + 1) % uint64(len(c.e)) {
		e := &c.e[i]
		if e.end == 0 {
			return e, false
		}
		if e.bits == bits {
			return e, true
		}
	}
}

// add puts t at e (from find) while there is room.
func (c *tsCache) add(e *tsText, t tsText) {
	if c.n < tsCacheMax {
		*e, c.n = t, c.n+1
	}
}

// appendTimestamp writes epoch seconds with millisecond precision, as Panoptes did.
// A timestamp too large to scale (|ts| above ~1.8e305, which a decoded
// message may hold) has no millisecond digits anyway and is written as is:
// scaling it would overflow to an infinity, which is not JSON.
func appendTimestamp(b []byte, ts float64) []byte {
	if math.IsNaN(ts) || math.IsInf(ts, 0) {
		return append(b, '0')
	}
	if r := math.Round(ts*1000) / 1000; !math.IsInf(r, 0) {
		ts = r
	}
	return strconv.AppendFloat(b, ts, 'f', -1, 64)
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string, escaping what JSON requires and
// replacing invalid UTF-8 (device strings are often raw bytes).
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// Decode parses one Panoptes metrics group message and validates its shape.
// It gives the results of json.Unmarshal into a Group (see decodeFast) at a
// fraction of the cost; errors say what is wrong and at which byte offset.
func Decode(data []byte) (*Group, error) {
	g := new(Group)
	if err := decodeFast(data, g); err != nil {
		return nil, fmt.Errorf("decode metrics group: %w", err)
	}
	if err := g.Validate(); err != nil {
		return nil, err
	}
	return g, nil
}

// ErrInvalid marks a metrics group that does not have the schema's shape.
var ErrInvalid = errors.New("invalid metrics group")

// Validate checks g against the schema 0.2 shape: a valid resource, a type,
// a positive interval, named metrics of a known type, named dimensions.
// The rules live in validateHead and the element validators, which
// metric.Validate applies to messages without decoding them.
func (g *Group) Validate() error {
	if err := g.validateHead(len(g.Metrics)); err != nil {
		return err
	}
	for i := range g.Metrics {
		if err := g.Metrics[i].validate(i); err != nil {
			return err
		}
	}
	for i := range g.Dimensions {
		if err := g.Dimensions[i].validate(i); err != nil {
			return err
		}
	}
	return nil
}

func invalid(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, a...))
}

// validateHead checks everything but the elements of g's arrays; metrics
// is how many metrics g has. It reads no float field (see decoder.view).
func (g *Group) validateHead(metrics int) error {
	if g.Resource == nil {
		return invalid("resource is missing")
	}
	if err := g.Resource.Validate(); err != nil {
		return invalid("resource: %v", err)
	}
	if g.Type == "" {
		return invalid("metrics_group_type is empty")
	}
	if g.Interval <= 0 {
		return invalid("metrics_group_interval %d is not positive", g.Interval)
	}
	if g.SchemaVersion != SchemaVersion {
		// Quoted first: g must not leak (Validate's g points into its decoder).
		return invalid("metrics_group_schema_version %s, want %q", strconv.Quote(g.SchemaVersion), SchemaVersion)
	}
	if metrics == 0 {
		return invalid("no metrics")
	}
	return nil
}

// validate checks metric i of a group; it reads no float field.
func (m *Metric) validate(i int) error {
	if m.Name == "" {
		return invalid("metric %d has no name", i)
	}
	if m.Type != Gauge && m.Type != Counter {
		// The decoders refuse any other metric_type string: only a missing
		// one (or "") gets here, or a Type made in Go.
		return invalid("metric %s: metric_type %q is neither gauge nor counter", m.Name, m.Type.String())
	}
	return nil
}

// validate checks dimension i of a group.
func (d *Dimension) validate(i int) error {
	if d.Name == "" {
		return invalid("dimension %d has no name", i)
	}
	return nil
}

// MarshalJSON makes encoding/json use the same encoder as the bus.
func (g *Group) MarshalJSON() ([]byte, error) { return AppendJSON(nil, g), nil }
