package prometheus

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"

	"github.com/panoptes-go/panoptes/internal/plugin"
	"github.com/panoptes-go/panoptes/internal/sink"
	"github.com/panoptes-go/panoptes/internal/testutil/pki"
	"github.com/panoptes-go/panoptes/internal/websec"
)

// serve runs e.Serve until the test ends and returns its address.
func serve(t testing.TB, e *Exposition) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve returned %v after cancel, want nil", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return after cancel")
		}
	})
	deadline := time.Now().Add(5 * time.Second)
	for e.Addr() == "" {
		select {
		case err := <-done:
			t.Fatalf("Serve: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("Serve did not listen")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return e.Addr()
}

func TestServeHTTP(t *testing.T) {
	e := newTestExposition(t, Config{Path: "/panoptes"})
	ts := time.Now()
	if err := e.Write(context.Background(), records(interfaceGroups(device("dc1", "sw1"), 4, 0, ts)...)); err != nil {
		t.Fatal(err)
	}
	addr := serve(t, e)
	base := "http://" + addr
	// Plain.
	resp, err := http.Get(base + "/panoptes")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != ContentType {
		t.Fatalf("GET: %s, Content-Type %q", resp.Status, resp.Header.Get("Content-Type"))
	}
	fams := parseText(t, string(body))
	if len(fams["panoptes_interface_bits_in_total"].GetMetric()) != 4 {
		t.Errorf("plain scrape: %d bits_in series, want 4", len(fams["panoptes_interface_bits_in_total"].GetMetric()))
	}
	// Gzip, as Prometheus asks for it (the transport would decode it
	// silently, so ask explicitly).
	req, _ := http.NewRequest(http.MethodGet, base+"/panoptes", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("Content-Encoding %q, want gzip", resp.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	unzipped, err := io.ReadAll(zr)
	resp.Body.Close()
	if err != nil || string(unzipped) != string(body) {
		t.Fatalf("gzip body differs from the plain one (err %v)", err)
	}
	// Other paths and methods.
	for _, c := range []struct {
		method, path string
		code         int
	}{
		{http.MethodGet, "/metrics", 404},
		{http.MethodPost, "/panoptes", 405},
		{http.MethodHead, "/panoptes", 200},
	} {
		req, _ := http.NewRequest(c.method, base+c.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.code {
			t.Errorf("%s %s: %d, want %d", c.method, c.path, resp.StatusCode, c.code)
		}
	}
}

func TestServeListenError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	e := newTestExposition(t, Config{Listen: ln.Addr().String()})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = e.Serve(ctx)
	if err == nil || !strings.Contains(err.Error(), ln.Addr().String()) || !strings.Contains(err.Error(), "prom") {
		t.Fatalf("Serve on a taken port = %v, want an error naming the sink and address", err)
	}
}

func TestAcceptsGzip(t *testing.T) {
	for h, want := range map[string]bool{
		"":                             false,
		"gzip":                         true,
		"deflate, gzip;q=1.0, *;q=0.5": true,
		"gzip;q=0":                     false,
		"identity":                     false,
		"GZIP ; q=0.5":                 true,
	} {
		if got := acceptsGzip(h); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", h, got, want)
		}
	}
}

// TestServeSweeps: while Serve runs, stale series are forgotten on their own.
func TestServeSweeps(t *testing.T) {
	e := newTestExposition(t, Config{StaleAfter: plugin.Duration(100 * time.Millisecond)})
	e.sweepEvery = 20 * time.Millisecond
	serve(t, e)
	if err := e.Write(context.Background(), records(interfaceGroups(device("dc1", "sw1"), 2, 0, time.Now())...)); err != nil {
		t.Fatal(err)
	}
	if e.Series() != 36 {
		t.Fatalf("Series() = %d, want 36", e.Series())
	}
	deadline := time.Now().Add(3 * time.Second)
	for e.Series() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("still %d series 3 s after they went stale", e.Series())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The endpoint with TLS and basic auth (Prometheus' web configuration
// keys): a scrape needs the password, over TLS; plain HTTP and a missing or
// wrong password get nothing.
func TestServeTLSAndBasicAuth(t *testing.T) {
	ca := pki.New(t)
	cert, key := ca.Issue(t, "sink")
	hash, err := bcrypt.GenerateFromPassword([]byte("scrape-s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	e := newTestExposition(t, Config{Config: websec.Config{
		TLS:   websec.TLSConfig{CertFile: cert, KeyFile: key},
		Users: map[string]string{"prometheus": string(hash)},
	}})
	if err := e.Write(context.Background(), records(interfaceGroups(device("dc1", "sw1"), 2, 0, time.Now())...)); err != nil {
		t.Fatal(err)
	}
	addr := serve(t, e)
	pem, err := os.ReadFile(ca.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	scrape := func(url, user, pass string) (int, string) {
		req, _ := http.NewRequest("GET", url, nil)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	url := "https://" + addr + DefaultPath
	if code, _ := scrape(url, "", ""); code != http.StatusUnauthorized {
		t.Errorf("no password: %d", code)
	}
	if code, _ := scrape(url, "prometheus", "wrong"); code != http.StatusUnauthorized {
		t.Errorf("wrong password: %d", code)
	}
	if code, body := scrape(url, "prometheus", "scrape-s3cret"); code != 200 || !strings.Contains(body, "sw1") {
		t.Errorf("with the password: %d %.200s", code, body)
	}
	if code, body := scrape("http://"+addr+DefaultPath, "prometheus", "scrape-s3cret"); code == 200 {
		t.Errorf("plain HTTP answered: %.200s", body)
	}

	// Beyond loopback without either, the sink refuses to start.
	_, err = NewExposition(&Config{Listen: "0.0.0.0:9273"}, sink.Deps{Name: "prom", Logger: slog.New(slog.DiscardHandler), Registerer: prometheus.NewRegistry()})
	if err == nil || !strings.Contains(err.Error(), `prometheus.listen: "0.0.0.0:9273" is reachable from other hosts without authentication: set prometheus.basic_auth_users`) {
		t.Errorf("open listener: %v", err)
	}
	if _, err := NewExposition(&Config{Listen: "0.0.0.0:9273", Config: websec.Config{Insecure: true}}, sink.Deps{Name: "prom", Logger: slog.New(slog.DiscardHandler), Registerer: prometheus.NewRegistry()}); err != nil {
		t.Errorf("insecure: true: %v", err)
	}
}
