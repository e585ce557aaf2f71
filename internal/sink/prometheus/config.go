package prometheus

import (
	"encoding/base64"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/panoptes-go/panoptes/internal/plugin"
	"github.com/panoptes-go/panoptes/internal/sink"
	"github.com/panoptes-go/panoptes/internal/websec"
)

// Sink types registered by this package.
const (
	TypeExposition  = "prometheus"
	TypeRemoteWrite = "prometheus_remote_write"
)

// Config is the sink's prometheus section: an endpoint to scrape (type
// prometheus) or a remote-write receiver (type prometheus_remote_write);
// each type refuses the other's keys.
type Config struct {
	// Exposition: served on Listen (host:port) at Path.
	Listen     string          `yaml:"listen"`
	Path       string          `yaml:"path"`
	StaleAfter plugin.Duration `yaml:"stale_after"` // drop series not refreshed for this long
	// TLS, mutual TLS and basic auth of the endpoint (tls_server_config,
	// basic_auth_users, insecure), as in Prometheus' web configuration.
	websec.Config `yaml:",inline"`
	// Remote write.
	URL         string            `yaml:"url"`
	Timeout     plugin.Duration   `yaml:"timeout"`
	Headers     map[string]string `yaml:"headers"`
	Username    string            `yaml:"username"`
	Password    string            `yaml:"password" secret:"true"`
	BearerToken string            `yaml:"bearer_token" secret:"true"`
}

// block is the sink's block: its settings sit under prometheus.
type block struct {
	Prometheus *Config `yaml:"prometheus"`
}

func init() {
	sink.Register(TypeExposition, func(options plugin.Block, deps sink.Deps) (sink.Sink, error) {
		var b block
		if err := options.Decode(&b); err != nil {
			return nil, err
		}
		s, err := NewExposition(b.Prometheus, deps)
		if err != nil {
			return nil, err
		}
		return s, nil
	})
	sink.Register(TypeRemoteWrite, func(options plugin.Block, deps sink.Deps) (sink.Sink, error) {
		var b block
		if err := options.Decode(&b); err != nil {
			return nil, err
		}
		s, err := NewRemoteWrite(b.Prometheus, deps)
		if err != nil {
			return nil, err
		}
		return s, nil
	})
}

func fieldErr(field, format string, a ...any) error {
	return plugin.Errorf("prometheus."+field, format, a...)
}

// NewExposition checks p (the prometheus section; nil when missing) and
// returns the exposition sink named deps.Name; it listens only when Serve
// runs.
func NewExposition(p *Config, deps sink.Deps) (*Exposition, error) {
	if p == nil {
		return nil, &plugin.FieldError{Field: "prometheus", Msg: `section missing; set prometheus.listen to the host:port Prometheus scrapes, e.g. ":9273"`}
	}
	if err := notFor(TypeExposition, "set listen; Prometheus scrapes this sink", map[string]bool{
		"url": p.URL != "", "timeout": p.Timeout != 0, "headers": len(p.Headers) > 0,
		"username": p.Username != "", "password": p.Password != "", "bearer_token": p.BearerToken != "",
	}); err != nil {
		return nil, err
	}
	if err := checkListen(p.Listen); err != nil {
		return nil, err
	}
	if probs := p.Problems(p.Listen, "prometheus.listen", "prometheus."); len(probs) > 0 {
		return nil, fieldErr(strings.TrimPrefix(probs[0].Key, "prometheus."), "%s", probs[0].Msg)
	}
	path := p.Path
	if path == "" {
		path = DefaultPath
	}
	if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " \t\r\n?#") {
		return nil, fieldErr("path", "%q is not a URL path; use something like %q", path, DefaultPath)
	}
	if p.StaleAfter < 0 {
		return nil, fieldErr("stale_after", "%s is negative; use 0 for 3 × each group's interval", p.StaleAfter.D())
	}
	return &Exposition{
		name:       deps.Name,
		listen:     p.Listen,
		web:        p.Config,
		path:       path,
		staleAfter: p.StaleAfter.D(),
		sweepEvery: defaultSweep,
		now:        time.Now,
		logger:     logger(deps),
		metrics:    newExpositionMetrics(deps.Registerer, deps.Name),
		families:   make(map[string]*family),
		byKey:      make(map[famKey]*family),
	}, nil
}

func checkListen(listen string) error {
	if strings.TrimSpace(listen) == "" {
		return fieldErr("listen", `empty; set the host:port Prometheus scrapes, e.g. ":9273" or "127.0.0.1:9273"`)
	}
	_, port, err := net.SplitHostPort(listen)
	if err != nil {
		return fieldErr("listen", "%q is not host:port (%v); e.g. \":9273\"", listen, err)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fieldErr("listen", "port %q of %q is not a number from 0 to 65535", port, listen)
	}
	return nil
}

// reservedHeaders are set by the sink itself (as Prometheus forbids them in
// its own remote_write headers).
var reservedHeaders = []string{
	"Authorization", "Host", "Content-Encoding", "Content-Length", "Content-Type", "User-Agent",
	"Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Www-Authenticate",
	"Accept-Encoding", "X-Prometheus-Remote-Write-Version", "X-Prometheus-Scrape-Timeout-Seconds",
	"Transfer-Encoding", "Upgrade", "Te", "Trailer",
}

// NewRemoteWrite checks p (the prometheus section; nil when missing) and
// returns the remote-write sink named deps.Name; it connects only when
// Write runs. Errors never quote a password, token or header value.
func NewRemoteWrite(p *Config, deps sink.Deps) (*RemoteWrite, error) {
	if p == nil {
		return nil, &plugin.FieldError{Field: "prometheus", Msg: "section missing; set prometheus.url to the receiver, e.g. http://prometheus:9090/api/v1/write"}
	}
	if err := notFor(TypeRemoteWrite, "set url; this sink pushes to a receiver", map[string]bool{
		"listen": p.Listen != "", "path": p.Path != "", "stale_after": p.StaleAfter != 0,
		"tls_server_config": p.TLS.Enabled(), "basic_auth_users": len(p.Users) > 0, "insecure": p.Insecure,
	}); err != nil {
		return nil, err
	}
	if strings.TrimSpace(p.URL) == "" {
		return nil, fieldErr("url", "empty; set the remote-write receiver, e.g. http://prometheus:9090/api/v1/write")
	}
	u, err := url.Parse(p.URL)
	switch {
	case err != nil:
		return nil, fieldErr("url", "not a URL; use e.g. http://prometheus:9090/api/v1/write")
	case u.User != nil:
		return nil, fieldErr("url", "holds credentials; put them in prometheus.username and prometheus.password instead")
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fieldErr("url", "scheme %q is not http or https", u.Scheme)
	case u.Host == "":
		return nil, fieldErr("url", "has no host; use e.g. http://prometheus:9090/api/v1/write")
	}
	if p.Timeout < 0 {
		return nil, fieldErr("timeout", "%s is negative", p.Timeout.D())
	}
	if p.Password != "" && p.Username == "" {
		return nil, fieldErr("username", "empty while password is set; basic auth needs both")
	}
	if p.BearerToken != "" && p.Username != "" {
		return nil, fieldErr("bearer_token", "set together with username; choose basic auth or a bearer token")
	}
	header := http.Header{}
	var secrets []string
	names := make([]string, 0, len(p.Headers))
	for k := range p.Headers {
		names = append(names, k)
	}
	sort.Strings(names) // the first problem reported is stable
	for _, k := range names {
		ck := http.CanonicalHeaderKey(strings.TrimSpace(k))
		switch {
		case ck == "" || strings.ContainsAny(ck, " \t\r\n:"):
			return nil, fieldErr("headers", "%q is not a header name", k)
		case isReserved(ck):
			return nil, fieldErr("headers."+k, "is set by the sink; use prometheus.username/password or bearer_token for authorization")
		case strings.ContainsAny(p.Headers[k], "\r\n"):
			return nil, fieldErr("headers."+k, "value contains a line break")
		}
		header.Set(ck, p.Headers[k])
		if len(p.Headers[k]) >= minSecretHeader { // may be an API key
			secrets = append(secrets, p.Headers[k])
		}
	}
	header.Set("Content-Encoding", "snappy")
	header.Set("Content-Type", "application/x-protobuf")
	header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	header.Set("User-Agent", "panoptes-go")
	switch {
	case p.BearerToken != "":
		header.Set("Authorization", "Bearer "+p.BearerToken)
		secrets = append(secrets, p.BearerToken)
	case p.Username != "":
		basic := base64.StdEncoding.EncodeToString([]byte(p.Username + ":" + p.Password))
		header.Set("Authorization", "Basic "+basic)
		secrets = append(secrets, basic)
		if p.Password != "" {
			secrets = append(secrets, p.Password)
		}
	}
	timeout := p.Timeout.D()
	if timeout == 0 {
		timeout = DefaultRemoteWriteTimeout
	}
	display := *u
	display.RawQuery, display.Fragment = "", ""
	return &RemoteWrite{
		name:    deps.Name,
		url:     p.URL,
		display: display.String(),
		timeout: timeout,
		header:  header,
		secrets: secrets,
		client:  &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()},
		logger:  logger(deps),
		metrics: newRemoteWriteMetrics(deps.Registerer, deps.Name),
		now:     time.Now,

		maxRequest: maxRequestBytes,
	}, nil
}

// minSecretHeader is the length from which a header value is treated as a
// possible secret and scrubbed from receiver answers quoted in errors.
const minSecretHeader = 8

func isReserved(h string) bool {
	for _, r := range reservedHeaders {
		if strings.EqualFold(h, r) {
			return true
		}
	}
	return false
}

// notFor reports the first field set that belongs to the other sink type.
func notFor(typ, hint string, set map[string]bool) error {
	fields := make([]string, 0, len(set))
	for f, isSet := range set {
		if isSet {
			fields = append(fields, f)
		}
	}
	if len(fields) == 0 {
		return nil
	}
	sort.Strings(fields)
	other := TypeRemoteWrite
	if typ == TypeRemoteWrite {
		other = TypeExposition
	}
	return fieldErr(fields[0], "is a setting of sink type %s, not %s; %s", other, typ, hint)
}

func logger(deps sink.Deps) *slog.Logger {
	if deps.Logger != nil {
		return deps.Logger
	}
	return slog.New(slog.DiscardHandler)
}
