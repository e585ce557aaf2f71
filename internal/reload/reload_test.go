package reload

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/panoptes-go/panoptes/internal/config"
)

const base = `site: lab
polling:
  plugins:
    - name: up
      plugin: uptime
      interval: 10s
sinks:
  - name: out
    type: file
    path: out.jsonl
`

// syncBuffer is a log written by the reloader and read by the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type fixture struct {
	path    string
	r       *Reloader
	reg     *prometheus.Registry
	log     *syncBuffer
	mu      sync.Mutex
	applied []config.Diff
	fail    error
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{path: filepath.Join(t.TempDir(), "panoptes.yaml"), reg: prometheus.NewRegistry(), log: &syncBuffer{}}
	f.write(t, base)
	load := func() (*config.Config, error) { return config.Load(f.path) }
	cur, err := load()
	if err != nil {
		t.Fatal(err)
	}
	f.r = New(Options{Load: load, Current: cur, Registerer: f.reg, Logger: slog.New(slog.NewTextHandler(f.log, nil)),
		Apply: func(_ context.Context, _ *config.Config, d config.Diff) error {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.applied = append(f.applied, d)
			return f.fail
		}})
	return f
}

func (f *fixture) write(t *testing.T, text string) {
	t.Helper()
	if err := os.WriteFile(f.path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) metrics(t *testing.T) (ok float64, results map[string]float64) {
	t.Helper()
	results = map[string]float64{}
	for _, r := range []string{ResultSuccess, ResultInvalid, ResultRestartNeeded, ResultFailed} {
		results[r] = testutil.ToFloat64(f.r.m.reloads.WithLabelValues(r))
	}
	return testutil.ToFloat64(f.r.m.successful), results
}

func TestReload(t *testing.T) {
	f := newFixture(t)
	if ok, _ := f.metrics(t); ok != 1 {
		t.Fatalf("last_reload_successful = %v at the start, want 1", ok)
	}
	first := f.r.Current()

	// Nothing changed: nothing applied, a success.
	if d, err := f.r.Reload(context.Background()); err != nil || !d.Empty() {
		t.Fatalf("unchanged file: %v, %v", d, err)
	}

	// A new interval and a new sink are applied.
	f.write(t, strings.Replace(base, "interval: 10s", "interval: 5s", 1)+"  - name: two\n    type: file\n    path: two.jsonl\n")
	d, err := f.r.Reload(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := d.String(); got != "polling.plugins: changed up; sinks: added two" {
		t.Errorf("diff %q", got)
	}
	if len(f.applied) != 1 || f.r.Current() == first {
		t.Fatalf("applied %d times, current replaced: %v", len(f.applied), f.r.Current() != first)
	}
	if !strings.Contains(f.log.String(), "config reloaded") || !strings.Contains(f.log.String(), "sinks: added two") {
		t.Errorf("log does not say what changed:\n%s", f.log)
	}
	applied := f.r.Current()

	// An invalid config: every problem logged with file and line, refused.
	f.write(t, base+"  - name: bad\n    type: file\n    batch_size: many\nbogus: 1\n")
	_, err = f.r.Reload(context.Background())
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("invalid config: err %v, want ErrInvalid", err)
	}
	for _, want := range []string{"panoptes.yaml:13: sinks[1].batch_size", "panoptes.yaml:14: bogus"} {
		if !strings.Contains(f.log.String(), want) || !strings.Contains(err.Error(), want) {
			t.Errorf("problem %q is not in the log and the error:\n%s\n%v", want, f.log, err)
		}
	}
	if f.r.Current() != applied || len(f.applied) != 1 {
		t.Error("an invalid config replaced the running one")
	}
	if ok, res := f.metrics(t); ok != 0 || res[ResultInvalid] != 1 || res[ResultSuccess] != 2 {
		t.Errorf("after an invalid config: successful %v, reloads %v", ok, res)
	}

	// A key that needs a restart: refused naming it.
	f.write(t, strings.Replace(base, "site: lab", "site: other", 1))
	_, err = f.r.Reload(context.Background())
	if !errors.Is(err, ErrRestartNeeded) || !strings.Contains(err.Error(), "restart needed for site") {
		t.Fatalf("site changed: err %v, want 'restart needed for site'", err)
	}
	if f.r.Current() != applied {
		t.Error("a refused config replaced the running one")
	}

	// Applying fails: counted, the running config kept.
	f.write(t, base)
	f.fail = errors.New("sink two: cannot open")
	if _, err = f.r.Reload(context.Background()); err == nil || !strings.Contains(err.Error(), "cannot open") {
		t.Fatalf("failed apply: err %v", err)
	}
	if ok, res := f.metrics(t); ok != 0 || res[ResultFailed] != 1 || res[ResultRestartNeeded] != 1 || f.r.Current() != applied {
		t.Errorf("after a failed apply: successful %v, reloads %v", ok, res)
	}
	f.fail = nil
	if _, err = f.r.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if ok, _ := f.metrics(t); ok != 1 {
		t.Error("last_reload_successful is not 1 after a good reload")
	}
}

func TestHandler(t *testing.T) {
	f := newFixture(t)
	srv := httptest.NewServer(f.r.Handler())
	defer srv.Close()
	post := func() (int, string) {
		t.Helper()
		resp, err := http.Post(srv.URL, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		return resp.StatusCode, b.String()
	}
	f.write(t, strings.Replace(base, "interval: 10s", "interval: 5s", 1))
	if code, body := post(); code != 200 || !strings.Contains(body, "reloaded: polling.plugins: changed up") {
		t.Errorf("POST: %d %q", code, body)
	}
	f.write(t, base+"bogus: 1\n")
	if code, body := post(); code != 400 || !strings.Contains(body, "panoptes.yaml:11: bogus") {
		t.Errorf("POST of an invalid config: %d %q", code, body)
	}
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d, want 405", resp.StatusCode)
	}
}

func TestOnSignal(t *testing.T) {
	// systemd's side of sd_notify: a reload is announced and its end too.
	sock := filepath.Join(t.TempDir(), "notify")
	sd, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer sd.Close()
	t.Setenv("NOTIFY_SOCKET", sock)
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	sig := make(chan os.Signal, 1)
	done := make(chan struct{})
	go func() { defer close(done); f.r.OnSignal(ctx, sig) }()
	f.write(t, strings.Replace(base, "interval: 10s", "interval: 5s", 1))
	sig <- syscall.SIGHUP
	deadline := time.Now().Add(5 * time.Second)
	for {
		f.mu.Lock()
		n := len(f.applied)
		f.mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("SIGHUP did not reload")
		}
		time.Sleep(10 * time.Millisecond)
	}
	buf := make([]byte, 512)
	var told []string
	for range 2 {
		_ = sd.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := sd.Read(buf)
		if err != nil {
			t.Fatalf("systemd was told %q, then: %v", told, err)
		}
		told = append(told, string(buf[:n]))
	}
	if !strings.HasPrefix(told[0], "RELOADING=1\n") || !strings.HasPrefix(told[1], "READY=1\nSTATUS=running; last reload: applied") {
		t.Errorf("systemd was told %q, want RELOADING=1 then READY=1 with the reload applied", told)
	}
	cancel()
	<-done
}
