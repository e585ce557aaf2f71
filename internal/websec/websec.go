// Package websec secures Panoptes' HTTP listeners (the node's /metrics,
// /readyz and status page, the Prometheus sink's exposition): optional TLS,
// mutual TLS and basic auth with bcrypt-hashed passwords, configured as in
// Prometheus' web configuration (prometheus/exporter-toolkit):
//
//	tls_server_config:
//	  cert_file: /etc/panoptes/tls/node.crt
//	  key_file: /etc/panoptes/tls/node.key
//	  client_ca_file: /etc/panoptes/tls/ca.crt       # mutual TLS with
//	  client_auth_type: RequireAndVerifyClientCert   # this type
//	basic_auth_users:
//	  prometheus: $2y$10$...                         # htpasswd -nBC 10 "" | tr -d ':'
//	insecure: false                                  # true: allow no auth beyond loopback
//
// One Config serves both listeners: Listen wraps the TCP listener in TLS and
// Protect wraps the handler in basic auth. A renewed certificate (new
// cert_file and key_file contents) is served from the next connection on.
package websec

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Config is a listener's web security; the zero value is plain HTTP
// without authentication.
type Config struct {
	TLS TLSConfig `yaml:"tls_server_config"`
	// Users maps user names to bcrypt hashes of their passwords.
	Users map[string]string `yaml:"basic_auth_users"`
	// Insecure says the operator means a listener beyond loopback to be
	// open to anyone who can reach it.
	Insecure bool `yaml:"insecure"`
}

// TLSConfig is the server side of TLS.
type TLSConfig struct {
	CertFile       string `yaml:"cert_file"`
	KeyFile        string `yaml:"key_file"`
	ClientCAFile   string `yaml:"client_ca_file"`
	ClientAuthType string `yaml:"client_auth_type"`
	MinVersion     string `yaml:"min_version"` // TLS12 (default) or TLS13
}

var clientAuthTypes = map[string]tls.ClientAuthType{
	"":                           tls.NoClientCert,
	"NoClientCert":               tls.NoClientCert,
	"RequestClientCert":          tls.RequestClientCert,
	"RequireAnyClientCert":       tls.RequireAnyClientCert,
	"VerifyClientCertIfGiven":    tls.VerifyClientCertIfGiven,
	"RequireAndVerifyClientCert": tls.RequireAndVerifyClientCert,
}

// Enabled says TLS is configured.
func (t TLSConfig) Enabled() bool { return t != (TLSConfig{}) }

// Authenticated says every request must prove who sends it: basic auth
// users, or client certificates verified against client_ca_file.
func (c Config) Authenticated() bool {
	return len(c.Users) > 0 || c.TLS.ClientAuthType == "RequireAndVerifyClientCert"
}

// Problem is one configuration mistake: the key under the listener's
// block and what is wrong.
type Problem struct{ Key, Msg string }

// Problems checks the configuration without reading files; keys are
// prefix + the key under the block. listen is the listener's host:port and
// listenKey its full key: an unauthenticated listener reachable from other
// hosts is a problem there, naming the keys to set.
func (c Config) Problems(listen, listenKey, prefix string) []Problem {
	var out []Problem
	add := func(key, format string, a ...any) {
		out = append(out, Problem{prefix + key, fmt.Sprintf(format, a...)})
	}
	t := c.TLS
	if t.Enabled() {
		if t.CertFile == "" || t.KeyFile == "" {
			add("tls_server_config.cert_file", "and key_file are both needed for TLS")
		}
		if _, ok := clientAuthTypes[t.ClientAuthType]; !ok {
			add("tls_server_config.client_auth_type", "%q is not one of NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert", t.ClientAuthType)
		}
		verifies := t.ClientAuthType == "VerifyClientCertIfGiven" || t.ClientAuthType == "RequireAndVerifyClientCert"
		if verifies && t.ClientCAFile == "" {
			add("tls_server_config.client_ca_file", "is empty; %s needs the CA that signs the clients' certificates", t.ClientAuthType)
		}
		if t.ClientCAFile != "" && !verifies {
			add("tls_server_config.client_auth_type", "%q does not verify client certificates against client_ca_file; set RequireAndVerifyClientCert", t.ClientAuthType)
		}
		if t.MinVersion != "" && t.MinVersion != "TLS12" && t.MinVersion != "TLS13" {
			add("tls_server_config.min_version", "%q is not TLS12 or TLS13", t.MinVersion)
		}
	}
	for _, u := range sortedUsers(c.Users) {
		switch {
		case u == "" || strings.Contains(u, ":"):
			add("basic_auth_users", "user name %q is empty or contains ':'", u)
		case !isBcrypt(c.Users[u]):
			add("basic_auth_users."+u, "is not a bcrypt hash ($2a$, $2b$ or $2y$...; make one with: htpasswd -nBC 10 \"\" | tr -d ':'); passwords are never stored in clear")
		}
	}
	if listen != "" && !c.Authenticated() && !c.Insecure && !Loopback(listen) {
		out = append(out, Problem{listenKey, fmt.Sprintf("%q is reachable from other hosts without authentication: set %sbasic_auth_users (bcrypt hashes), or %stls_server_config with client_auth_type RequireAndVerifyClientCert, or bind to 127.0.0.1; or set %sinsecure: true to serve it open on purpose",
			listen, prefix, prefix, prefix)})
	}
	return out
}

// Loopback says a host:port binds only loopback addresses (127.0.0.0/8,
// ::1, localhost). An empty host, 0.0.0.0 or :: bind every interface.
func Loopback(hostPort string) bool {
	host, _, err := net.SplitHostPort(hostPort)
	if err != nil {
		host = hostPort
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

func isBcrypt(h string) bool {
	_, err := bcrypt.Cost([]byte(h))
	return err == nil
}

func sortedUsers(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for u := range m {
		out = append(out, u)
	}
	slices.Sort(out)
	return out
}

// ServerTLS builds the tls.Config, reading the certificate, key and client
// CA now, so that a bad file fails start-up.
func (c Config) ServerTLS() (*tls.Config, error) {
	t := c.TLS
	if !t.Enabled() {
		return nil, nil
	}
	kp := &keyPair{certFile: t.CertFile, keyFile: t.KeyFile}
	if _, err := kp.get(); err != nil {
		return nil, err
	}
	cfg := &tls.Config{GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return kp.get() },
		MinVersion: tls.VersionTLS12, ClientAuth: clientAuthTypes[t.ClientAuthType]}
	if t.MinVersion == "TLS13" {
		cfg.MinVersion = tls.VersionTLS13
	}
	if t.ClientCAFile != "" {
		pem, err := os.ReadFile(t.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("tls_server_config.client_ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls_server_config.client_ca_file %s: no PEM certificate in it", t.ClientCAFile)
		}
		cfg.ClientCAs = pool
	}
	return cfg, nil
}

// keyPair is the server's certificate, read again when its files change
// (a renewed certificate is served without a restart, as Prometheus does).
// A renewal that fails to load keeps the previous pair.
type keyPair struct {
	certFile, keyFile string

	mu      sync.Mutex
	cert    *tls.Certificate
	modTime time.Time // the later of the two files' modification times
	checked time.Time
}

// recheck bounds how often the files are looked at.
const recheck = time.Second

func (k *keyPair) get() (*tls.Certificate, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	now := time.Now()
	if k.cert != nil && now.Sub(k.checked) < recheck {
		return k.cert, nil
	}
	k.checked = now
	var mod time.Time
	for _, f := range []string{k.certFile, k.keyFile} {
		if fi, err := os.Stat(f); err == nil && fi.ModTime().After(mod) {
			mod = fi.ModTime()
		}
	}
	if k.cert != nil && !mod.After(k.modTime) {
		return k.cert, nil
	}
	cert, err := tls.LoadX509KeyPair(k.certFile, k.keyFile)
	if err != nil {
		if k.cert != nil {
			return k.cert, nil // half-written renewal: keep serving the old pair
		}
		return nil, fmt.Errorf("tls_server_config: load cert_file %s and key_file: %w", k.certFile, err)
	}
	k.cert, k.modTime = &cert, mod
	return k.cert, nil
}

// Listen listens on addr, with TLS when configured.
func (c Config) Listen(addr string) (net.Listener, error) {
	tc, err := c.ServerTLS()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	if tc != nil {
		ln = tls.NewListener(ln, tc)
	}
	return ln, nil
}

// Protect wraps h in basic auth when users are configured; paths listed in
// open (such as /healthz) are served to anyone. A bad or missing password
// gets 401 with a WWW-Authenticate challenge.
func (c Config) Protect(h http.Handler, open ...string) http.Handler {
	if len(c.Users) == 0 {
		return h
	}
	a := &auth{users: c.Users, ok: map[[32]byte]bool{}}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if slices.Contains(open, r.URL.Path) {
			h.ServeHTTP(w, r)
			return
		}
		user, pass, ok := r.BasicAuth()
		if !ok || !a.check(user, pass) {
			w.Header().Set("WWW-Authenticate", `Basic realm="panoptes", charset="UTF-8"`)
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// auth checks passwords against bcrypt hashes. bcrypt takes tens of
// milliseconds by design, so a pair that passed is remembered (as a hash
// of user, password and stored hash) and a scrape every few seconds costs
// one comparison.
type auth struct {
	users map[string]string
	mu    sync.Mutex
	ok    map[[32]byte]bool
}

// dummyHash keeps the time of a request for an unknown user close to that
// of a known one with a wrong password.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("not a password"), bcrypt.DefaultCost) // cannot fail for a short password
	return h
})

func (a *auth) check(user, pass string) bool {
	stored, known := a.users[user]
	key := sha256.Sum256([]byte(user + "\x00" + pass + "\x00" + stored))
	a.mu.Lock()
	hit := a.ok[key]
	a.mu.Unlock()
	if hit && known {
		return true
	}
	hash := dummyHash()
	if known {
		hash = []byte(stored)
	}
	err := bcrypt.CompareHashAndPassword(hash, []byte(pass))
	if err != nil || !known {
		return false
	}
	a.mu.Lock()
	if len(a.ok) > 1024 { // bounded: passwords tried are not kept forever
		clear(a.ok)
	}
	a.ok[key] = true
	a.mu.Unlock()
	return true
}
