package httpd

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"os"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/panoptes-go/panoptes/internal/testutil/pki"
	"github.com/panoptes-go/panoptes/internal/websec"
)

// With http.tls_server_config and http.basic_auth_users the server speaks
// TLS, /healthz answers anyone, and everything else (a mounted handler
// too, such as the status page) needs the password.
func TestTLSAndBasicAuth(t *testing.T) {
	ca := pki.New(t)
	cert, key := ca.Issue(t, "node")
	hash, err := bcrypt.GenerateFromPassword([]byte("node-s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	s := New(Options{Listen: "127.0.0.1:0", Web: websec.Config{
		TLS: websec.TLSConfig{CertFile: cert, KeyFile: key}, Users: map[string]string{"ops": string(hash)},
	}})
	s.Handle("GET /api/v1/hello", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "hello") }))
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = s.Serve(ctx) }()
	pem, err := os.ReadFile(ca.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	for _, c := range []struct {
		path, user, pass string
		want             int
	}{
		{"/healthz", "", "", 200},
		{"/readyz", "", "", 401},
		{"/api/v1/hello", "", "", 401},
		{"/api/v1/hello", "ops", "wrong", 401},
		{"/api/v1/hello", "ops", "node-s3cret", 200},
		{"/readyz", "ops", "node-s3cret", 200},
	} {
		req, _ := http.NewRequest("GET", "https://"+s.Addr()+c.path, nil)
		if c.user != "" {
			req.SetBasicAuth(c.user, c.pass)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", c.path, err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%s as %q: %d, want %d", c.path, c.user, resp.StatusCode, c.want)
		}
	}
}
