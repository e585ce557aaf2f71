package httpd

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// The endpoints answer as the node's state says; a mounted handler is
// served; Serve returns when its ctx ends.
func TestEndpoints(t *testing.T) {
	reg := prometheus.NewRegistry()
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "panoptes_test_gauge", Help: "A test gauge."})
	reg.MustRegister(g)
	var notReady atomic.Value
	notReady.Store("starting")
	var degraded atomic.Value
	degraded.Store("")
	s := New(Options{Listen: "127.0.0.1:0", Gatherer: reg, Registerer: reg,
		Ready: func() error {
			if m := notReady.Load().(string); m != "" {
				return errors.New(m)
			}
			return nil
		},
		Degraded: func() string { return degraded.Load().(string) }})
	s.Handle("GET /api/v1/hello", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "hello") }))
	s.Handle("GET /api/v1/again", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "first") }))
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	s.Handle("GET /api/v1/again", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "second") }))
	base := "http://" + s.Addr()

	for _, c := range []struct {
		path, notReady, degraded string
		code                     int
		body                     string
	}{
		{"/healthz", "starting", "", 200, "ok\n"},
		{"/readyz", "starting", "", 503, "not ready: starting\n"},
		{"/readyz", "starting", "degraded: 3 messages buffered", 503, "not ready: starting; degraded: 3 messages buffered\n"},
		{"/readyz", "", "", 200, "ready\n"},
		{"/readyz", "", "degraded: 3 messages buffered", 200, "ready, degraded: 3 messages buffered\n"},
		{"/api/v1/hello", "", "", 200, "hello"},
		{"/api/v1/again", "", "", 200, "second"}, // mounted twice: the second replaced the first
	} {
		notReady.Store(c.notReady)
		degraded.Store(c.degraded)
		if code, body := get(t, base+c.path); code != c.code || body != c.body {
			t.Errorf("%s (not ready %q, degraded %q): %d %q, want %d %q", c.path, c.notReady, c.degraded, code, body, c.code, c.body)
		}
	}
	if code, body := get(t, base+"/metrics"); code != 200 || !strings.Contains(body, "panoptes_test_gauge 0") {
		t.Errorf("/metrics: %d\n%s", code, body)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return")
	}
	if _, err := net.Dial("tcp", s.Addr()); err == nil {
		t.Error("still listening after Serve returned")
	}
}

// A busy port fails Listen with a message that says what to do.
func TestBusyPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	err = New(Options{Listen: ln.Addr().String()}).Listen()
	want := "http.listen " + ln.Addr().String() + ": address already in use; set http.listen to a free address, or \"\" to disable"
	if err == nil || err.Error() != want {
		t.Errorf("Listen on a busy port = %v, want %s (the address once, one hint)", err, want)
	}
	var le *ListenError
	if !errors.As(err, &le) || le.Key != "http.listen" {
		t.Errorf("not a ListenError naming the key: %#v", err)
	}
}
