package prometheus

import (
	"strings"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/sink/sinktest"
)

func TestSample(t *testing.T) {
	env := func(k string) (string, bool) { return "pw-" + k, k == "PROM_PASSWORD" }
	_, sinks := sinktest.LoadSample(t, "sample.yaml", env)
	e, w := sinks["scrape-me"].(*Exposition), sinks["central"].(*RemoteWrite)
	if e.listen != "127.0.0.1:9273" || e.path != DefaultPath || e.staleAfter != 5*time.Minute {
		t.Errorf("exposition: %s %s %s", e.listen, e.path, e.staleAfter)
	}
	if w.url != "https://prometheus.example.com/api/v1/write" || w.timeout != 10*time.Second ||
		w.header.Get("X-Scope-OrgID") != "network" || !strings.HasPrefix(w.header.Get("Authorization"), "Basic ") {
		t.Errorf("remote write: %s %s %v", w.url, w.timeout, w.header)
	}
}

func TestSampleBadConfig(t *testing.T) {
	for _, c := range []struct{ yaml, want string }{
		{"sinks:\n  - type: prometheus\n    prometheus: {listen: \":9273\", url: \"http://x\"}\n", "bad.yaml:3: sinks[0].prometheus.url: is a setting of sink type prometheus_remote_write"},
		{"sinks:\n  - type: prometheus_remote_write\n    prometheus:\n      url: http://x\n      bearer_tokn: t\n", `bad.yaml:5: sinks[0].prometheus.bearer_tokn: unknown key "bearer_tokn"`},
		{"sinks:\n  - type: prometheus\n", "bad.yaml:2: sinks[0].prometheus: section missing"},
	} {
		_, err := config.Parse("bad.yaml", []byte(c.yaml), func(string) (string, bool) { return "", false }, sinktest.Check)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%q:\n got %v\nwant %s", c.yaml, err, c.want)
		}
	}
}
