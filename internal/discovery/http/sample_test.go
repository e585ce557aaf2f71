package http

import (
	"strings"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/discovery/discoverytest"
)

func TestSample(t *testing.T) {
	t.Setenv("CMDB_TOKEN", "T0KEN")
	_, srcs := discoverytest.LoadSample(t, "sample.yaml")
	h := srcs["cmdb-api"].(*HTTP)
	if h.url != "https://cmdb.example.com/api/devices?site=dc1" || h.headers["Authorization"] != "Bearer T0KEN" || h.timeout != 20*time.Second {
		t.Errorf("source = %+v", h)
	}
	if strings.Contains(h.label, "site=dc1") {
		t.Errorf("the label in messages shows the query, which may hold a token: %s", h.label)
	}
}

func TestBadOptions(t *testing.T) {
	for _, c := range []struct{ yaml, want string }{
		{"discovery:\n  sources:\n    - plugin: http\n      url: ftp://user:PW@cmdb\n",
			"bad.yaml:4: discovery.sources[0].url: is not an http:// or https:// URL with a host (e.g. https://cmdb.example.com/api/devices)"},
		{"discovery:\n  sources:\n    - plugin: http\n      url: http://cmdb/devices\n      format: xml\n", "bad.yaml:5: discovery.sources[0].format: \"xml\" is not one of: csv, json"},
		{"discovery:\n  sources:\n    - plugin: http\n      url: http://cmdb/devices\n      headers: [a]\n", "bad.yaml:5: discovery.sources[0].headers: found a list, want a mapping"},
	} {
		_, err := config.Parse("bad.yaml", []byte(c.yaml), func(string) (string, bool) { return "", false }, discoverytest.Check)
		if err == nil || err.Error() != c.want {
			t.Errorf("%q:\n got %v\nwant %s", c.yaml, err, c.want)
		}
	}
}
