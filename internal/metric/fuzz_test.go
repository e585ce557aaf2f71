package metric

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"testing"
)

// FuzzRoundTrip: whatever Decode accepts, AppendJSON writes as valid JSON
// that Decode accepts again and reads as the same group (timestamps at the
// millisecond precision the encoder keeps, an infinite value as the null
// it is written as, which reads as NaN; an integral float as an integer); encoding is then a fixed point, and the Encoder
// that remembers a resource writes the same bytes as AppendJSON. FuzzDecode
// and FuzzValidate (decode_test.go, validate_test.go) check the decoders
// against encoding/json and each other.
func FuzzRoundTrip(f *testing.F) {
	for _, s := range seedMessages(f) {
		f.Add(s)
	}
	for _, s := range validVariants() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := Decode(data)
		if err != nil {
			return
		}
		enc := AppendJSON(nil, g)
		if !json.Valid(enc) {
			t.Fatalf("%q decodes, but is written as invalid JSON %q", data, enc)
		}
		g2, err := Decode(enc)
		if err != nil {
			t.Fatalf("%q decodes, but its encoding %q does not: %v", data, enc, err)
		}
		if again := AppendJSON(nil, g2); !bytes.Equal(again, enc) {
			t.Fatalf("encoding is not a fixed point:\n%s\n%s", enc, again)
		}
		var e Encoder
		set := &GroupSet{Groups: []*Group{g, g}}
		e.Start(set)
		if b := e.AppendJSON(e.AppendJSON(nil, g), g); !bytes.Equal(b, append(enc[:len(enc):len(enc)], enc...)) {
			t.Fatalf("Encoder writes %s, AppendJSON %s twice", b, enc)
		}
		want := *g
		want.Metrics = append([]Metric{}, g.Metrics...)
		roundGroup(&want)
		for i := range want.Metrics {
			w, v := want.Metrics[i].Value, g2.Metrics[i].Value
			if w.IsFloat() && !v.IsFloat() && w.Float64() == v.Float64() {
				want.Metrics[i].Value = v // an integral float is written as an integer
			}
		}
		normalizeNaN(&want)
		normalizeNaN(g2)
		if !reflect.DeepEqual(&want, g2) {
			t.Fatalf("%q reads back differently after a round trip:\nwant %+v %+v\ngot  %+v %+v", data, want, want.Resource, *g2, g2.Resource)
		}
	})
}

// roundGroup applies to g what encoding keeps of it: timestamps to the
// millisecond (0 for NaN and infinities), infinite values as NaN, the
// default schema version, and missing arrays and metadata as empty ones.
func roundGroup(g *Group) {
	ms := func(ts float64) float64 {
		if math.IsNaN(ts) || math.IsInf(ts, 0) {
			return 0
		}
		if r := math.Round(ts*1000) / 1000; !math.IsInf(r, 0) {
			return r
		}
		return ts
	}
	g.CreationTimestamp = ms(g.CreationTimestamp)
	if g.SchemaVersion == "" {
		g.SchemaVersion = SchemaVersion
	}
	for i := range g.Metrics {
		m := &g.Metrics[i]
		m.Timestamp = ms(m.Timestamp)
		if m.Value.IsFloat() && math.IsInf(m.Value.Float64(), 0) {
			m.Value = Float(math.NaN()) // written as null, read as NaN
		}
	}
	if g.Dimensions == nil {
		g.Dimensions = []Dimension{}
	}
	if g.Resource != nil {
		r := *g.Resource
		r.CreationTimestamp = ms(r.CreationTimestamp)
		if r.Metadata == nil {
			r.Metadata = map[string]string{}
		}
		g.Resource = &r
	}
}
