package metric

import (
	"math"
	"strconv"

	"github.com/panoptes-go/panoptes/internal/resource"
)

// decodeFast decodes a metrics group message into g with the results of
// json.Unmarshal(data, g): any key order, keys matched case insensitively as
// encoding/json does, unknown keys skipped, null leaves a field as is (nil for
// pointers, slices and maps; NaN for metric_value), repeated keys decode
// again into what the earlier one left. Unlike encoding/json it stops at the
// first error, so g is unspecified after an error. Strings are copied: g
// never aliases data.
func decodeFast(data []byte, g *Group) error {
	d := decoder{data: data}
	return d.top(g)
}

// top decodes the whole message into g.
func (d *decoder) top(g *Group) error {
	var err error
	switch d.peek() {
	case '{':
		err = d.group(g)
	case 'n':
		err = d.literal("null")
	default:
		start := d.off
		if err = d.skipValue(); err == nil {
			err = d.errAt(start, "metrics group: expected an object")
		}
	}
	if err != nil {
		return err
	}
	if d.peek(); d.off < len(d.data) {
		return d.errChar("after top-level value")
	}
	return nil
}

var (
	groupKeys    = foldAll("resource", "metrics_group_type", "metrics_group_interval", "metrics_group_creation_timestamp", "metrics_group_schema_version", "metrics", "dimensions")
	resourceKeys = foldAll("resource_site", "resource_class", "resource_subclass", "resource_type", "resource_id", "resource_endpoint", "resource_metadata", "resource_creation_timestamp", "resource_plugin")
	metricKeys   = foldAll("metric_name", "metric_value", "metric_type", "metric_creation_timestamp")
	dimKeys      = foldAll("dimension_name", "dimension_value")
)

func (d *decoder) group(g *Group) error {
	if err := d.enter(); err != nil {
		return err
	}
	for first := true; ; first = false {
		key, done, err := d.nextKey(first)
		if err != nil || done {
			return err
		}
		f := -1
		switch string(key) {
		case "resource":
			f = 0
		case "metrics_group_type":
			f = 1
		case "metrics_group_interval":
			f = 2
		case "metrics_group_creation_timestamp":
			f = 3
		case "metrics_group_schema_version":
			f = 4
		case "metrics":
			f = 5
		case "dimensions":
			f = 6
		default:
			f = foldIndex(key, groupKeys)
		}
		switch f {
		case 0:
			err = d.resourceValue(&g.Resource)
		case 1:
			err = d.stringValue(&g.Type, "metrics_group_type")
		case 2:
			err = d.intValue(&g.Interval, "metrics_group_interval")
		case 3:
			err = d.floatValue(&g.CreationTimestamp, "metrics_group_creation_timestamp")
		case 4:
			if d.off+5 <= len(d.data) && string(d.data[d.off:d.off+5]) == `"`+SchemaVersion+`"` {
				d.off += 5 // the usual value: no allocation
				g.SchemaVersion = SchemaVersion
			} else {
				err = d.stringValue(&g.SchemaVersion, "metrics_group_schema_version")
			}
		case 5:
			err = arrayValue(d, &g.Metrics, "metrics")
		case 6:
			err = arrayValue(d, &g.Dimensions, "dimensions")
		default:
			err = d.skipValue()
		}
		if err != nil {
			return err
		}
	}
}

// typeError reports a value of the wrong JSON type for field, after checking
// that it is valid JSON at all (so syntax errors are reported as such).
func (d *decoder) typeError(field, want string) error {
	start := d.off
	if err := d.skipValue(); err != nil {
		return err
	}
	got := "number"
	switch d.data[start] {
	case '{':
		got = "object"
	case '[':
		got = "array"
	case '"':
		got = "string"
	case 't', 'f':
		got = "boolean"
	case 'n':
		got = "null"
	}
	return d.errAt(start, field+": expected "+want+", got "+got)
}

// stringValue decodes a string (or null) into *p; a nil p checks it only.
func (d *decoder) stringValue(p *string, field string) error {
	if d.off < len(d.data) {
		switch d.data[d.off] {
		case '"':
			if p == nil {
				_, _, err := d.scanString()
				return err
			}
			s, err := d.readString()
			*p = s
			return err
		case 'n':
			return d.literal("null")
		}
	}
	return d.typeError(field, "string")
}

func (d *decoder) floatValue(p *float64, field string) error {
	if d.off < len(d.data) {
		c := d.data[d.off]
		if c == 'n' {
			return d.literal("null")
		}
		if c == '-' || '0' <= c && c <= '9' {
			start := d.off
			num, _, err := d.scanNumber()
			if err != nil {
				return err
			}
			if d.view && floatInRange(num) {
				return nil // checked, not stored: no rule reads a float field
			}
			f, err := strconv.ParseFloat(string(num), 64)
			if err != nil {
				return d.errAt(start, field+": number "+string(num)+" is out of range")
			}
			*p = f
			return nil
		}
	}
	return d.typeError(field, "number")
}

func (d *decoder) intValue(p *int, field string) error {
	if d.off < len(d.data) {
		c := d.data[d.off]
		if c == 'n' {
			return d.literal("null")
		}
		if c == '-' || '0' <= c && c <= '9' {
			start := d.off
			num, integer, err := d.scanNumber()
			if err != nil {
				return err
			}
			n, perr := strconv.ParseInt(string(num), 10, strconv.IntSize)
			if !integer || perr != nil {
				return d.errAt(start, field+": number "+string(num)+" is not an integer that fits in int")
			}
			*p = int(n)
			return nil
		}
	}
	return d.typeError(field, "number")
}

// valueValue decodes metric_value as Value.UnmarshalJSON does: null is NaN,
// a quoted number is taken as is (no unescaping), integers stay exact.
func (d *decoder) valueValue(p *Value) error {
	if d.off >= len(d.data) {
		return d.errAt(d.off, "unexpected end of JSON input")
	}
	start := d.off
	var text []byte
	switch c := d.data[d.off]; {
	case c == 'n':
		if err := d.literal("null"); err != nil {
			return err
		}
		*p = Float(math.NaN())
		return nil
	case c == '"':
		raw, _, err := d.scanString()
		if err != nil {
			return err
		}
		text = raw
	case c == '-' || '0' <= c && c <= '9':
		num, _, err := d.scanNumber()
		if err != nil {
			return err
		}
		text = num
	default:
		return d.typeError("metric_value", "number")
	}
	if d.view && d.data[start] != '"' && floatInRange(text) {
		return nil // a JSON number in float64 range always parses
	}
	v, ok := parseValue(text)
	if !ok {
		return d.errAt(start, "metric_value "+strconv.Quote(string(text))+" is not a number")
	}
	*p = v
	return nil
}

// parseValue is Value.parse without the allocations: exact uint64, then
// int64, then float64.
func parseValue(b []byte) (Value, bool) {
	if n := len(b); n > 0 && n <= 19 {
		var u uint64
		i := 0
		for ; i < n && '0' <= b[i] && b[i] <= '9'; i++ {
			u = u*10 + uint64(b[i]-'0')
		}
		if i == n {
			return Uint(u), true
		}
	}
	s := string(b)
	// Only a sign and digits can parse as an integer; skipping the two
	// failing calls for floats saves their error allocations.
	intLike := len(b) > 0
	for i, c := range b {
		if (c < '0' || c > '9') && (i > 0 || c != '-' && c != '+') {
			intLike = false
			break
		}
	}
	if intLike {
		if u, err := strconv.ParseUint(s, 10, 64); err == nil {
			return Uint(u), true
		}
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return Int(i), true
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return Value{}, false
	}
	return Float(f), true
}

func (d *decoder) resourceValue(p **resource.Resource) error {
	if d.off < len(d.data) {
		switch d.data[d.off] {
		case '{':
			if d.view {
				if !d.hasRes { // as a nil *p: a fresh resource
					d.res, d.hasRes = resource.Resource{}, true
				}
				return d.resource(&d.res)
			}
			if *p == nil {
				*p = new(resource.Resource)
			}
			return d.resource(*p)
		case 'n':
			*p, d.hasRes = nil, false
			return d.literal("null")
		}
	}
	return d.typeError("resource", "object")
}

func (d *decoder) resource(r *resource.Resource) error {
	if err := d.enter(); err != nil {
		return err
	}
	for first := true; ; first = false {
		key, done, err := d.nextKey(first)
		if err != nil || done {
			return err
		}
		f := -1
		switch string(key) {
		case "resource_site":
			f = 0
		case "resource_class":
			f = 1
		case "resource_subclass":
			f = 2
		case "resource_type":
			f = 3
		case "resource_id":
			f = 4
		case "resource_endpoint":
			f = 5
		case "resource_metadata":
			f = 6
		case "resource_creation_timestamp":
			f = 7
		case "resource_plugin":
			f = 8
		default:
			f = foldIndex(key, resourceKeys)
		}
		switch f {
		case 0:
			err = d.stringValue(&r.Site, "resource_site")
		case 1:
			err = d.stringValue(&r.Class, "resource_class")
		case 2:
			err = d.stringValue(&r.Subclass, "resource_subclass")
		case 3:
			err = d.stringValue(&r.Type, "resource_type")
		case 4:
			err = d.stringValue(&r.ID, "resource_id")
		case 5:
			err = d.stringValue(&r.Endpoint, "resource_endpoint")
		case 6:
			err = d.metadataValue(&r.Metadata)
		case 7:
			err = d.floatValue(&r.CreationTimestamp, "resource_creation_timestamp")
		case 8:
			err = d.stringValue(d.unlessView(&r.Plugin), "resource_plugin")
		default:
			err = d.skipValue()
		}
		if err != nil {
			return err
		}
	}
}

// metadataValue decodes resource_metadata; like encoding/json it adds to a
// map left by an earlier resource_metadata key, and a null value stores "".
func (d *decoder) metadataValue(p *map[string]string) error {
	if d.off < len(d.data) {
		switch d.data[d.off] {
		case 'n':
			*p = nil
			return d.literal("null")
		case '{':
		default:
			return d.typeError("resource_metadata", "object")
		}
	}
	if d.off >= len(d.data) {
		return d.errAt(d.off, "unexpected end of JSON input")
	}
	if err := d.enter(); err != nil {
		return err
	}
	m := *p
	if m == nil && !d.view { // view: checked, not built
		m = make(map[string]string)
		*p = m
	}
	for first := true; ; first = false {
		key, done, err := d.nextKey(first)
		if err != nil || done {
			return err
		}
		if d.view {
			if err := d.stringValue(nil, "resource_metadata value"); err != nil {
				return err
			}
			continue
		}
		k := string(key)
		var v string
		if err := d.stringValue(&v, "resource_metadata value"); err != nil {
			return err
		}
		m[k] = v
	}
}
