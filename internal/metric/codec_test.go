package metric

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/panoptes-go/panoptes/internal/resource"
)

func TestDecodePanoptesMessage(t *testing.T) {
	raw, err := os.ReadFile("testdata/panoptes_interface.json")
	if err != nil {
		t.Fatal(err)
	}
	g, err := Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	if g.Type != "interface" || g.Interval != 60 || g.Resource.ID != "switch1.example.com" || g.Resource.Metadata["_resource_ttl"] != "604800" {
		t.Errorf("decoded %+v", g)
	}
	m, ok := g.Metric("bits_in")
	if !ok || m.Type != Counter || !m.Value.IsInteger() || m.Value.Uint64() != 29771896789864 || m.Timestamp != 1535497115.702 {
		t.Errorf("bits_in = %+v", m)
	}
	if g.Dimension("interface_name") != "Ethernet1/39" {
		t.Errorf("interface_name = %q", g.Dimension("interface_name"))
	}
	// What we write must carry the same fields and values as what Panoptes wrote.
	var theirs, ours map[string]any
	if err := json.Unmarshal(raw, &theirs); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(AppendJSON(nil, g), &ours); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(theirs, ours) {
		t.Errorf("re-encoded message differs:\ntheirs %v\nours   %v", theirs, ours)
	}
}

func sample() *Group {
	return &Group{
		Resource: &resource.Resource{Site: "s", Class: "network", Subclass: "switch", Type: "cisco", ID: "sw1",
			Endpoint: "10.0.0.1", Metadata: map[string]string{"model": "WS-C3750", "b": "\"quoted\"\n\x01"}, CreationTimestamp: 1700000000.123, Plugin: "csv"},
		Type: "interface", Interval: 60, CreationTimestamp: 1700000060.5, SchemaVersion: SchemaVersion,
		Metrics: []Metric{
			{Name: "bits_in", Value: Uint(math.MaxUint64), Type: Counter, Timestamp: 1700000060.501},
			{Name: "bits_out", Value: Uint(1<<53 + 1), Type: Counter, Timestamp: 1700000060.502},
			{Name: "neg", Value: Int(-42), Type: Gauge, Timestamp: 1},
			{Name: "rate", Value: Float(0.25), Type: Gauge, Timestamp: 1},
		},
		Dimensions: []Dimension{{Name: "interface_name", Value: "Gi1/0/1"}, {Name: "alias", Value: "uplink \xff bad utf8"}},
	}
}

func TestRoundTripExactIntegers(t *testing.T) {
	g := sample()
	out := AppendJSON(nil, g)
	if !json.Valid(out) {
		t.Fatalf("invalid JSON: %s", out)
	}
	back, err := Decode(out)
	if err != nil {
		t.Fatal(err)
	}
	if v := back.Metrics[0].Value; !v.IsInteger() || v.Uint64() != math.MaxUint64 {
		t.Errorf("max uint64 came back as %v", v)
	}
	if v := back.Metrics[1].Value; v.Uint64() != 1<<53+1 {
		t.Errorf("2^53+1 came back as %v", v)
	}
	if v := back.Metrics[2].Value; v.Int64() != -42 || !v.IsNegative() {
		t.Errorf("-42 came back as %v", v)
	}
	if v := back.Metrics[3].Value; !v.IsFloat() || v.Float64() != 0.25 {
		t.Errorf("0.25 came back as %v", v)
	}
	if back.Resource.Metadata["b"] != g.Resource.Metadata["b"] {
		t.Errorf("escaped metadata = %q", back.Resource.Metadata["b"])
	}
	if back.Dimension("alias") != "uplink \ufffd bad utf8" {
		t.Errorf("invalid UTF-8 not replaced: %q", back.Dimension("alias"))
	}
	// encoding/json and AppendJSON agree.
	viaStd, err := json.Marshal(g)
	if err != nil || string(viaStd) != string(out) {
		t.Errorf("json.Marshal differs: %s", viaStd)
	}
}

func TestStringEscapingMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", "q\"b\\s", "ctl\x00\x1f\t\r\n", "ünïcode ✓", "\u2028"} {
		var got string
		if err := json.Unmarshal(appendString(nil, s), &got); err != nil || got != s {
			t.Errorf("appendString(%q) decodes to %q, %v", s, got, err)
		}
	}
}

func TestValidateRejects(t *testing.T) {
	for name, mutate := range map[string]func(*Group){
		"no resource":    func(g *Group) { g.Resource = nil },
		"empty id":       func(g *Group) { g.Resource.ID = "" },
		"no type":        func(g *Group) { g.Type = "" },
		"zero interval":  func(g *Group) { g.Interval = 0 },
		"schema":         func(g *Group) { g.SchemaVersion = "0.1" },
		"no metrics":     func(g *Group) { g.Metrics = nil },
		"untyped metric": func(g *Group) { g.Metrics[0].Type = 0 },
		"bad metric":     func(g *Group) { g.Metrics[0].Type = Counter + 1 },
		"unnamed metric": func(g *Group) { g.Metrics[0].Name = "" },
		"unnamed dim":    func(g *Group) { g.Dimensions[0].Name = "" },
	} {
		g := sample()
		mutate(g)
		if err := g.Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Validate() = %v, want ErrInvalid", name, err)
		}
	}
	if err := sample().Validate(); err != nil {
		t.Errorf("valid sample rejected: %v", err)
	}
	if _, err := Decode([]byte(`{"metrics_group_type":`)); err == nil || !strings.Contains(err.Error(), "decode metrics group") {
		t.Errorf("truncated JSON: %v", err)
	}
}

func TestValueParse(t *testing.T) {
	for in, want := range map[string]string{"18446744073709551615": "18446744073709551615", "-9223372036854775808": "-9223372036854775808", "1.5": "1.5", "1e3": "1000", `"7"`: "7"} {
		var v Value
		if err := v.UnmarshalJSON([]byte(in)); err != nil || v.String() != want {
			t.Errorf("%s -> %v, %v; want %s", in, v, err, want)
		}
	}
	var v Value
	if err := v.UnmarshalJSON([]byte(`"abc"`)); err == nil {
		t.Error("accepted a non-number")
	}
	if got := string(Float(math.NaN()).AppendText(nil)); got != "null" {
		t.Errorf("NaN encodes as %s", got)
	}
}

func BenchmarkAppendJSON(b *testing.B) {
	g := sample()
	for len(g.Metrics) < 20 {
		g.Metrics = append(g.Metrics, Metric{Name: "errors_in", Value: Uint(123456789), Type: Counter, Timestamp: 1700000060.5})
	}
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendJSON(buf[:0], g)
	}
	b.SetBytes(int64(len(buf)))
}

// BenchmarkAppendJSONColumns is an interface group as a poll with rates
// makes it: 26 counters, each column read at its own time, 6 gauges, then
// a rate gauge per counter with its counter's timestamp.
func BenchmarkAppendJSONColumns(b *testing.B) {
	g := sample()
	g.Metrics = g.Metrics[:0]
	for c := range 26 {
		g.Metrics = append(g.Metrics, Metric{Name: "counter", Value: Uint(uint64(c) << 33), Type: Counter, Timestamp: 1700000060 + float64(c)*0.013})
	}
	for range 6 {
		g.Metrics = append(g.Metrics, Metric{Name: "state", Value: Int(1), Type: Gauge, Timestamp: 1700000060})
	}
	for c := range 26 {
		g.Metrics = append(g.Metrics, Metric{Name: "counter_rate", Value: Float(float64(c) / 3), Type: Gauge, Timestamp: 1700000060 + float64(c)*0.013})
	}
	buf := make([]byte, 0, 8192)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendJSON(buf[:0], g)
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkEncodingJSONReference(b *testing.B) {
	// The reflective encoder, for comparison with AppendJSON.
	type plain Group
	g := sample()
	for len(g.Metrics) < 20 {
		g.Metrics = append(g.Metrics, Metric{Name: "errors_in", Value: Uint(123456789), Type: Counter, Timestamp: 1700000060.5})
	}
	p := (*plain)(g)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(p); err != nil {
			b.Fatal(err)
		}
	}
}

// TestEncoderSharesResourceJSON: an Encoder writes exactly what AppendJSON
// writes, whether consecutive groups share a resource or not, and after
// Reset sees a resource changed in place.
func TestEncoderSharesResourceJSON(t *testing.T) {
	a, b := sample(), sample()
	b.Resource = a.Resource // shared, as a check's groups share theirs
	c := sample()           // same content, another *Resource
	c.Resource.ID = "sw2"
	noRes := sample()
	noRes.Resource = nil
	var e Encoder
	var got, want []byte
	for _, g := range []*Group{a, b, c, a, noRes, a} {
		got = e.AppendJSON(got[:0], g)
		if want = AppendJSON(want[:0], g); string(got) != string(want) {
			t.Fatalf("Encoder wrote\n%s\nAppendJSON\n%s", got, want)
		}
	}
	a.Resource.ID = "renamed" // changed in place: remembered JSON is stale
	e.Reset()
	if got = e.AppendJSON(got[:0], b); !strings.Contains(string(got), `"resource_id":"renamed"`) {
		t.Fatalf("after Reset the Encoder wrote the old resource: %s", got)
	}
}

// TestEncoderStartsFromEncodedResource: a set's Encoded resource is used
// for its groups with that *Resource, others are encoded as usual, and the
// encoder never writes into the set's shared encoding.
func TestEncoderStartsFromEncodedResource(t *testing.T) {
	a, other := sample(), sample()
	other.Resource.ID = "sw2"
	enc := EncodeResource(a.Resource)
	if want := AppendJSON(nil, a); !strings.Contains(string(want), string(enc.JSON)) {
		t.Fatalf("EncodeResource %s is not the resource AppendJSON writes in %s", enc.JSON, want)
	}
	shared := string(enc.JSON)
	set := &GroupSet{Groups: []*Group{a, other, a}, Encoded: enc}
	var e Encoder
	e.Start(set)
	var got, want []byte
	for _, g := range set.Groups {
		got = e.AppendJSON(got[:0], g)
		if want = AppendJSON(want[:0], g); string(got) != string(want) {
			t.Fatalf("Encoder started from the set wrote\n%s\nAppendJSON\n%s", got, want)
		}
	}
	if string(enc.JSON) != shared {
		t.Fatalf("the set's encoding was overwritten: %s", enc.JSON)
	}
	// The encoding is what the encoder uses: a marker proves it is copied,
	// not recomputed.
	set.Encoded = &EncodedResource{Resource: a.Resource, JSON: []byte(`{"marker":1}`)}
	e.Start(set)
	if got = e.AppendJSON(got[:0], a); !strings.Contains(string(got), `"resource":{"marker":1}`) {
		t.Fatalf("Start did not use the set's encoding: %s", got)
	}
	if EncodeResource(nil) != nil {
		t.Fatal("EncodeResource(nil) is not nil")
	}
}

func BenchmarkEncoderSharedResource(b *testing.B) {
	// Two groups of one check (status and a result), as a light check
	// publishes them.
	g1, g2 := sample(), sample()
	g2.Resource = g1.Resource
	set := &GroupSet{Groups: []*Group{g1, g2}}
	b.Run("per-set", func(b *testing.B) { benchEncodeSet(b, set) })
	// With the resource encoded once for all polls, as poll.Check does.
	set = &GroupSet{Groups: []*Group{g1, g2}, Encoded: EncodeResource(g1.Resource)}
	b.Run("encoded-resource", func(b *testing.B) { benchEncodeSet(b, set) })
}

func benchEncodeSet(b *testing.B, set *GroupSet) {
	var e Encoder
	buf := make([]byte, 0, 8192)
	b.ReportAllocs()
	for b.Loop() {
		e.Start(set)
		buf = buf[:0]
		for _, g := range set.Groups {
			buf = e.AppendJSON(buf, g)
		}
	}
}

// TestTimestampsCopiedOnlyWhenEqual: the encoder copies the text of an
// earlier metric's timestamp only for the same float64 bits: each metric's
// timestamp reads back as if encoded alone (-0 stays -0, NaN is 0), with
// more distinct timestamps than the encoder remembers, interleaved.
func TestTimestampsCopiedOnlyWhenEqual(t *testing.T) {
	g := sample()
	base := g.Metrics[0]
	stamps := []float64{1700000060.5, 1700000060.5, 1700000061.25, 1700000060.5, math.NaN(), math.NaN(), math.Copysign(0, -1), 0, 0, 1e300}
	for round := range 3 {
		for c := range 50 {
			stamps = append(stamps, 1700000060+float64((c*7+round)%50)*0.013)
		}
	}
	for _, ts := range stamps {
		m := base
		m.Timestamp = ts
		g.Metrics = append(g.Metrics, m)
	}
	var want []byte
	for i := range g.Metrics {
		want = appendTimestamp(want, g.Metrics[i].Timestamp)
		want = append(want, ' ')
	}
	got := AppendJSON(nil, g)
	var texts []byte
	for rest := got; ; {
		i := bytes.Index(rest, []byte(`"metric_creation_timestamp":`))
		if i < 0 {
			break
		}
		rest = rest[i+len(`"metric_creation_timestamp":`):]
		j := bytes.IndexByte(rest, ',')
		texts = append(append(texts, rest[:j]...), ' ')
	}
	if string(texts) != string(want) {
		t.Errorf("timestamps encoded as %s, want %s", texts, want)
	}
}
