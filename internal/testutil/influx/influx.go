// Package influx starts a real InfluxDB 1.x (Debian's influxdb package,
// /usr/bin/influxd) for tests: loopback ports, a temporary directory for
// its data, stopped in t.Cleanup. A test can kill it and start it again on
// the same data to play an outage.
package influx

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/testutil/freeport"
)

// Binary is the InfluxDB server the tests run.
const Binary = "influxd"

// Need skips the test when influxd is not installed, and fails it instead
// when the environment variable CI is "true" (nothing skips in CI).
func Need(t testing.TB) {
	t.Helper()
	if _, err := lookPath(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not found (CI=true: install the Debian package influxdb)", Binary)
		}
		t.Skipf("%s not found; install the Debian package influxdb", Binary)
	}
}

func lookPath() (string, error) {
	if p, err := exec.LookPath(Binary); err == nil {
		return p, nil
	}
	if _, err := os.Stat("/usr/bin/influxd"); err == nil {
		return "/usr/bin/influxd", nil
	}
	return "", fmt.Errorf("%s not found", Binary)
}

// Server is a running (or killed) InfluxDB.
type Server struct {
	URL string // http://127.0.0.1:port

	t      testing.TB
	bin    string
	dir    string
	config string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

// Start starts InfluxDB on free loopback ports (HTTP and RPC) with its data
// under a temporary directory, waits until it answers /ping, and stops it
// when the test ends. It calls Need first.
func Start(t testing.TB) *Server {
	t.Helper()
	Need(t)
	bin, _ := lookPath()
	dir := t.TempDir()
	httpPort, rpcPort := freeport.TCP(t), freeport.TCP(t)
	s := &Server{
		URL: fmt.Sprintf("http://127.0.0.1:%d", httpPort),
		t:   t, bin: bin, dir: dir, config: filepath.Join(dir, "influxdb.conf"),
	}
	conf := fmt.Sprintf(`reporting-disabled = true
bind-address = "127.0.0.1:%d"
[meta]
  dir = %q
[data]
  dir = %q
  wal-dir = %q
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:%d"
  log-enabled = false
[monitor]
  store-enabled = false
[continuous_queries]
  enabled = false
[subscriber]
  enabled = false
[logging]
  level = "warn"
`, rpcPort, filepath.Join(dir, "meta"), filepath.Join(dir, "data"), filepath.Join(dir, "wal"), httpPort)
	if err := os.WriteFile(s.config, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			s.dumpLog()
		}
	})
	s.Restart()
	return s
}

// Restart starts the server again on the same ports and data after Kill
// or Stop (Start already runs it once), and waits until it answers.
func (s *Server) Restart() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		s.t.Fatal("influx: Restart while the server runs")
	}
	logf, err := os.OpenFile(filepath.Join(s.dir, "influxd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		s.t.Fatal(err)
	}
	cmd := exec.Command(s.bin, "-config", s.config)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		s.t.Fatalf("influx: start %s: %v", s.bin, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); _ = logf.Close(); close(exited) }()
	s.cmd, s.exited = cmd, exited

	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.URL + "/ping")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusNoContent {
				return
			}
		}
		select {
		case <-exited:
			s.cmd = nil
			s.dumpLog()
			s.t.Fatalf("influx: influxd exited during startup")
		default:
		}
		if time.Now().After(deadline) {
			s.mu.Unlock()
			s.Stop()
			s.mu.Lock()
			s.dumpLog()
			s.t.Fatalf("influx: no answer on %s/ping within 30s", s.URL)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Kill ends the server with SIGKILL, as a crash would, and waits for it.
func (s *Server) Kill() { s.signal(syscall.SIGKILL) }

// Stop ends the server with SIGTERM (SIGKILL after 10s) and waits for it.
func (s *Server) Stop() { s.signal(syscall.SIGTERM) }

func (s *Server) signal(sig syscall.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(sig)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	s.cmd = nil
}

func (s *Server) dumpLog() {
	b, err := os.ReadFile(filepath.Join(s.dir, "influxd.log"))
	if err != nil || len(b) == 0 {
		return
	}
	if len(b) > 8192 {
		b = b[len(b)-8192:]
	}
	s.t.Logf("influxd log (tail):\n%s", b)
}

// CreateDatabase creates db.
func (s *Server) CreateDatabase(db string) {
	s.t.Helper()
	if _, err := s.query("", "CREATE DATABASE "+quoteIdent(db), http.MethodPost); err != nil {
		s.t.Fatal(err)
	}
}

// Series is one series of a query result.
type Series struct {
	Name    string            `json:"name"`
	Tags    map[string]string `json:"tags"`
	Columns []string          `json:"columns"`
	Values  [][]any           `json:"values"` // numbers are json.Number (exact integers)
}

// Query runs an InfluxQL query in db with epoch=ms times and returns the
// series of its first statement.
func (s *Server) Query(db, q string) []Series {
	s.t.Helper()
	series, err := s.query(db, q, http.MethodGet)
	if err != nil {
		s.t.Fatal(err)
	}
	return series
}

// TryQuery is Query returning the error (a missing database, a server
// that is down) instead of failing the test.
func (s *Server) TryQuery(db, q string) ([]Series, error) {
	return s.query(db, q, http.MethodGet)
}

func (s *Server) query(db, q, method string) ([]Series, error) {
	v := url.Values{"q": {q}, "epoch": {"ms"}}
	if db != "" {
		v.Set("db", db)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var req *http.Request
	var err error
	if method == http.MethodPost {
		req, err = http.NewRequestWithContext(ctx, method, s.URL+"/query", strings.NewReader(v.Encode()))
		if req != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	} else {
		req, err = http.NewRequestWithContext(ctx, method, s.URL+"/query?"+v.Encode(), nil)
	}
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("influx query %q: %w", q, err)
	}
	defer resp.Body.Close()
	var out struct {
		Results []struct {
			Series []Series `json:"series"`
			Error  string   `json:"error"`
		} `json:"results"`
		Error string `json:"error"`
	}
	dec := json.NewDecoder(resp.Body)
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("influx query %q: HTTP %d: %w", q, resp.StatusCode, err)
	}
	if out.Error != "" {
		return nil, fmt.Errorf("influx query %q: %s", q, out.Error)
	}
	if len(out.Results) == 0 {
		return nil, nil
	}
	if out.Results[0].Error != "" {
		return nil, fmt.Errorf("influx query %q: %s", q, out.Results[0].Error)
	}
	return out.Results[0].Series, nil
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }
