package metric

import "strconv"

// The arrays decode like encoding/json's: a fresh array becomes a slice of
// exactly its length (one allocation: elements are collected on the stack
// first), [] becomes an empty non-nil slice, null becomes nil, and an array
// under a repeated key decodes element by element into the earlier slice.

// arrayValue decodes the metrics or dimensions array into *p. One
// function serves both: the element decoder is chosen by a type switch
// rather than a func value, so the stack buffer does not escape.
func arrayValue[T Metric | Dimension](d *decoder, p *[]T, name string) error {
	if d.off < len(d.data) {
		switch d.data[d.off] {
		case 'n':
			*p = nil
			if d.view {
				*elemCheckOf[T](d) = elemCheck{}
			}
			return d.literal("null")
		case '[':
			if err := d.enter(); err != nil {
				return err
			}
			if d.view {
				return checkArray[T](d)
			}
			if *p != nil {
				return arrayInPlace(d, p)
			}
			var buf [32]T
			tmp := buf[:0]
			for first := true; ; first = false {
				done, err := d.nextElem(first)
				if err != nil {
					return err
				}
				if done {
					break
				}
				var zero T
				tmp = append(tmp, zero)
				if err := elementValue(d, &tmp[len(tmp)-1]); err != nil {
					return err
				}
			}
			out := make([]T, len(tmp))
			copy(out, tmp)
			*p = out
			return nil
		}
	}
	return d.typeError(name, "array")
}

// arrayInPlace decodes an array under a repeated key element by element
// into the earlier slice, as encoding/json does.
func arrayInPlace[T Metric | Dimension](d *decoder, p *[]T) error {
	s := *p
	i := 0
	for first := true; ; first = false {
		done, err := d.nextElem(first)
		if err != nil {
			return err
		}
		if done {
			break
		}
		if i >= len(s) {
			if i < cap(s) {
				s = s[:i+1]
			} else {
				var zero T
				s = append(s, zero)
			}
		}
		if err := elementValue(d, &s[i]); err != nil {
			return err
		}
		i++
	}
	if i == 0 {
		s = make([]T, 0)
	}
	*p = s[:i]
	return nil
}

func elementValue[T Metric | Dimension](d *decoder, e *T) error {
	switch e := any(e).(type) {
	case *Metric:
		return d.metricValue(e)
	case *Dimension:
		return d.dimensionValue(e)
	}
	return nil
}

func (d *decoder) metricValue(m *Metric) error {
	if d.off < len(d.data) {
		switch d.data[d.off] {
		case 'n':
			return d.literal("null")
		case '{':
			return d.metric(m)
		}
	}
	return d.typeError("metrics element", "object")
}

func (d *decoder) metric(m *Metric) error {
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
		case "metric_name":
			f = 0
		case "metric_value":
			f = 1
		case "metric_type":
			f = 2
		case "metric_creation_timestamp":
			f = 3
		default:
			f = foldIndex(key, metricKeys)
		}
		switch f {
		case 0:
			err = d.stringValue(&m.Name, "metric_name")
		case 1:
			err = d.valueValue(&m.Value)
		case 2:
			err = d.metricType(&m.Type)
		case 3:
			err = d.floatValue(&m.Timestamp, "metric_creation_timestamp")
		default:
			err = d.skipValue()
		}
		if err != nil {
			return err
		}
	}
}

// metricType decodes metric_type as Type.UnmarshalText does: null leaves
// *t as is, "" is the zero Type, and a string other than "gauge" or
// "counter" is an error naming it (encoding/json's Unmarshal fails too).
func (d *decoder) metricType(t *Type) error {
	rest := d.data[d.off:]
	switch {
	case len(rest) >= 9 && string(rest[:9]) == `"counter"`:
		d.off += 9
		*t = Counter
		return nil
	case len(rest) >= 7 && string(rest[:7]) == `"gauge"`:
		d.off += 7
		*t = Gauge
		return nil
	case len(rest) == 0 || rest[0] != '"':
		return d.stringValue(nil, "metric_type") // null, or a type error
	}
	start := d.off
	var s string // escaped, or not a type: rare
	if err := d.stringValue(&s, "metric_type"); err != nil {
		return err
	}
	if s == "" {
		*t = 0
		return nil
	}
	v, err := ParseType(s)
	if err != nil {
		return d.errAt(start, "metric_type "+strconv.Quote(s)+" is neither gauge nor counter")
	}
	*t = v
	return nil
}

func (d *decoder) dimensionValue(dim *Dimension) error {
	if d.off < len(d.data) {
		switch d.data[d.off] {
		case 'n':
			return d.literal("null")
		case '{':
			return d.dimension(dim)
		}
	}
	return d.typeError("dimensions element", "object")
}

func (d *decoder) dimension(dim *Dimension) error {
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
		case "dimension_name":
			f = 0
		case "dimension_value":
			f = 1
		default:
			f = foldIndex(key, dimKeys)
		}
		switch f {
		case 0:
			err = d.stringValue(&dim.Name, "dimension_name")
		case 1:
			err = d.stringValue(d.unlessView(&dim.Value), "dimension_value")
		default:
			err = d.skipValue()
		}
		if err != nil {
			return err
		}
	}
}
