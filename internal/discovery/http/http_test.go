package http

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/discovery"
	"github.com/panoptes-go/panoptes/internal/discovery/discoverytest"
	"github.com/panoptes-go/panoptes/internal/plugin"
)

const cmdbCSV = "id,endpoint,site\nsw1,10.0.0.1,dc1\nsw2,10.0.0.2,dc1\n"

const cmdbJSON = `[{"resource_id":"sw1","resource_endpoint":"10.0.0.1","resource_site":"dc1"}]`

func httpSource(t *testing.T, url, format string, timeout time.Duration, headers map[string]string) discovery.Source {
	t.Helper()
	src, err := discovery.Build("http", plugin.BlockOf(Config{URL: url, Format: format, Timeout: plugin.Duration(timeout), Headers: headers}),
		discovery.Deps{Name: "cmdb"})
	if err != nil {
		t.Fatal(err)
	}
	src.(*HTTP).now = func() time.Time { return discoverytest.Now }
	return src
}

func TestHTTPSource(t *testing.T) {
	var gotAuth string
	mux := http.NewServeMux()
	mux.HandleFunc("/csv", func(w http.ResponseWriter, r *http.Request) {
		gotAuth = r.Header.Get("Authorization")
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		_, _ = w.Write([]byte(cmdbCSV))
	})
	mux.HandleFunc("/json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(cmdbJSON))
	})
	mux.HandleFunc("/plain", func(w http.ResponseWriter, _ *http.Request) { // sniffed as CSV
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte(cmdbCSV))
	})
	mux.HandleFunc("/forced", func(w http.ResponseWriter, _ *http.Request) { // wrong type, format: json wins
		w.Header().Set("Content-Type", "text/csv")
		_, _ = w.Write([]byte(cmdbJSON))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	res := discoverytest.Discover(t, httpSource(t, srv.URL+"/csv", "", 5*time.Second, map[string]string{"Authorization": "Bearer T0KEN"}))
	if got := discoverytest.IDs(res.Set); strings.Join(got, ",") != "sw1,sw2" || res.Set.Resources[0].Plugin != "cmdb" {
		t.Errorf("csv: %v", got)
	}
	if gotAuth != "Bearer T0KEN" {
		t.Errorf("header not sent: %q", gotAuth)
	}
	for path, n := range map[string]int{"/json": 1, "/plain": 2} {
		if res := discoverytest.Discover(t, httpSource(t, srv.URL+path, "", 5*time.Second, nil)); len(res.Set.Resources) != n {
			t.Errorf("%s: %d resources, want %d", path, len(res.Set.Resources), n)
		}
	}
	if res := discoverytest.Discover(t, httpSource(t, srv.URL+"/forced", "json", 5*time.Second, nil)); len(res.Set.Resources) != 1 {
		t.Errorf("format json not honoured: %+v", res)
	}
}

func TestHTTPSourceFailures(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/500", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "db down", 500) })
	mux.HandleFunc("/empty", func(w http.ResponseWriter, _ *http.Request) { w.Header().Set("Content-Type", "text/csv") })
	release := make(chan struct{})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("/ok", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(cmdbCSV)) })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	defer close(release)

	cases := []struct {
		path string
		want string
	}{
		{"/500?token=QSECRET", "HTTP 500 Internal Server Error: db down"},
		{"/empty", "the output is empty"},
		{"/slow", "timed out after 200ms"},
	}
	inv := discoverytest.NewInventory()
	m := discovery.NewManager(discovery.ManagerOptions{Inventory: inv})
	ctx := context.Background()
	if _, err := m.Sync(ctx, "cmdb", httpSource(t, srv.URL+"/ok", "", time.Second, nil), 0); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		_, err := m.Sync(ctx, "cmdb", httpSource(t, srv.URL+c.path, "", 200*time.Millisecond, map[string]string{"X-Api-Key": "HSECRET"}), 0)
		if err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, discovery.ErrKeptPrevious) {
			t.Errorf("%s: error %v, want %q and ErrKeptPrevious", c.path, err, c.want)
		}
		if err != nil && (strings.Contains(err.Error(), "QSECRET") || strings.Contains(err.Error(), "HSECRET")) {
			t.Errorf("%s: error leaks a secret: %v", c.path, err)
		}
	}
	if got := inv.Snapshot(); len(got) != 2 {
		t.Errorf("inventory after failures: %d resources, want the previous 2", len(got))
	}
	for _, u := range []string{"", "ftp://x/", "http://"} {
		if _, err := discovery.Build("http", plugin.BlockOf(map[string]any{"url": u}), discovery.Deps{Name: "x"}); err == nil {
			t.Errorf("url %q accepted", u)
		}
	}
	srcWithPass := httpSource(t, "http://user:PSECRET@127.0.0.1:1/x", "", time.Second, nil)
	if _, err := srcWithPass.Discover(ctx); err == nil || strings.Contains(err.Error(), "PSECRET") {
		t.Errorf("closed port: %v", err)
	}
}

// An endpoint that could never be polled is a row error naming its line,
// in CSV and in JSON answers.
func TestHTTPBadEndpoints(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/csv", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/csv")
		_, _ = w.Write([]byte(discoverytest.BadEndpointsCSV))
	})
	mux.HandleFunc("/json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(discoverytest.BadEndpointsJSON))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for _, path := range []string{"/csv", "/json"} {
		src := httpSource(t, srv.URL+path, "", 5*time.Second, nil)
		discoverytest.CheckBadEndpoints(t, discoverytest.Discover(t, src), src.(*HTTP).label)
	}
}
