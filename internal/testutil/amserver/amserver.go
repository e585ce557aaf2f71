// Package amserver runs a real Alertmanager (Debian's
// prometheus-alertmanager package) for tests: on a free loopback port,
// clustering off, a temp storage dir and a config whose only receiver
// discards notifications (the tests read alerts back through the API).
package amserver

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/testutil/daemon"
	"github.com/panoptes-go/panoptes/internal/testutil/freeport"
)

// Server is a running Alertmanager.
type Server struct {
	URL     string // http://127.0.0.1:<port>
	LogFile string
	client  *http.Client
}

// Binary returns the alertmanager binary: Debian's name, else upstream's.
func Binary() string {
	for _, name := range []string{"prometheus-alertmanager", "alertmanager"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// Need skips the test when Alertmanager is not installed, and fails it
// instead when CI is "true" (nothing skips in CI).
func Need(t testing.TB) {
	t.Helper()
	daemon.Need(t, "alertmanager", Binary(), "install Debian's prometheus-alertmanager package (scripts/install-deps.sh)")
}

const config = `route:
  receiver: discard
  group_by: ['...']
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: discard
`

// Start starts Alertmanager, waits until it is ready and stops it in
// t.Cleanup (its log is shown when the test failed).
func Start(t testing.TB) *Server {
	t.Helper()
	Need(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(conf, []byte(config), 0o600); err != nil {
		t.Fatalf("amserver: %v", err)
	}
	s := &Server{LogFile: filepath.Join(dir, "alertmanager.log"), client: &http.Client{Timeout: 10 * time.Second}}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ { // a free port can be taken between probe and bind
		port := freeport.TCP(t)
		s.URL = "http://127.0.0.1:" + strconv.Itoa(port)
		cmd := exec.Command(Binary(),
			"--config.file="+conf,
			"--storage.path="+filepath.Join(dir, "data"),
			"--web.listen-address=127.0.0.1:"+strconv.Itoa(port),
			"--cluster.listen-address=", // no gossip: one instance
			"--log.level=info",
		)
		cmd.Dir = dir
		if lastErr = daemon.Start(t, "alertmanager", cmd, s.LogFile, s.URL+"/-/ready", 30*time.Second); lastErr == nil {
			return s
		}
	}
	t.Fatalf("amserver: start alertmanager: %v", lastErr)
	return nil
}

// Alert is an alert as GET /api/v2/alerts returns it.
type Alert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	StartsAt    time.Time         `json:"startsAt"`
	EndsAt      time.Time         `json:"endsAt"`
	Status      struct {
		State string `json:"state"` // active, suppressed, unprocessed
	} `json:"status"`
}

// Alerts lists the alerts Alertmanager holds that are not resolved.
func (s *Server) Alerts(ctx context.Context) ([]Alert, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/api/v2/alerts", nil)
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
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /api/v2/alerts: %s: %s", resp.Status, body)
	}
	var alerts []Alert
	if err := json.Unmarshal(body, &alerts); err != nil {
		return nil, fmt.Errorf("GET /api/v2/alerts: %w", err)
	}
	now := time.Now()
	firing := alerts[:0]
	for _, a := range alerts {
		if a.EndsAt.IsZero() || a.EndsAt.After(now) {
			firing = append(firing, a)
		}
	}
	return firing, nil
}
