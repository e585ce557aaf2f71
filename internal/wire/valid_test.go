package wire

import (
	"testing"

	"github.com/panoptes-go/panoptes/internal/metric"
)

// TestEncodeVouchesOnlyForValid: a message is Valid exactly when every
// group in it passes Group.Validate (an empty schema version is the one
// the encoder writes); each broken group spoils its own subject's message
// only, and every line of a Valid message passes metric.Validate, which a
// consumer then skips.
func TestEncodeVouchesOnlyForValid(t *testing.T) {
	breaks := map[string]func(*metric.Group){
		"none":                 func(*metric.Group) {},
		"empty schema version": func(g *metric.Group) { g.SchemaVersion = "" },
		"metric without name":  func(g *metric.Group) { g.Metrics[1].Name = "" },
		"unknown metric type":  func(g *metric.Group) { g.Metrics[0].Type = metric.Counter + 1 },
		"no metric type":       func(g *metric.Group) { g.Metrics[0].Type = 0 },
		"no metrics":           func(g *metric.Group) { g.Metrics = nil },
		"no type":              func(g *metric.Group) { g.Type = "" },
		"zero interval":        func(g *metric.Group) { g.Interval = 0 },
		"dimension no name":    func(g *metric.Group) { g.Dimensions[0].Name = "" },
		"old schema version":   func(g *metric.Group) { g.SchemaVersion = "0.1" },
		"blank resource id":    func(g *metric.Group) { r := *g.Resource; r.ID = " "; g.Resource = &r },
	}
	valid := map[string]bool{"none": true, "empty schema version": true}
	for name, edit := range breaks {
		set := interfaceSet(testResource("site1", "sw1"), 4)
		edit(set.Groups[2]) // an interface group; the status group stays good
		var e Encoder
		var subjects SubjectCache
		if _, err := e.Encode(set, &subjects, Legacy); err != nil && name != "blank resource id" {
			t.Fatalf("%s: Encode: %v", name, err)
		}
		for i, m := range e.Messages() {
			wantValid := valid[name] || m.Subject != subjects.Metrics(Legacy, "site1", set.Groups[2].Type, 0)
			if m.Valid != wantValid {
				t.Errorf("%s: message on %s Valid %v, want %v", name, m.Subject, m.Valid, wantValid)
			}
			if !m.Valid {
				continue
			}
			for line := range Groups(e.Bytes(i)) {
				if err := metric.Validate(line); err != nil {
					t.Errorf("%s: a Valid message's group fails metric.Validate: %v", name, err)
				}
			}
		}
	}
}

// TestVouched: the header must say ValidValue, and a sourced message is
// never vouched for.
func TestVouched(t *testing.T) {
	for _, tc := range []struct {
		h    map[string]string
		want bool
	}{
		{map[string]string{ValidHeader: ValidValue}, true},
		{map[string]string{ValidHeader: "true"}, false},
		{map[string]string{}, false},
		{map[string]string{ValidHeader: ValidValue, SourceHeader: "PANOPTES_METRICS 7 > >"}, false},
	} {
		get := func(k string) string { return tc.h[k] }
		if got := Vouched(get); got != tc.want {
			t.Errorf("Vouched(%v) = %v, want %v", tc.h, got, tc.want)
		}
	}
}
