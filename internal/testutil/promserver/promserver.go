// Package promserver runs a real Prometheus server (Debian's prometheus
// package) for tests: on a free loopback port, with a temp storage dir, the
// remote-write receiver enabled and a generated config that scrapes the
// given targets every second.
package promserver

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/testutil/daemon"
	"github.com/panoptes-go/panoptes/internal/testutil/freeport"
)

// Server is a running Prometheus.
type Server struct {
	URL     string // http://127.0.0.1:<port>
	Dir     string // config, storage and log
	LogFile string
	client  *http.Client
}

// RemoteWriteURL is the server's remote-write receiver.
func (s *Server) RemoteWriteURL() string { return s.URL + "/api/v1/write" }

// Binary returns the prometheus binary: from PATH, else /usr/bin/prometheus.
func Binary() string {
	if p, err := exec.LookPath("prometheus"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/bin/prometheus"); err == nil {
		return "/usr/bin/prometheus"
	}
	return ""
}

// Need skips the test when prometheus is not installed, and fails it
// instead when the environment variable CI is "true" (nothing skips in CI).
func Need(t testing.TB) {
	t.Helper()
	daemon.Need(t, "prometheus", Binary(), "install Debian's prometheus package (apt-get install -y --no-install-recommends prometheus)")
}

// StartPrometheus starts Prometheus scraping scrapeTargets every second
// (each "host:port" for /metrics, or a full http URL), waits until it is
// ready and stops it in t.Cleanup.
func StartPrometheus(t testing.TB, scrapeTargets []string) *Server {
	t.Helper()
	return Start(t, Options{ScrapeTargets: scrapeTargets})
}

// Options say what a Prometheus started by Start scrapes and evaluates.
type Options struct {
	ScrapeTargets []string // as StartPrometheus's
	RuleFiles     []string // recording and alerting rule files, evaluated every second
	// ScrapeAuth, when set, is given to every scrape job: basic auth and
	// the CA of the targets' TLS certificates (targets as https URLs).
	ScrapeAuth *ScrapeAuth
}

// ScrapeAuth is a scrape job's basic_auth and tls_config.
type ScrapeAuth struct {
	Username, Password string
	CAFile             string
}

// Start is StartPrometheus with rule files.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	Need(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "prometheus.yml")
	cfg, err := Config(o.ScrapeTargets)
	if err == nil && o.ScrapeAuth != nil {
		a := o.ScrapeAuth
		job := fmt.Sprintf("    basic_auth: {username: %q, password: %q}\n    tls_config: {ca_file: %q}\n", a.Username, a.Password, a.CAFile)
		cfg = strings.ReplaceAll(cfg, "    static_configs:\n", job+"    static_configs:\n")
	}
	if err == nil && len(o.RuleFiles) > 0 {
		cfg += "rule_files:\n"
		for _, f := range o.RuleFiles {
			abs, aerr := filepath.Abs(f)
			if aerr != nil {
				t.Fatalf("promserver: rule file %s: %v", f, aerr)
			}
			cfg += fmt.Sprintf("  - %q\n", abs)
		}
	}
	if err != nil {
		t.Fatalf("promserver: %v", err)
	}
	if err := os.WriteFile(conf, []byte(cfg), 0o600); err != nil {
		t.Fatalf("promserver: write config: %v", err)
	}
	s := &Server{Dir: dir, LogFile: filepath.Join(dir, "prometheus.log"), client: &http.Client{Timeout: 10 * time.Second}}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ { // a free port can be taken between probe and bind
		port := freeport.TCP(t)
		s.URL = "http://127.0.0.1:" + strconv.Itoa(port)
		cmd := exec.Command(Binary(),
			"--config.file="+conf,
			"--storage.tsdb.path="+filepath.Join(dir, "data"),
			"--web.listen-address=127.0.0.1:"+strconv.Itoa(port),
			"--web.enable-remote-write-receiver",
			"--log.level=info",
		)
		cmd.Dir = dir
		if lastErr = daemon.Start(t, "prometheus", cmd, s.LogFile, s.URL+"/-/ready", 30*time.Second); lastErr == nil {
			return s
		}
	}
	t.Fatalf("promserver: start prometheus: %v", lastErr)
	return nil
}

// Config returns the prometheus.yml for scrapeTargets.
func Config(scrapeTargets []string) (string, error) {
	var b strings.Builder
	b.WriteString("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n")
	if len(scrapeTargets) == 0 {
		b.WriteString("scrape_configs: []\n")
		return b.String(), nil
	}
	b.WriteString("scrape_configs:\n")
	for i, target := range scrapeTargets {
		scheme, host, path := "http", target, "/metrics"
		if strings.Contains(target, "://") {
			u, err := url.Parse(target)
			if err != nil || u.Host == "" {
				return "", fmt.Errorf("scrape target %q is neither host:port nor a URL", target)
			}
			scheme, host = u.Scheme, u.Host
			if u.Path != "" {
				path = u.Path
			}
		}
		if _, _, err := net.SplitHostPort(host); err != nil {
			return "", fmt.Errorf("scrape target %q: %v", target, err)
		}
		fmt.Fprintf(&b, "  - job_name: target%d\n    scheme: %s\n    metrics_path: %q\n    static_configs:\n      - targets: [%q]\n",
			i, scheme, path, host)
	}
	return b.String(), nil
}

// Sample is one element of an instant query's vector result.
type Sample struct {
	Labels map[string]string
	Time   float64 // evaluation time, seconds
	Value  string  // as Prometheus formats it: exact for integers below 2^53
}

// Query runs an instant query (/api/v1/query) that returns a vector.
func (s *Server) Query(ctx context.Context, query string) ([]Sample, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/api/v1/query?"+url.Values{"query": {query}}.Encode(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("query %q: %s: %w", query, resp.Status, err)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("query %q: %s: %s", query, resp.Status, r.Error)
	}
	if r.Data.ResultType != "vector" {
		return nil, fmt.Errorf("query %q: result type %s, want vector", query, r.Data.ResultType)
	}
	out := make([]Sample, 0, len(r.Data.Result))
	for _, e := range r.Data.Result {
		ts, _ := e.Value[0].(float64)
		v, _ := e.Value[1].(string)
		out = append(out, Sample{Labels: e.Metric, Time: ts, Value: v})
	}
	return out, nil
}

// WaitQuery runs query until done accepts its result or timeout passes
// (then the test fails), and returns the accepted result.
func (s *Server) WaitQuery(t testing.TB, query string, done func([]Sample) bool, timeout time.Duration) []Sample {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var (
		last []Sample
		err  error
	)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		last, err = s.Query(ctx, query)
		cancel()
		if err == nil && done(last) {
			return last
		}
		if time.Now().After(deadline) {
			t.Fatalf("promserver: query %q: no expected result after %s (last: %d samples, err %v)", query, timeout, len(last), err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
