package node

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/testutil/pki"
)

// A node whose config sets http.tls_server_config and
// http.basic_auth_users serves HTTPS only; /healthz answers anyone,
// /readyz, /metrics and what is mounted (Handle) only with the password. Through the config and the
// node's wiring, so that whichever server the node uses keeps them.
func TestHTTPTLSAndBasicAuth(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a node with its embedded bus")
	}
	ca := pki.New(t)
	cert, key := ca.Issue(t, "node")
	hash, err := bcrypt.GenerateFromPassword([]byte("node-s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	addr := freeTCP(t)
	cfgPath := filepath.Join(dir, "p.yaml")
	write(t, cfgPath, fmt.Sprintf(`site: lab
data_dir: data
http:
  listen: %s
  tls_server_config: {cert_file: %q, key_file: %q}
  basic_auth_users:
    ops: %q
`, addr, cert, key, hash))
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	n, err := New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	// What the command mounts (POST /-/reload) is behind the same auth.
	n.Handle("POST /-/reload", http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	pem, err := os.ReadFile(ca.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	get := func(scheme, path, user, pass string) (int, error) {
		method := "GET"
		if m, p, ok := strings.Cut(path, " "); ok {
			method, path = m, p
		}
		req, _ := http.NewRequest(method, scheme+"://"+addr+path, nil)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, nil
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if code, err := get("https", "/readyz", "ops", "node-s3cret"); err == nil && code == 200 {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("the node's HTTPS /readyz never answered 200: %d %v", code, err)
		}
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
		{"/", "", "", 401}, // the status page and its API: behind the same auth
		{"/api/v1/devices", "ops", "wrong", 401},
		{"/api/v1/devices", "ops", "node-s3cret", 200},
		{"POST /-/reload", "", "", 401},
		{"POST /-/reload", "ops", "node-s3cret", 200},
	} {
		if got, err := get("https", c.path, c.user, c.pass); err != nil || got != c.want {
			t.Errorf("%s as %q: %d %v, want %d", c.path, c.user, got, err, c.want)
		}
	}
	if code, err := get("http", "/healthz", "", ""); err == nil && code == 200 {
		t.Error("plain HTTP answered 200")
	}
}
