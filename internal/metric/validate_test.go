package metric

import (
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// checkValidateLikeDecode fails t unless Validate and Decode agree on data:
// the same verdict and the same error. check alone, when it decides (not
// errMerge), must reach Decode's verdict too: Validate's fallback to Decode
// must not be what hides a difference.
func checkValidateLikeDecode(t *testing.T, data []byte) {
	t.Helper()
	_, decErr := Decode(data)
	valErr := Validate(data)
	if (decErr == nil) != (valErr == nil) || decErr != nil && decErr.Error() != valErr.Error() {
		t.Fatalf("Validate = %v, Decode = %v on %q", valErr, decErr, data)
	}
	if err := check(data); !errors.Is(err, errMerge) && (err == nil) != (decErr == nil) {
		t.Fatalf("check = %v, Decode = %v on %q", err, decErr, data)
	}
}

// validBase is a valid group in the order encoding/json writes none in
// particular; validVariants are valid and invalid edits of it that aim at
// what check keeps track of (merged keys, escapes, blanks, ranges).
const validBase = `{"resource":{"resource_site":"s","resource_class":"c","resource_subclass":"sc","resource_type":"t","resource_id":"i","resource_endpoint":"e"},` +
	`"metrics_group_type":"interface","metrics_group_interval":60,"metrics_group_schema_version":"0.2",` +
	`"metrics":[{"metric_name":"m","metric_type":"gauge","metric_value":1,"metric_creation_timestamp":1.5}],` +
	`"dimensions":[{"dimension_name":"d","dimension_value":"v"}]`

func validVariants() []string {
	return []string{
		validBase + `}`,
		// Escapes that decode to the accepted values, and to blanks.
		validBase + `,"metrics_group_schema_version":"0\u002e2"}`,
		validBase + `,"metrics_group_schema_version":"0.2 "}`,
		validBase + `,"metrics":[{"metric_name":"\u006d","metric_type":"\u0067auge"}]}`,
		validBase + `,"metrics":[{"metric_name":"m","metric_type":"Gauge"}]}`,
		validBase + `,"metrics":[{"metric_name":"","metric_type":"gauge"}]}`,
		validBase + `,"metrics":[{"metric_name":"\u0000","metric_type":"counter"}]}`,
		validBase + `,"metrics_group_type":"\u00e9"}`,
		validBase + `,"metrics_group_type":""}`,
		validBase + `,"metrics_group_type":null}`,
		validBase + `,"resource":{"resource_id":"\u00a0"}}`,
		validBase + `,"resource":{"resource_id":" \t\u2003"}}`,
		validBase + `,"resource":{"resource_id":"\u0041"}}`,
		validBase + `,"resource":{"resource_id":"\xff"}}`,
		validBase + `,"resource":{"resource_id":null}}`,
		validBase + `,"resource":{"resource_metadata":{"k":"v","k2":null}}}`,
		validBase + `,"resource":{"resource_metadata":{"k":1}}}`,
		// Repeated keys: the resource merges, null resets it, arrays after
		// null or [] start afresh, a repeated array merges (left to Decode).
		validBase + `,"resource":null}`,
		validBase + `,"resource":null,"resource":{"resource_site":"s"}}`,
		validBase + `,"resource":{"RESOURCE_SITE":"s2"},"Resource":{"resource_id":"i2"}}`,
		validBase + `,"metrics":null}`,
		validBase + `,"metrics":[]}`,
		validBase + `,"metrics":null,"metrics":[{"metric_name":"x","metric_type":"counter"}]}`,
		validBase + `,"metrics":[],"metrics":[{"metric_name":"x","metric_type":"counter"}]}`,
		validBase + `,"metrics":[{}],"metrics":null,"metrics":[{"metric_name":"x","metric_type":"counter"}]}`,
		validBase + `,"metrics":[{"metric_name":"x","metric_type":"counter"}],"metrics":[{}]}`,
		validBase + `,"metrics":[{"metric_type":"counter"}],"metrics":[{"metric_name":"x"}]}`,
		validBase + `,"metrics":[null]}`,
		validBase + `,"dimensions":[{"dimension_name":""}],"dimensions":null}`,
		validBase + `,"dimensions":[{"dimension_value":"v"}]}`,
		validBase + `,"dimensions":[{"dimension_name":"a"}],"dimensions":[{"dimension_value":"v"}]}`,
		validBase + `,"dimensions":null}`,
		validBase + `,"metrics_group_interval":0}`,
		validBase + `,"metrics_group_interval":null}`,
		validBase + `,"metrics_group_interval":-5,"metrics_group_interval":5}`,
		// Numbers at the edge of float64's range.
		validBase + `,"metrics_group_creation_timestamp":1e308}`,
		validBase + `,"metrics_group_creation_timestamp":1e309}`,
		validBase + `,"metrics_group_creation_timestamp":17976931348623157e292}`,
		validBase + `,"metrics_group_creation_timestamp":17976931348623159e292}`,
		validBase + `,"metrics_group_creation_timestamp":-1` + strings.Repeat("0", 308) + `}`,
		validBase + `,"metrics_group_creation_timestamp":0.000001e-99999}`,
		validBase + `,"metrics":[{"metric_name":"m","metric_type":"gauge","metric_value":1e400}]}`,
		validBase + `,"metrics":[{"metric_name":"m","metric_type":"gauge","metric_value":"1e400"}]}`,
		validBase + `,"metrics":[{"metric_name":"m","metric_type":"gauge","metric_value":"0x1p-2"}]}`,
		validBase + `,"metrics":[{"metric_name":"m","metric_type":"gauge","metric_value":99999999999999999999999}]}`,
		validBase + `,"metrics":[{"metric_name":"m","metric_type":"gauge","metric_value":-0.5E+0003}]}`,
	}
}

func FuzzValidate(f *testing.F) {
	for _, s := range seedMessages(f) {
		f.Add(s)
	}
	for _, s := range validVariants() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkValidateLikeDecode(t, data)
	})
}

func TestValidateLikeDecode(t *testing.T) {
	accepted := 0
	for _, s := range validVariants() {
		checkValidateLikeDecode(t, []byte(s))
		if Validate([]byte(s)) == nil {
			accepted++
		}
	}
	// The variants must exercise both verdicts, or the test proves little.
	if accepted < 10 || accepted > len(validVariants())-10 {
		t.Errorf("%d of %d variants accepted; want both verdicts well represented", accepted, len(validVariants()))
	}
	for _, s := range seedMessages(t) {
		checkValidateLikeDecode(t, s)
		for i := range s { // every prefix
			checkValidateLikeDecode(t, s[:i])
		}
	}
}

func TestValidateAllocatesNothing(t *testing.T) {
	seeds := seedMessages(t)
	for _, msg := range [][]byte{seeds[0], seeds[1], seeds[2], seeds[4]} { // the valid ones
		if err := Validate(msg); err != nil {
			t.Fatalf("Validate(%.80s...) = %v", msg, err)
		}
		if n := testing.AllocsPerRun(100, func() { _ = Validate(msg) }); n != 0 {
			t.Errorf("Validate(%.80s...) allocates %v times, want 0", msg, n)
		}
	}
}

func TestFloatInRange(t *testing.T) {
	nums := []string{"0", "-0", "1", "1.5", "1e308", "1e309", "9e307", "99e306", "999e306", "1.7976931348623157e308",
		"1.7976931348623159e308", "1e-400", "1E+0308", "1e00308", "-1" + strings.Repeat("0", 307), "-1" + strings.Repeat("0", 308)}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		n := strconv.Itoa(1 + r.IntN(1000000))
		if e := r.IntN(40); e < 3 { // long mantissas: 280..320 digits
			n = strings.Repeat("9", 280+e*20) + n
		}
		if r.IntN(2) == 0 {
			n = "-" + n
		}
		if r.IntN(2) == 0 {
			n += "." + strconv.Itoa(r.IntN(1000))
		}
		e := r.IntN(700) - 350
		sign := "-"
		if e >= 0 {
			sign = []string{"", "+"}[r.IntN(2)]
		}
		switch abs := strconv.Itoa(max(e, -e)); r.IntN(4) {
		case 0:
			n += "e" + sign + abs
		case 1:
			n += "E" + sign + strings.Repeat("0", r.IntN(3)) + abs
		}
		nums = append(nums, n)
	}
	sure := 0
	for _, n := range nums {
		if floatInRange([]byte(n)) {
			sure++
			if _, err := strconv.ParseFloat(n, 64); err != nil {
				t.Fatalf("floatInRange(%s) but ParseFloat: %v", n, err)
			}
		}
	}
	if sure < len(nums)/3 {
		t.Errorf("only %d of %d numbers judged without ParseFloat", sure, len(nums))
	}
}

// BenchmarkValidate compares Validate with Decode on interface groups: the
// one in testdata (2 metrics) and one of 20 metrics as the poller writes it.
func BenchmarkValidate(b *testing.B) {
	for _, tc := range []struct {
		name string
		msg  []byte
	}{
		{"testdata", seedMessages(b)[0]},
		{"20-metrics", benchMessage()},
	} {
		for _, fn := range []struct {
			name string
			run  func([]byte) error
		}{
			{"Decode", func(m []byte) error { _, err := Decode(m); return err }},
			{"Validate", Validate},
		} {
			b.Run(tc.name+"/"+fn.name, func(b *testing.B) {
				b.SetBytes(int64(len(tc.msg)))
				b.ReportAllocs()
				for b.Loop() {
					if err := fn.run(tc.msg); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
