package discovery

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/panoptes-go/panoptes/internal/config"
)

func init() { Register("http", newHTTP) }

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
	defaults config.ResourceDefaults
	now      func() time.Time
}

var _ Source = (*HTTP)(nil)

func newHTTP(cfg config.Source, d config.ResourceDefaults) (Source, error) {
	u, err := url.Parse(cfg.URL)
	if cfg.URL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("http plugin needs url: an http:// or https:// URL that serves the devices as CSV or JSON")
	}
	if err := checkFormat(cfg.Format); err != nil {
		return nil, err
	}
	shown := *u
	if shown.RawQuery != "" {
		shown.RawQuery = "…" // may hold a token
	}
	return &HTTP{name: cfg.Name, url: cfg.URL, label: shown.Redacted(), headers: cfg.Headers, format: cfg.Format,
		timeout: sourceTimeout(cfg.Timeout), client: &http.Client{}, defaults: withFallbacks(d), now: time.Now}, nil
}

// Discover GETs the URL once and parses the body.
func (h *HTTP) Discover(ctx context.Context) (*Result, error) {
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
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxSourceOutput+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: read body: %v", h.label, redactURLError(err))
	}
	if len(body) > MaxSourceOutput {
		return nil, fmt.Errorf("GET %s: body larger than %d bytes", h.label, MaxSourceOutput)
	}
	format := h.format
	if format == "" {
		format = formatOfContentType(resp.Header.Get("Content-Type"))
	}
	return parseOutput(ctx, body, format, h.label, h.name, h.defaults, h.now())
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
