// Package http is the discovery source "http": it GETs a URL (a CMDB API)
// that serves the devices as CSV with a header row or Panoptes JSON. See
// README.md.
package http

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/panoptes-go/panoptes/internal/discovery"
	"github.com/panoptes-go/panoptes/internal/plugin"
)

func init() { discovery.Register("http", New) }

// Config is the source's block: the keys of its discovery.sources entry
// besides name, plugin and the manager's own.
type Config struct {
	URL     string            `yaml:"url"`     // http:// or https://
	Headers map[string]string `yaml:"headers"` // extra request headers (tokens: from ${VAR})
	// Format of the body: csv or json; empty takes it from the
	// Content-Type, else detects it (JSON starts with { or [).
	Format string `yaml:"format"`
	// Timeout bounds one request (default 1m).
	Timeout plugin.Duration `yaml:"timeout"`
}

// HTTP discovers resources from a URL that serves CSV or Panoptes JSON (a
// CMDB API). The format is the configured one, else the Content-Type, else
// sniffed. An HTTP error status, a timeout or an empty body fails the source
// (the manager keeps the previous inventory). Headers (tokens) and URL
// passwords never appear in errors.
type HTTP struct {
	name     string
	url      string
	label    string // the URL without its password, for messages
	headers  map[string]string
	format   string
	timeout  time.Duration
	client   *http.Client
	defaults discovery.Defaults
	now      func() time.Time
}

var _ discovery.Source = (*HTTP)(nil)

// New is the source's factory: it checks its block and sends nothing. An
// error never repeats the URL, which may hold a password or a token.
func New(options plugin.Block, deps discovery.Deps) (discovery.Source, error) {
	var c Config
	if err := options.Decode(&c); err != nil {
		return nil, err
	}
	var errs []error
	u, err := url.Parse(c.URL)
	if c.URL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, plugin.Errorf("url", "is not an http:// or https:// URL with a host (e.g. https://cmdb.example.com/api/devices)"))
	}
	if err := discovery.CheckFormat(c.Format); err != nil {
		errs = append(errs, plugin.Errorf("format", "%v", err))
	}
	if c.Timeout < 0 {
		errs = append(errs, plugin.Errorf("timeout", "%s must not be negative", c.Timeout.D()))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	timeout := c.Timeout.D()
	if timeout == 0 {
		timeout = discovery.DefaultSourceTimeout
	}
	shown := *u
	if shown.RawQuery != "" {
		shown.RawQuery = "…" // may hold a token
	}
	return &HTTP{name: deps.Name, url: c.URL, label: shown.Redacted(), headers: c.Headers, format: c.Format,
		timeout: timeout, client: &http.Client{}, defaults: deps.Defaults, now: time.Now}, nil
}

// Discover GETs the URL once and parses the body.
func (h *HTTP) Discover(ctx context.Context) (*discovery.Result, error) {
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.url, nil)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %v", h.label, redactURLError(err))
	}
	req.Header.Set("Accept", "application/json, text/csv;q=0.9")
	for k, v := range h.headers {
		req.Header.Set(k, v)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			return nil, fmt.Errorf("GET %s: timed out after %s (raise the source's timeout?)", h.label, h.timeout)
		}
		return nil, fmt.Errorf("GET %s: %v", h.label, redactURLError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, fmt.Errorf("GET %s: HTTP %s: %s", h.label, resp.Status, strings.TrimSpace(strings.ToValidUTF8(string(snippet), "?")))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, discovery.MaxSourceOutput+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: read body: %v", h.label, redactURLError(err))
	}
	if len(body) > discovery.MaxSourceOutput {
		return nil, fmt.Errorf("GET %s: body larger than %d bytes", h.label, discovery.MaxSourceOutput)
	}
	format := h.format
	if format == "" {
		format = discovery.FormatOfContentType(resp.Header.Get("Content-Type"))
	}
	return discovery.ParseOutput(ctx, body, format, h.label, h.name, h.defaults, h.now())
}

// redactURLError drops the URL (which may hold a password or a token in
// its query) from a net/http error, keeping the cause.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
