package node

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net/http"
	"os"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"

	"github.com/panoptes-go/panoptes/internal/testutil/freeport"
	"github.com/panoptes-go/panoptes/internal/testutil/pki"
	"github.com/panoptes-go/panoptes/internal/websec"
)

// The node's HTTP server with http.tls_server_config and
// http.basic_auth_users: /healthz answers anyone, /readyz and /metrics
// only with the password, and only over TLS.
func TestHTTPTLSAndBasicAuth(t *testing.T) {
	ca := pki.New(t)
	cert, key := ca.Issue(t, "node")
	hash, err := bcrypt.GenerateFromPassword([]byte("node-s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	addr := freeport.Addr(freeport.TCP(t))
	web := websec.Config{TLS: websec.TLSConfig{CertFile: cert, KeyFile: key}, Users: map[string]string{"ops": string(hash)}}
	reg := prometheus.NewRegistry()
	srv, err := startHTTP(addr, web, reg, func() error { return nil }, func() string { return "" }, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.stop()
	pem, err := os.ReadFile(ca.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	get := func(path, user, pass string) int {
		req, _ := http.NewRequest("GET", "https://"+addr+path, nil)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode
	}
	for _, c := range []struct {
		path, user, pass string
		want             int
	}{
		{"/healthz", "", "", 200},
		{"/readyz", "", "", 401},
		{"/metrics", "", "", 401},
		{"/metrics", "ops", "wrong", 401},
		{"/metrics", "ops", "node-s3cret", 200},
		{"/readyz", "ops", "node-s3cret", 200},
	} {
		if got := get(c.path, c.user, c.pass); got != c.want {
			t.Errorf("%s as %q: %d, want %d", c.path, c.user, got, c.want)
		}
	}
}
