package promserver

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestConfig(t *testing.T) {
	cfg, err := Config([]string{"127.0.0.1:9273", "https://10.0.0.1:8443/panoptes"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"scrape_interval: 1s",
		"job_name: target0\n    scheme: http\n    metrics_path: \"/metrics\"\n    static_configs:\n      - targets: [\"127.0.0.1:9273\"]",
		"job_name: target1\n    scheme: https\n    metrics_path: \"/panoptes\"\n    static_configs:\n      - targets: [\"10.0.0.1:8443\"]",
	} {
		if !strings.Contains(cfg, want) {
			t.Errorf("config lacks %q:\n%s", want, cfg)
		}
	}
	if _, err := Config([]string{"no-port"}); err == nil {
		t.Error("a target without a port was accepted")
	}
}

// TestStartPrometheus starts the real server, has it scrape a tiny target
// and queries the result.
func TestStartPrometheus(t *testing.T) {
	if testing.Short() {
		t.Skip("starts prometheus")
	}
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = w.Write([]byte("# TYPE promserver_probe gauge\npromserver_probe{x=\"y\"} 42\n"))
	}))
	defer target.Close()
	s := StartPrometheus(t, []string{strings.TrimPrefix(target.URL, "http://")})
	got := s.WaitQuery(t, `promserver_probe`, func(r []Sample) bool { return len(r) == 1 }, 20*time.Second)
	if got[0].Value != "42" || got[0].Labels["x"] != "y" || got[0].Labels["job"] != "target0" {
		t.Errorf("scraped sample %+v", got[0])
	}
	if _, err := s.Query(context.Background(), `rate(`); err == nil || !strings.Contains(err.Error(), "rate(") {
		t.Errorf("a bad query gave %v, want an error naming it", err)
	}
	if !strings.HasSuffix(s.RemoteWriteURL(), "/api/v1/write") {
		t.Errorf("RemoteWriteURL %q", s.RemoteWriteURL())
	}
}
