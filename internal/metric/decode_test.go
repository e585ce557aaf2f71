package metric

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"reflect"
	"strings"
	"testing"
)

// normalizeNaN makes every NaN metric value the same NaN so DeepEqual can
// compare them.
func normalizeNaN(g *Group) {
	for i := range g.Metrics {
		if v := g.Metrics[i].Value; v.IsFloat() && math.IsNaN(v.Float64()) {
			g.Metrics[i].Value = Float(math.NaN())
		}
	}
}

// checkLikeEncodingJSON fails t unless decodeFast agrees with json.Unmarshal
// on data: both fail, or both succeed with deeply equal groups; and unless
// Validate agrees with Decode.
func checkLikeEncodingJSON(t *testing.T, data []byte) {
	t.Helper()
	checkValidateLikeDecode(t, data)
	var want, got Group
	wantErr := json.Unmarshal(data, &want)
	gotErr := decodeFast(data, &got)
	switch {
	case wantErr != nil && gotErr == nil:
		t.Fatalf("decodeFast accepted what encoding/json rejects (%v): %q\ngot %+v", wantErr, data, got)
	case wantErr == nil && gotErr != nil:
		t.Fatalf("decodeFast rejected (%v) what encoding/json accepts: %q", gotErr, data)
	case wantErr != nil:
		var de *DecodeError
		if !errors.As(gotErr, &de) || de.Offset < 0 || de.Offset > len(data) {
			t.Fatalf("error %v has no offset within the input", gotErr)
		}
		return
	}
	normalizeNaN(&want)
	normalizeNaN(&got)
	if !reflect.DeepEqual(want, got) {
		t.Fatalf("decodeFast differs from encoding/json on %q\nwant %#v %+v\ngot  %#v %+v", data, want, want.Resource, got, got.Resource)
	}
}

func twentyMetrics() *Group {
	g := sample()
	g.Resource.Metadata = map[string]string{"_resource_ttl": "604800"}
	g.Dimensions[1].Value = "uplink to core"
	names := []string{"bits_in", "bits_out", "packets_in", "packets_out", "errors_in", "errors_out", "discards_in", "discards_out",
		"unicast_packets_in", "unicast_packets_out", "multicast_packets_in", "multicast_packets_out", "broadcast_packets_in",
		"broadcast_packets_out", "unknown_protos", "oper_state", "admin_state", "speed", "mtu", "last_change"}
	g.Metrics = g.Metrics[:0]
	for i, n := range names {
		m := Metric{Name: n, Value: Uint(uint64(i) * 1234567891011), Type: Counter, Timestamp: 1700000060.501}
		if i >= 15 {
			m.Type, m.Value = Gauge, Uint(uint64(i))
		}
		g.Metrics = append(g.Metrics, m)
	}
	return g
}

// seedMessages are valid messages in the writers' shapes plus the quirks
// other writers produce.
func seedMessages(t testing.TB) [][]byte {
	raw, err := os.ReadFile("testdata/panoptes_interface.json")
	if err != nil {
		t.Fatal(err)
	}
	empty := sample()
	empty.Dimensions, empty.Metrics, empty.Resource.Metadata = nil, []Metric{}, nil
	nan := sample()
	nan.Metrics[3].Value = Float(math.NaN())
	nan.Metrics = append(nan.Metrics, Metric{Name: "tiny", Value: Float(-1.5e-300), Type: Gauge}, Metric{Name: "ünï ✓", Value: Int(math.MinInt64), Type: Gauge})
	noRes := sample()
	noRes.Resource = nil
	return [][]byte{
		raw,
		AppendJSON(nil, sample()),
		AppendJSON(nil, twentyMetrics()),
		AppendJSON(nil, empty),
		AppendJSON(nil, nan),
		AppendJSON(nil, noRes),
		[]byte(` { "metrics" : [ { "metric_value" : "42" , "metric_name" : "x\u00e9\ud83d\ude00\ud800y", "extra": {"a":[1,{"b":null}]}, "metric_type":"gauge"} ] ,
			"METRICS_GROUP_TYPE":"cpu", "metricſ_group_interval": 30, "resource": {"resource_metadata": {"k": null, "k\"2": "v\/"}, "resource_id": "r"},
			"resource": {"resource_site": "s"}, "dimensions": [null, {"Dimension_Name": "n"}], "dimensions": [{"dimension_value": "v"}] } `),
		[]byte(`{"metrics":[{"metric_value":null},{"metric_value":-0},{"metric_value":1.5E+3},{"metric_value":"0x1p-2"},{"metric_value":18446744073709551616}]}`),
		[]byte(`null`),
		[]byte(`{"metrics":[{"metric_name":"a"},{"metric_name":"b"},{"metric_name":"c"}],"metrics":[{"metric_value":1}],"metrics":[{},{},{}]}`),
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range seedMessages(f) {
		f.Add(s)
	}
	// metric_type: escaped, unknown, empty, repeated (Type.UnmarshalText).
	f.Add([]byte(`{"metrics":[{"metric_type":"c\u006funter"},{"metric_type":"histogram"}]}`))
	f.Add([]byte(`{"metrics":[{"metric_type":"","metric_type":"gauge"},{"metric_type":null},{"metric_type":"Gauge"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkLikeEncodingJSON(t, data)
	})
}

func TestDecodeLikeEncodingJSON(t *testing.T) {
	cases := []string{
		// Key order, unknown keys at any depth, whitespace.
		`{"metrics_group_schema_version":"0.2","metrics":[{"metric_name":"a","metric_type":"counter","metric_value":1,"metric_creation_timestamp":1.5}],"resource":{"resource_id":"x","nested":{"a":[[[]],{}],"b":"}"}},"x":[1,"]",{"y":true}],"metrics_group_interval":60}`,
		"\t\r\n {\"metrics_group_type\" \n:\t\"t\" } \n",
		// Escapes, surrogate pairs, lone surrogates, invalid UTF-8, escaped keys.
		`{"metrics_group_type":"\"\\\/\b\f\n\r\t\u0041\u00e9\u20ac\ud83d\ude00\udc00\ud800\u0041\ud800"}`,
		"{\"metrics_group_type\":\"bad \xff\xfe utf8 \xed\xa0\x80 end\"}",
		`{"metrics_group_t\u0079pe":"escaped key","\u0052esource":{"resource_id":"r"}}`,
		`{"metrics_group_type":"\x"}`, `{"metrics_group_type":"\u12"}`, `{"metrics_group_type":"\u12G4"}`,
		"{\"metrics_group_type\":\"ctl\x01\"}",
		// Case-insensitive keys as encoding/json matches them (ſ folds to S, K to K).
		`{"METRICS":[{"METRIC_NAME":"a"}],"Resource":{"RESOURCE_ſITE":"s"},"dimensions":[{"dimension_name":"\u212a"}]}`,
		// Numbers: big, negative, exponents, quoted, null, out of range.
		`{"metrics":[{"metric_value":18446744073709551615},{"metric_value":-9223372036854775808},{"metric_value":-9223372036854775809},{"metric_value":1e-400},{"metric_value":-1.25e+2}]}`,
		`{"metrics":[{"metric_value":1e400}]}`, `{"metrics":[{"metric_value":"1e400"}]}`, `{"metrics":[{"metric_value":"abc"}]}`,
		`{"metrics":[{"metric_value":"+7"},{"metric_value":"007"},{"metric_value":"inf"},{"metric_value":" 1"}]}`,
		`{"metrics":[{"metric_value":true}]}`, `{"metrics":[{"metric_value":{"a":1}}]}`, `{"metrics":[{"metric_value":[1]}]}`,
		`{"metrics_group_interval":1.0}`, `{"metrics_group_interval":1e2}`, `{"metrics_group_interval":9223372036854775808}`,
		`{"metrics_group_interval":-0}`, `{"metrics_group_interval":"60"}`, `{"metrics_group_interval":null,"metrics_group_type":null}`,
		`{"metrics_group_creation_timestamp":1e400}`, `{"metrics_group_creation_timestamp":-0.0}`,
		`{"metrics_group_interval":01}`, `{"metrics_group_interval":-}`, `{"metrics_group_interval":1.}`, `{"metrics_group_interval":.5}`,
		// Nulls and empties.
		`{"resource":null,"metrics":null,"dimensions":null}`, `{"metrics":[],"dimensions":[],"resource":{"resource_metadata":{}}}`,
		`{"metrics":[null,{"metric_name":"a"},null]}`, `{"resource":{"resource_metadata":null}}`,
		// Repeated keys merge as encoding/json merges them.
		`{"resource":{"resource_id":"a","resource_metadata":{"x":"1"}},"resource":{"resource_site":"s","resource_metadata":{"y":"2"}}}`,
		`{"resource":{"resource_id":"a"},"resource":null,"resource":{"resource_site":"s"}}`,
		`{"dimensions":[{"dimension_name":"a"},{"dimension_name":"b"}],"dimensions":[],"dimensions":[{"dimension_value":"v"}]}`,
		// Wrong types and bad syntax.
		`[]`, `"s"`, `1`, `true`, ``, ` `, `{`, `{}x`, `{} {}`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{,}`, `[1,]`, `{"a":[1,]}`, `{"a":tru}`, `{"a":nul}`,
		`{"metrics":{}}`, `{"metrics":[1]}`, `{"dimensions":"x"}`, `{"resource":[]}`, `{"resource":{"resource_metadata":{"a":1}}}`,
		`{"metrics_group_type":1}`, `{"metrics_group_type":{"a":"b"}}`, `{"x":[1 2]}`, `{"x" 1}`, "\xef\xbb\xbf{}",
		strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
		`{"x":` + strings.Repeat("[", 9999) + strings.Repeat("]", 9999) + `}`,
		`{"x":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`,
	}
	for _, c := range cases {
		checkLikeEncodingJSON(t, []byte(c))
	}
	for _, s := range seedMessages(t) {
		checkLikeEncodingJSON(t, s)
	}
}

func TestDecodeTruncatedAtEveryOffset(t *testing.T) {
	for _, msg := range seedMessages(t) {
		for i := 0; i < len(msg); i++ {
			var g Group
			if err := decodeFast(msg[:i], &g); err == nil && !json.Valid(msg[:i]) {
				t.Fatalf("prefix %q decoded without error", msg[:i])
			}
			checkLikeEncodingJSON(t, msg[:i])
		}
	}
}

func TestDecodeValues(t *testing.T) {
	msg := `{"metrics_group_interval":60,"metrics_group_type":"t","metrics_group_schema_version":"0.2",
		"resource":{"resource_site":"s","resource_class":"c","resource_subclass":"sc","resource_type":"t","resource_id":"i","resource_endpoint":"e"},
		"metrics":[{"metric_name":"big","metric_type":"counter","metric_value":18446744073709551615},
		{"metric_name":"neg","metric_type":"gauge","metric_value":-42},
		{"metric_name":"exp","metric_type":"gauge","metric_value":2.5e-3},
		{"metric_name":"quoted","metric_type":"gauge","metric_value":"12345678901234567890"},
		{"metric_name":"null","metric_type":"gauge","metric_value":null}],
		"dimensions":[{"dimension_value":"\ud83d\ude00 \u00e9","dimension_name":"emoji"}]}`
	g, err := Decode([]byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	check := func(name string, ok bool) {
		m, _ := g.Metric(name)
		if !ok {
			t.Errorf("%s = %v (%+v)", name, m.Value, m)
		}
	}
	val := func(name string) Value { m, _ := g.Metric(name); return m.Value }
	check("big", val("big") == Uint(math.MaxUint64))
	check("neg", val("neg") == Int(-42))
	check("exp", val("exp") == Float(2.5e-3))
	check("quoted", val("quoted") == Uint(12345678901234567890))
	check("null", val("null").IsFloat() && math.IsNaN(val("null").Float64()))
	if d := g.Dimension("emoji"); d != "😀 é" {
		t.Errorf("emoji = %q", d)
	}
	// The result aliases nothing of the input.
	b := []byte(msg)
	g2, _ := Decode(b)
	for i := range b {
		b[i] = 'x'
	}
	if g2.Resource.ID != "i" || g2.Metrics[0].Name != "big" || g2.Dimensions[0].Name != "emoji" {
		t.Errorf("decoded strings changed with the input: %+v", g2)
	}
}

func TestDecodeErrorsSayWhatAndWhere(t *testing.T) {
	for in, want := range map[string]string{
		`{"metrics_group_type":"t",}`:          "decode metrics group: invalid character '}' looking for beginning of object key string at offset 26",
		`{"metrics_group_interval":"60"}`:      "decode metrics group: metrics_group_interval: expected number, got string at offset 26",
		`{"metrics":[{"metric_value":"abc"}]}`: `decode metrics group: metric_value "abc" is not a number at offset 28`,
		`{"metrics_group_type":"a\qb"}`:        `decode metrics group: invalid character 'q' in string escape code at offset 25`,
		`{"metrics_group_type":"t"`:            "decode metrics group: unexpected end of JSON input at offset 25",
		`{"metrics_group_interval":1e2}`:       "decode metrics group: metrics_group_interval: number 1e2 is not an integer that fits in int at offset 26",
	} {
		_, err := Decode([]byte(in))
		if err == nil || err.Error() != want {
			t.Errorf("Decode(%s) = %v\nwant %s", in, err, want)
		}
	}
	if _, err := Decode([]byte(`{}`)); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty object: %v, want ErrInvalid", err)
	}
}

var benchSink *Group

func benchMessage() []byte { return AppendJSON(nil, twentyMetrics()) }

func BenchmarkDecode(b *testing.B) {
	msg := benchMessage()
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		g, err := Decode(msg)
		if err != nil {
			b.Fatal(err)
		}
		benchSink = g
	}
}

// BenchmarkDecodeEncodingJSONReference is what Decode cost before decodeFast.
func BenchmarkDecodeEncodingJSONReference(b *testing.B) {
	msg := benchMessage()
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		g := new(Group)
		if err := json.Unmarshal(msg, g); err != nil {
			b.Fatal(err)
		}
		if err := g.Validate(); err != nil {
			b.Fatal(err)
		}
		benchSink = g
	}
}
