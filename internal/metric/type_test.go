package metric

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unsafe"
)

// TestMetricSize: every poll makes thousands of metrics (an interface
// check ~30 per interface); a field added or reordered that grows Metric
// should be a decision, not an accident.
func TestMetricSize(t *testing.T) {
	if got := unsafe.Sizeof(Metric{}); got != 56 {
		t.Errorf("unsafe.Sizeof(Metric{}) = %d, want 56", got)
	}
	if got := unsafe.Sizeof(Type(0)); got != 1 {
		t.Errorf("unsafe.Sizeof(Type(0)) = %d, want 1", got)
	}
}

func TestParseType(t *testing.T) {
	for s, want := range map[string]Type{"gauge": Gauge, "counter": Counter} {
		got, err := ParseType(s)
		if err != nil || got != want || got.String() != s {
			t.Errorf("ParseType(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "Gauge", "COUNTER", " gauge", "gauge ", "histogram", "counter\x00"} {
		got, err := ParseType(s)
		if err == nil || got != 0 {
			t.Errorf("ParseType(%q) = %v, %v; want an error", s, got, err)
		} else if !strings.Contains(err.Error(), `"`+strings.ReplaceAll(s, "\x00", `\x00`)+`"`) {
			t.Errorf("ParseType(%q): error %q does not name the value", s, err)
		}
	}
	if s := Type(0).String(); s != "" {
		t.Errorf("Type(0).String() = %q", s)
	}
	if s := Type(9).String(); s != "Type(9)" {
		t.Errorf("Type(9).String() = %q", s)
	}
}

// TestTypeJSON: encoding/json writes and reads a Type as AppendJSON and
// Decode do (FuzzDecode holds decodeFast to encoding/json on whole groups).
func TestTypeJSON(t *testing.T) {
	for _, ty := range []Type{0, Gauge, Counter} {
		b, err := json.Marshal(ty)
		if err != nil || string(b) != `"`+ty.String()+`"` {
			t.Errorf("json.Marshal(%v) = %s, %v", ty, b, err)
		}
		var back Type = 7
		if err := json.Unmarshal(b, &back); err != nil || back != ty {
			t.Errorf("json.Unmarshal(%s) = %v, %v", b, back, err)
		}
	}
	if _, err := json.Marshal(Counter + 1); err == nil {
		t.Errorf("json.Marshal(Type(3)) succeeded")
	}
	back := Gauge
	if err := json.Unmarshal([]byte(`null`), &back); err != nil || back != Gauge {
		t.Errorf("null: %v, %v; want Gauge left as is", back, err)
	}
	if err := json.Unmarshal([]byte(`"histogram"`), &back); err == nil {
		t.Errorf(`"histogram" decoded as %v`, back)
	}
}

// TestMetricTypeDecode: a metric_type other than "gauge", "counter" (once
// unescaped) or "" is a decode error naming it; a missing or empty one
// decodes, and Validate rejects the group.
func TestMetricTypeDecode(t *testing.T) {
	for in, want := range map[string]string{
		`,"metrics":[{"metric_name":"m","metric_type":"histogram"}]}`:               `decode metrics group: metric_type "histogram" is neither gauge nor counter at offset `,
		`,"metrics":[{"metric_name":"m","metric_type":"Gauge"}]}`:                   `decode metrics group: metric_type "Gauge" is neither gauge nor counter at offset `,
		`,"metrics":[{"metric_name":"m","metric_type":"g\u00e9"}]}`:                 `decode metrics group: metric_type "gé" is neither gauge nor counter at offset `,
		`,"metrics":[{"metric_name":"m","metric_type":1}]}`:                         `decode metrics group: metric_type: expected string, got number at offset `,
		`,"metrics":[{"metric_name":"m","metric_type":""}]}`:                        `invalid metrics group: metric m: metric_type "" is neither gauge nor counter`,
		`,"metrics":[{"metric_name":"m"}]}`:                                         `invalid metrics group: metric m: metric_type "" is neither gauge nor counter`,
		`,"metrics":[{"metric_name":"m","metric_type":null}]}`:                      `invalid metrics group: metric m: metric_type "" is neither gauge nor counter`,
		`,"metrics":[{"metric_name":"m","metric_type":"x","metric_type":"gauge"}]}`: `decode metrics group: metric_type "x" is neither gauge nor counter at offset `,
	} {
		// null first: validBase's metrics would merge into these.
		msg := []byte(validBase + `,"metrics":null` + in)
		checkLikeEncodingJSON(t, msg)
		_, err := Decode(msg)
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("Decode(%s) = %v\nwant %s...", in, err, want)
		}
		var de *DecodeError
		if strings.HasPrefix(want, "invalid") != errors.Is(err, ErrInvalid) || strings.HasPrefix(want, "decode") != errors.As(err, &de) {
			t.Errorf("Decode(%s) = %v: wrong kind of error", in, err)
		}
		if verr := Validate(msg); verr == nil || verr.Error() != err.Error() {
			t.Errorf("Validate(%s) = %v, Decode %v", in, verr, err)
		}
	}
	for in, want := range map[string]Type{
		`,"metrics":[{"metric_name":"m","metric_type":"\u0067auge"}]}`:                 Gauge,
		`,"metrics":[{"metric_name":"m","metric_type":"c\u006funter"}]}`:               Counter,
		`,"metrics":[{"metric_name":"m","metric_type":"counter","metric_type":null}]}`: Counter,
		`,"metrics":[{"metric_name":"m","metric_type":"","metric_type":"gauge"}]}`:     Gauge,
	} {
		msg := []byte(validBase + `,"metrics":null` + in)
		checkLikeEncodingJSON(t, msg)
		g, err := Decode(msg)
		if err != nil || g.Metrics[0].Type != want {
			t.Errorf("Decode(%s) = %v; want metric type %v", in, err, want)
		}
	}
}
