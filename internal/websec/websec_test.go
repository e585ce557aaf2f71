package websec

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/panoptes-go/panoptes/internal/testutil/pki"
)

func TestProblems(t *testing.T) {
	hash, _ := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	cases := []struct {
		name, listen string
		c            Config
		want         string // "" = no problem
	}{
		{"open beyond loopback", "0.0.0.0:9301", Config{},
			`http.listen: "0.0.0.0:9301" is reachable from other hosts without authentication: set http.basic_auth_users (bcrypt hashes), or http.tls_server_config with client_auth_type RequireAndVerifyClientCert, or bind to 127.0.0.1; or set http.insecure: true to serve it open on purpose`},
		{"all interfaces", ":9301", Config{}, "reachable from other hosts"},
		{"TLS alone is not authentication", "10.0.0.1:9301", Config{TLS: TLSConfig{CertFile: "c", KeyFile: "k"}}, "reachable from other hosts"},
		{"loopback", "127.0.0.1:9301", Config{}, ""},
		{"localhost", "localhost:9301", Config{}, ""},
		{"v6 loopback", "[::1]:9301", Config{}, ""},
		{"open on purpose", "0.0.0.0:9301", Config{Insecure: true}, ""},
		{"basic auth", "0.0.0.0:9301", Config{Users: map[string]string{"prom": string(hash)}}, ""},
		{"mutual TLS", "0.0.0.0:9301", Config{TLS: TLSConfig{CertFile: "c", KeyFile: "k", ClientCAFile: "ca", ClientAuthType: "RequireAndVerifyClientCert"}}, ""},
		{"clear password", "127.0.0.1:1", Config{Users: map[string]string{"prom": "s3cret"}}, "http.basic_auth_users.prom: is not a bcrypt hash"},
		{"verify without CA", "127.0.0.1:1", Config{TLS: TLSConfig{CertFile: "c", KeyFile: "k", ClientAuthType: "RequireAndVerifyClientCert"}}, "http.tls_server_config.client_ca_file: is empty"},
		{"key without cert", "127.0.0.1:1", Config{TLS: TLSConfig{KeyFile: "k"}}, "http.tls_server_config.cert_file: and key_file are both needed"},
		{"unknown auth type", "127.0.0.1:1", Config{TLS: TLSConfig{CertFile: "c", KeyFile: "k", ClientAuthType: "Yes"}}, `"Yes" is not one of`},
	}
	for _, c := range cases {
		var got []string
		for _, p := range c.c.Problems(c.listen, "http.listen", "http.") {
			got = append(got, p.Key+": "+p.Msg)
		}
		text := strings.Join(got, "\n")
		if (c.want == "") != (len(got) == 0) || !strings.Contains(text, c.want) {
			t.Errorf("%s: problems %q, want %q", c.name, text, c.want)
		}
		if strings.Contains(text, "s3cret") {
			t.Errorf("%s: a password in a message: %s", c.name, text)
		}
	}
}

// A real TLS listener with basic auth: the open path needs nothing, the
// others a right password; with mutual TLS a client without a certificate
// the CA signed cannot connect.
func TestListenAndProtect(t *testing.T) {
	ca := pki.New(t)
	cert, key := ca.Issue(t, "server")
	clientCert, clientKey := ca.Issue(t, "client")
	hash, _ := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	roots := x509.NewCertPool()
	pem, err := os.ReadFile(ca.CAFile)
	if err != nil || !roots.AppendCertsFromPEM(pem) {
		t.Fatalf("CA: %v", err)
	}
	serve := func(c Config) string {
		ln, err := c.Listen("127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok "+r.URL.Path) })
		srv := &http.Server{Handler: c.Protect(mux, "/healthz")}
		go func() { _ = srv.Serve(ln) }()
		t.Cleanup(func() { _ = srv.Close() })
		return "https://" + ln.Addr().String()
	}
	get := func(client *http.Client, url, user, pass string) (int, error) {
		req, _ := http.NewRequest("GET", url, nil)
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
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}

	url := serve(Config{TLS: TLSConfig{CertFile: cert, KeyFile: key}, Users: map[string]string{"prom": string(hash)}})
	for _, c := range []struct {
		path, user, pass string
		want             int
	}{
		{"/healthz", "", "", 200},
		{"/metrics", "", "", 401},
		{"/metrics", "prom", "wrong", 401},
		{"/metrics", "nobody", "s3cret", 401},
		{"/metrics", "prom", "s3cret", 200},
		{"/metrics", "prom", "s3cret", 200}, // remembered
		{"/api/v1/devices", "prom", "s3cret", 200},
	} {
		if code, err := get(client, url+c.path, c.user, c.pass); err != nil || code != c.want {
			t.Errorf("%s as %q/%q: %d %v, want %d", c.path, c.user, c.pass, code, err, c.want)
		}
	}
	if code, err := get(http.DefaultClient, strings.Replace(url, "https", "http", 1)+"/healthz", "", ""); err == nil && code != http.StatusBadRequest {
		t.Errorf("plain HTTP to a TLS listener: %d", code)
	}

	mtls := serve(Config{TLS: TLSConfig{CertFile: cert, KeyFile: key, ClientCAFile: ca.CAFile, ClientAuthType: "RequireAndVerifyClientCert"}})
	if _, err := get(client, mtls+"/metrics", "", ""); err == nil {
		t.Error("mutual TLS: a client without a certificate got an answer")
	}
	pair, err := tls.LoadX509KeyPair(clientCert, clientKey)
	if err != nil {
		t.Fatal(err)
	}
	withCert := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{pair}}}}
	if code, err := get(withCert, mtls+"/metrics", "", ""); err != nil || code != 200 {
		t.Errorf("mutual TLS with a signed certificate: %d %v", code, err)
	}

	if _, err := (Config{TLS: TLSConfig{CertFile: "/nonexistent.crt", KeyFile: key}}).Listen("127.0.0.1:0"); err == nil || !strings.Contains(err.Error(), "cert_file /nonexistent.crt") {
		t.Errorf("missing certificate: %v", err)
	}
}

// A renewed certificate is served from the next connection on, without a
// restart; a half-written one keeps the old pair in service.
func TestCertificateRenewal(t *testing.T) {
	oldCA, newCA := pki.New(t), pki.New(t)
	oldCert, oldKey := oldCA.Issue(t, "old")
	newCert, newKey := newCA.Issue(t, "new")
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	copyFile := func(src, dst string, mod time.Time) {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(dst, mod, mod); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now().Add(-time.Hour)
	copyFile(oldCert, cert, start)
	copyFile(oldKey, key, start)
	ln, err := Config{TLS: TLSConfig{CertFile: cert, KeyFile: key}}.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "ok") })}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	trusts := func(ca *pki.CA) bool {
		pem, err := os.ReadFile(ca.CAFile)
		if err != nil {
			t.Fatal(err)
		}
		roots := x509.NewCertPool()
		roots.AppendCertsFromPEM(pem)
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, DisableKeepAlives: true}}
		resp, err := c.Get("https://" + ln.Addr().String() + "/")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	}
	if !trusts(oldCA) || trusts(newCA) {
		t.Fatal("before the renewal: want the old certificate")
	}
	// Half-written: the new certificate beside the old key fails to load.
	copyFile(newCert, cert, start.Add(time.Minute))
	time.Sleep(recheck + 100*time.Millisecond)
	if !trusts(oldCA) {
		t.Error("a half-written renewal stopped the old certificate")
	}
	copyFile(newKey, key, start.Add(2*time.Minute))
	time.Sleep(recheck + 100*time.Millisecond)
	if !trusts(newCA) || trusts(oldCA) {
		t.Error("after the renewal: want the new certificate")
	}
}
