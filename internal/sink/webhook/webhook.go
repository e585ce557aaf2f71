// Package webhook is the sink type "webhook": it reads the events stream
// and POSTs each event, as its JSON, to a URL, retrying a failed POST with
// backoff. See README.md.
package webhook

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/panoptes-go/panoptes/internal/backoff"
	"github.com/panoptes-go/panoptes/internal/plugin"
	"github.com/panoptes-go/panoptes/internal/selfmetric"
	"github.com/panoptes-go/panoptes/internal/sink"
	"github.com/panoptes-go/panoptes/internal/sink/jsonpost"
)

func init() { sink.Register("webhook", factory) }

// Defaults for fields left zero.
const (
	DefaultRetries  = 3
	DefaultMinWait  = 500 * time.Millisecond
	DefaultMaxWait  = 10 * time.Second
	DefaultTimeout  = 10 * time.Second
	rememberedPosts = 10000 // event ids delivered, skipped when their batch comes again
)

// Config is the sink's block: the keys of its sinks entry besides the
// consumer's.
type Config struct {
	URL string `yaml:"url"`
	// BearerToken is sent as "Authorization: Bearer"; bearer_token_file
	// reads it from a file.
	BearerToken string `yaml:"bearer_token" secret:"true"`
	// Headers are added to every request (no Authorization: use
	// bearer_token, which is kept out of logs).
	Headers map[string]string `yaml:"headers"`
	// Retries is how many times a failed POST is tried again, waiting
	// from retry_min_wait doubling up to retry_max_wait, before the batch
	// fails (it then comes again from the bus after the consumer's
	// backoff). -1: no retry within a batch.
	Retries      int             `yaml:"retries"`
	RetryMinWait plugin.Duration `yaml:"retry_min_wait"`
	RetryMaxWait plugin.Duration `yaml:"retry_max_wait"`
	Timeout      plugin.Duration `yaml:"timeout"` // per request (default 10s)
}

// Sink POSTs events.
type Sink struct {
	poster  *jsonpost.Poster
	retries int
	minWait time.Duration
	maxWait time.Duration
	logger  *slog.Logger
	m       *metrics

	mu   sync.Mutex
	sent map[string]bool // event ids delivered (bounded by ring)
	ring []string
	next int
}

var (
	_ sink.Sink        = (*Sink)(nil)
	_ sink.EventReader = (*Sink)(nil)
)

func factory(options plugin.Block, deps sink.Deps) (sink.Sink, error) {
	var c Config
	if err := options.Decode(&c); err != nil {
		return nil, err
	}
	return New(c, deps)
}

// New checks c and returns the sink named deps.Name.
func New(c Config, deps sink.Deps) (*Sink, error) {
	var errs []error
	u, err := url.Parse(strings.TrimSpace(c.URL))
	switch {
	case strings.TrimSpace(c.URL) == "":
		errs = append(errs, plugin.Errorf("url", "is empty; give the URL events are POSTed to"))
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		shown := c.URL
		if strings.Contains(shown, "@") { // user:password@ (a reload logs every problem)
			shown = "(with credentials, not shown)"
		}
		errs = append(errs, plugin.Errorf("url", "%q is not an http(s) URL", shown))
	case u.User != nil:
		errs = append(errs, plugin.Errorf("url", "holds credentials; use bearer_token (or bearer_token_file) instead"))
	}
	for k := range c.Headers {
		if strings.EqualFold(k, "Authorization") {
			errs = append(errs, plugin.Errorf("headers", "sets Authorization; use bearer_token (or bearer_token_file), which is kept out of logs"))
		}
	}
	retries := c.Retries
	switch {
	case retries == 0:
		retries = DefaultRetries
	case retries == -1:
		retries = 0
	case retries < -1 || retries > 100:
		errs = append(errs, plugin.Errorf("retries", "%d is out of range -1..100", c.Retries))
	}
	minWait, maxWait, timeout := c.RetryMinWait.D(), c.RetryMaxWait.D(), c.Timeout.D()
	if minWait == 0 {
		minWait = DefaultMinWait
	}
	if maxWait == 0 {
		maxWait = max(DefaultMaxWait, minWait)
	}
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	if minWait < 0 || maxWait < minWait {
		errs = append(errs, plugin.Errorf("retry_max_wait", "%s is below retry_min_wait %s", maxWait, minWait))
	}
	if timeout < 0 {
		errs = append(errs, plugin.Errorf("timeout", "%s is negative", timeout))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	logger := deps.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Sink{
		retries: retries, minWait: minWait, maxWait: maxWait, logger: logger, m: newMetrics(deps.Registerer, deps.Name),
		sent: map[string]bool{}, ring: make([]string, rememberedPosts),
	}
	s.poster = &jsonpost.Poster{What: "webhook", URL: u.String(), Client: &http.Client{Timeout: timeout}, Headers: c.Headers, Codes: s.m.posts}
	s.poster.SetBearerToken(c.BearerToken)
	return s, nil
}

// ReadsEvents makes the sink read the events stream.
func (s *Sink) ReadsEvents() {}

// Write POSTs the batch's events in order, each body the event's JSON as
// published; nil when all were taken. A batch that comes again after a
// failure skips the events this process delivered already (at least once
// holds; a receiver can deduplicate on the X-Panoptes-Event-Id header).
func (s *Sink) Write(ctx context.Context, batch []sink.Record) error {
	for _, r := range batch {
		if r.Event == nil || s.delivered(r.Event.ID) {
			continue
		}
		if err := s.deliver(ctx, r); err != nil {
			return err
		}
		s.remember(r.Event.ID)
	}
	return nil
}

func (s *Sink) delivered(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sent[id]
}

func (s *Sink) remember(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.sent, s.ring[s.next])
	s.ring[s.next] = id
	s.sent[id] = true
	s.next = (s.next + 1) % len(s.ring)
}

// deliver POSTs one event, retrying with backoff.
func (s *Sink) deliver(ctx context.Context, r sink.Record) error {
	bo := backoff.Backoff{Min: s.minWait, Max: s.maxWait}
	for attempt := 0; ; attempt++ {
		err := s.post(ctx, r)
		if err == nil {
			s.m.delivered.Inc()
			return nil
		}
		if attempt >= s.retries || ctx.Err() != nil {
			s.m.failed.Inc()
			return err
		}
		s.m.retries.Inc()
		s.logger.Debug("webhook: POST failed; retrying", "event", r.Event.ID, "attempt", attempt+1, "err", err)
		if err := bo.Wait(ctx); err != nil {
			return err
		}
	}
}

func (s *Sink) post(ctx context.Context, r sink.Record) error {
	return s.poster.Post(ctx, r.Data, http.Header{"X-Panoptes-Event-Id": {r.Event.ID}, "X-Panoptes-Event-Kind": {r.Event.Kind}})
}

type metrics struct {
	posts     *prometheus.CounterVec
	delivered prometheus.Counter
	retries   prometheus.Counter
	failed    prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, name string) *metrics {
	posts := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "panoptes", Subsystem: "webhook", Name: "posts_total",
		Help: "Webhook POSTs by HTTP status code (error: no answer).",
	}, []string{"sink", "code"})
	delivered := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "panoptes", Subsystem: "webhook", Name: "events_delivered_total",
		Help: "Events the receiver took (a 2xx answer).",
	}, []string{"sink"})
	retries := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "panoptes", Subsystem: "webhook", Name: "retries_total",
		Help: "POSTs tried again after a failure, after a backoff wait.",
	}, []string{"sink"})
	failed := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "panoptes", Subsystem: "webhook", Name: "failures_total",
		Help: "Events still not taken after every retry; their batch comes again from the bus.",
	}, []string{"sink"})
	if reg != nil {
		posts = selfmetric.Register(reg, posts)
		delivered = selfmetric.Register(reg, delivered)
		retries = selfmetric.Register(reg, retries)
		failed = selfmetric.Register(reg, failed)
	}
	return &metrics{
		posts:     posts.MustCurryWith(prometheus.Labels{"sink": name}),
		delivered: delivered.WithLabelValues(name),
		retries:   retries.WithLabelValues(name),
		failed:    failed.WithLabelValues(name),
	}
}
