// Package jsonpost sends a JSON body by HTTP POST for the sinks that talk
// to HTTP receivers (Alertmanager, webhooks): the bearer token in a header
// and never in an error, each answer counted by status code, and an error
// that names the URL, the answer and, for 401/403, what to check.
package jsonpost

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// Poster posts to one URL.
type Poster struct {
	What   string // names the sender in errors, e.g. "webhook"
	URL    string // no secret: the token travels in a header
	Client *http.Client
	// Headers are set on every request, before Content-Type and
	// Authorization (which they cannot override).
	Headers map[string]string
	// Codes counts answers by status code ("error": no answer); may be nil.
	Codes *prometheus.CounterVec

	auth string // Authorization header value; a secret, never logged
}

// SetBearerToken makes every request carry the token ("" for none).
func (p *Poster) SetBearerToken(token string) {
	p.auth = ""
	if token != "" {
		p.auth = "Bearer " + token
	}
}

// Post sends body with the extra headers; a non-2xx answer is an error
// carrying the start of the answer's body.
func (p *Poster) Post(ctx context.Context, body []byte, extra http.Header) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	for k, v := range p.Headers {
		req.Header.Set(k, v)
	}
	for k, vs := range extra {
		req.Header[k] = vs
	}
	req.Header.Set("Content-Type", "application/json")
	if p.auth != "" {
		req.Header.Set("Authorization", p.auth)
	}
	resp, err := p.Client.Do(req)
	if err != nil {
		p.count("error")
		var ue *url.Error // its text repeats the URL
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("%s: POST %s: %w", p.What, p.URL, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	p.count(strconv.Itoa(resp.StatusCode))
	if resp.StatusCode/100 != 2 {
		hint := ""
		if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
			hint = " (check bearer_token)"
		}
		return fmt.Errorf("%s: POST %s: %s%s: %s", p.What, p.URL, resp.Status, hint, strings.TrimSpace(string(msg)))
	}
	return nil
}

func (p *Poster) count(code string) {
	if p.Codes != nil {
		p.Codes.WithLabelValues(code).Inc()
	}
}
