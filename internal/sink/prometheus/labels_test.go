package prometheus

import (
	"strings"
	"testing"

	"github.com/panoptes-go/panoptes/internal/metric"
)

func TestAppendName(t *testing.T) {
	for _, c := range []struct {
		group, metric string
		typ           metric.Type
		want          string
	}{
		{"interface", "bits_in", metric.Counter, "panoptes_interface_bits_in_total"},
		{"interface", "oper_state", metric.Gauge, "panoptes_interface_oper_state"},
		{"interface", "errors_total", metric.Counter, "panoptes_interface_errors_total"},
		{"bgp-session", "state:up", metric.Gauge, "panoptes_bgp_session_state_up"},
		{"env", "température", metric.Gauge, "panoptes_env_temp_rature"},
		{"9group", "1x", metric.Gauge, "panoptes_9group_1x"},
	} {
		if got := string(appendName(nil, c.group, c.metric, c.typ)); got != c.want {
			t.Errorf("appendName(%q, %q, %s) = %q, want %q", c.group, c.metric, c.typ, got, c.want)
		}
	}
}

func TestLabelName(t *testing.T) {
	for in, want := range map[string]string{
		"interface_name": "interface_name",
		"if-name":        "if_name",
		"9lives":         "_9lives",
		"__reserved":     "dim__reserved",
		"naïve":          "na_ve",
		"":               "_",
	} {
		if got := labelName(in); got != want {
			t.Errorf("labelName(%q) = %q, want %q", in, got, want)
		}
	}
	if got := labelValue("ok\xffbad"); got != "ok\uFFFDbad" {
		t.Errorf("labelValue kept invalid UTF-8: %q", got)
	}
}

func TestAppendGroupLabels(t *testing.T) {
	g := &metric.Group{Resource: device("dc1", "sw1"), Dimensions: []metric.Dimension{
		{Name: "media_type", Value: "ethernetCsmacd"}, {Name: "alias", Value: ""}, {Name: "Interface", Value: "Gi1"},
	}}
	ls, err := appendGroupLabels(nil, g)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range ls {
		names = append(names, l.name)
	}
	const want = "Interface media_type resource_class resource_endpoint resource_id resource_site resource_subclass resource_type"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("labels %s, want %s (sorted, empty alias left out)", got, want)
	}
	g.Dimensions = append(g.Dimensions, metric.Dimension{Name: "media-type", Value: "x"})
	if _, err := appendGroupLabels(nil, g); err == nil || !strings.Contains(err.Error(), `"media_type"`) {
		t.Errorf("colliding dimensions: %v, want an error naming media_type", err)
	}
	if _, err := appendGroupLabels(nil, &metric.Group{}); err == nil {
		t.Error("a group without resource was accepted")
	}
}
