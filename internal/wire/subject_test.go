package wire

import (
	"errors"
	"testing"
)

func TestSubject(t *testing.T) {
	for _, tc := range []struct{ site, typ, want string }{
		{"site1", "interface", "panoptes.metrics.site1.interface"},
		{"dc1.ams", "interface", "panoptes.metrics.dc1_ams.interface"},
		{"a*b", "x>y", "panoptes.metrics.a_b.x_y"},
		{"", "", "panoptes.metrics._._"},
		{"new york", "bgp\tsession", "panoptes.metrics.new_york.bgp_session"},
		{"line\nbreak", "ok", "panoptes.metrics.line_break.ok"},
		{"zürich", "cpu", "panoptes.metrics.zürich.cpu"},
	} {
		if got := MetricsSubject(tc.site, tc.typ); got != tc.want {
			t.Errorf("MetricsSubject(%q, %q) = %q, want %q", tc.site, tc.typ, got, tc.want)
		}
	}
}

func TestEventsSubject(t *testing.T) {
	if got := EventsSubject("dc1.ams", "link down"); got != "panoptes.events.dc1_ams.link_down" {
		t.Fatalf("EventsSubject = %q", got)
	}
}

func TestToken(t *testing.T) {
	for in, want := range map[string]string{
		"sw1": "sw1", "": "_", "a.b": "a_b", "*": "_", ">": "_", "a b\tc": "a_b_c",
		"bad\xffutf8": "bad_utf8", "ctl\x01": "ctl_", "zürich": "zürich",
	} {
		if got := Token(in); got != want {
			t.Errorf("Token(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestParseSubject: what MetricsSubject and EventsSubject build parses
// back into its tokens; anything else is an error wrapping ErrSubject.
func TestParseSubject(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Subject
	}{
		{MetricsSubject("site1", "interface"), Subject{Kind: KindMetrics, Site: "site1", Type: "interface"}},
		{MetricsSubject("dc1.ams", "bgp session"), Subject{Kind: KindMetrics, Site: "dc1_ams", Type: "bgp_session"}},
		{MetricsSubject("", ""), Subject{Kind: KindMetrics, Site: "_", Type: "_"}},
		{EventsSubject("lab", "device_down"), Subject{Kind: KindEvents, Site: "lab", Type: "device_down"}},
	} {
		got, err := ParseSubject(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseSubject(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{
		"", "panoptes.metrics.", "panoptes.metrics.site1", "panoptes.metrics.site1.",
		"panoptes.metrics..interface", "panoptes.metrics.a.b.c", "panoptes.metrics.*.interface",
		"panoptes.metrics.site1.>", "panoptes.metrics.>", "panoptes.deadletter.file.x",
		"other.metrics.a.b", "panoptes.metrics.a b.c", "panoptes.events.lab",
	} {
		if got, err := ParseSubject(bad); !errors.Is(err, ErrSubject) {
			t.Errorf("ParseSubject(%q) = %+v, %v; want an ErrSubject", bad, got, err)
		}
	}
}

func TestIsMetricsFilter(t *testing.T) {
	for s, want := range map[string]bool{
		AllMetrics: true, "panoptes.metrics.site1.interface": true, "panoptes.metrics.*.bgp_session": true,
		"panoptes.metrics.site1.>": true, "panoptes.metrics": false, "panoptes.events.>": false,
		">": false, "panoptes.metrics.site 1.x": false, "panoptes.metrics.a.b\n": false,
	} {
		if got := IsMetricsFilter(s); got != want {
			t.Errorf("IsMetricsFilter(%q) = %v, want %v", s, got, want)
		}
	}
}
