// Package alertmanager is the sink type "alertmanager": it reads the
// events stream and posts alerts to Alertmanager's v2 API (POST
// /api/v2/alerts). A problem event fires the object's alert; the event
// that returns it to a good state resolves it. See README.md.
//
// Alertmanager resolves an alert by itself when its endsAt passes, so a
// firing alert must be posted again and again (as Prometheus does): the
// sink keeps its alerts in a KV bucket of the bus, shared by every process
// running the sink, and each of them posts the firing ones every
// resend_interval. A process that takes over after another one died thus
// keeps the alerts alive, and nothing is resolved by silence.
package alertmanager

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/panoptes-go/panoptes/internal/event"
	"github.com/panoptes-go/panoptes/internal/plugin"
	"github.com/panoptes-go/panoptes/internal/selfmetric"
	"github.com/panoptes-go/panoptes/internal/sink"
	"github.com/panoptes-go/panoptes/internal/sink/jsonpost"
)

func init() { sink.Register("alertmanager", factory) }

// Defaults for fields left zero.
const (
	DefaultResendInterval = time.Minute
	DefaultTimeout        = 10 * time.Second
)

// Config is the sink's block: the keys of its sinks entry besides the
// consumer's.
type Config struct {
	// URL is Alertmanager's base URL (http://alertmanager:9093); the sink
	// posts to <url>/api/v2/alerts.
	URL string `yaml:"url"`
	// BearerToken is sent as "Authorization: Bearer" (a proxy in front
	// of Alertmanager); bearer_token_file reads it from a file.
	BearerToken string `yaml:"bearer_token" secret:"true"`
	// Labels are added to every alert (team, environment).
	Labels map[string]string `yaml:"labels"`
	// ResendInterval is how often firing alerts are posted again; each is
	// posted ending 4 intervals later, so Alertmanager resolves an alert
	// by itself only when every process running the sink is gone.
	ResendInterval plugin.Duration `yaml:"resend_interval"`
	Timeout        plugin.Duration `yaml:"timeout"` // per request (default 10s)
	// GeneratorURL is the alerts' link back (a Panoptes UI); optional.
	GeneratorURL string `yaml:"generator_url"`
}

// Sink posts alerts for events.
type Sink struct {
	name      string
	poster    *jsonpost.Poster
	labels    map[string]string
	resend    time.Duration
	generator string
	logger    *slog.Logger
	m         *metrics
	kv        jetstream.KeyValue // set by UseBus
	now       func() time.Time
}

var (
	_ sink.Sink        = (*Sink)(nil)
	_ sink.EventReader = (*Sink)(nil)
	_ sink.BusUser     = (*Sink)(nil)
	_ sink.Service     = (*Sink)(nil)
)

func factory(options plugin.Block, deps sink.Deps) (sink.Sink, error) {
	var c Config
	if err := options.Decode(&c); err != nil {
		return nil, err
	}
	return New(c, deps)
}

var labelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// New checks c and returns the sink named deps.Name; it connects to
// nothing until it runs.
func New(c Config, deps sink.Deps) (*Sink, error) {
	var errs []error
	u, err := url.Parse(strings.TrimSpace(c.URL))
	switch {
	case strings.TrimSpace(c.URL) == "":
		errs = append(errs, plugin.Errorf("url", "is empty; give Alertmanager's base URL (http://alertmanager:9093)"))
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		shown := c.URL
		if strings.Contains(shown, "@") { // user:password@ (a reload logs every problem)
			shown = "(with credentials, not shown)"
		}
		errs = append(errs, plugin.Errorf("url", "%q is not an http(s) URL (http://alertmanager:9093)", shown))
	case u.User != nil:
		errs = append(errs, plugin.Errorf("url", "holds credentials; use bearer_token (or bearer_token_file) instead"))
	}
	for k := range c.Labels {
		if !labelName.MatchString(k) {
			errs = append(errs, plugin.Errorf("labels", "%q is not a label name ([a-zA-Z_][a-zA-Z0-9_]*)", k))
		}
	}
	resend, timeout := c.ResendInterval.D(), c.Timeout.D()
	if resend == 0 {
		resend = DefaultResendInterval
	}
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	if resend < time.Second {
		errs = append(errs, plugin.Errorf("resend_interval", "%s is too short; give at least 1s", resend))
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
		name:      deps.Name,
		labels:    c.Labels,
		resend:    resend,
		generator: c.GeneratorURL,
		logger:    logger,
		m:         newMetrics(deps.Registerer, deps.Name),
		now:       time.Now,
	}
	s.poster = &jsonpost.Poster{What: "alertmanager sink", URL: strings.TrimRight(u.String(), "/") + "/api/v2/alerts",
		Client: &http.Client{Timeout: timeout}, Codes: s.m.posts}
	s.poster.SetBearerToken(c.BearerToken)
	return s, nil
}

// ReadsEvents makes the sink read the events stream.
func (s *Sink) ReadsEvents() {}

// Bucket is the KV bucket of the sink's alerts.
func Bucket(sinkName string) string {
	return "panoptes_alerts_" + strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' {
			return r
		}
		return '_'
	}, sinkName)
}

// UseBus opens (or creates) the sink's alerts bucket with replicas copies
// (an existing bucket is brought to them).
func (s *Sink) UseBus(ctx context.Context, js jetstream.JetStream, replicas int) error {
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      Bucket(s.name),
		Description: "Panoptes alertmanager sink " + s.name + ": its firing and recently resolved alerts",
		History:     1,
		Storage:     jetstream.FileStorage,
		Replicas:    max(replicas, 1),
	})
	if err != nil {
		return fmt.Errorf("alerts bucket %s: %w", Bucket(s.name), err)
	}
	s.kv = kv
	return nil
}

// entry is one alert's state in the bucket.
type entry struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	StartsAt    time.Time         `json:"starts_at"`
	// EndsAt is zero while the alert fires.
	EndsAt time.Time `json:"ends_at"`
	// EventTime is the time of the last event applied: an older one (a
	// redelivery, or a batch handled late by another process) is ignored.
	EventTime float64 `json:"event_time"`
	EventID   string  `json:"event_id"`
}

func (e *entry) firing() bool { return e.EndsAt.IsZero() }

// postable is an alert as POST /api/v2/alerts takes it.
type postable struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

func (s *Sink) postable(e *entry) postable {
	p := postable{Labels: e.Labels, Annotations: e.Annotations, StartsAt: e.StartsAt, EndsAt: e.EndsAt, GeneratorURL: s.generator}
	if e.firing() {
		p.EndsAt = s.now().Add(4 * s.resend)
	}
	return p
}

// Write applies the batch's events to the alerts bucket and posts the
// alerts they changed; nil only when Alertmanager took them (else the
// batch comes again, and the same events post the same alerts).
func (s *Sink) Write(ctx context.Context, batch []sink.Record) error {
	if s.kv == nil {
		return errors.New("alertmanager sink: no bus (UseBus was not called)")
	}
	var post []postable
	for _, r := range batch {
		if r.Event == nil {
			continue
		}
		e, err := s.apply(ctx, r.Event)
		if err != nil {
			return err
		}
		if e != nil {
			post = append(post, s.postable(e))
		}
	}
	return s.post(ctx, post)
}

// apply records ev in the bucket by compare-and-set and returns the
// alert's entry to post, or nil when ev changes nothing (an ok event for
// an alert that is not firing, an event older than the last applied).
func (s *Sink) apply(ctx context.Context, ev *event.Event) (*entry, error) {
	labels := s.alertLabels(ev)
	key := fingerprint(labels)
	for attempt := 0; ; attempt++ {
		var cur *entry
		var rev uint64
		got, err := s.kv.Get(ctx, key)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
		case err != nil:
			return nil, fmt.Errorf("alertmanager sink: alert %s: %w", key, err)
		default:
			rev = got.Revision()
			cur = &entry{}
			if json.Unmarshal(got.Value(), cur) != nil {
				s.logger.Warn("alertmanager sink: damaged alert entry replaced", "key", key)
				cur = nil
			}
		}
		if cur != nil && ev.Time < cur.EventTime {
			s.m.stale.Inc()
			return nil, nil
		}
		at := time.Unix(0, int64(ev.Time*1e9)).UTC()
		next := &entry{Labels: labels, Annotations: annotations(ev), EventTime: ev.Time, EventID: ev.ID}
		switch {
		case ev.Status == event.StatusProblem:
			next.StartsAt = at
			if cur != nil && cur.firing() {
				next.StartsAt = cur.StartsAt // still the same trouble
			}
		case cur == nil || (!cur.firing() && cur.EventID != ev.ID):
			return nil, nil // nothing fires: nothing to resolve
		default:
			next.StartsAt, next.EndsAt = cur.StartsAt, at
			if !at.After(cur.StartsAt) {
				next.EndsAt = cur.StartsAt.Add(time.Millisecond)
			}
		}
		if cur != nil && cur.EventID == ev.ID && cur.EventTime == ev.Time {
			return cur, nil // applied already (a batch that comes again): post it again
		}
		data, err := json.Marshal(next)
		if err != nil {
			return nil, err
		}
		if rev == 0 {
			_, err = s.kv.Create(ctx, key, data)
		} else {
			_, err = s.kv.Update(ctx, key, data, rev)
		}
		if err == nil {
			return next, nil
		}
		if !isConflict(err) || attempt >= 10 {
			return nil, fmt.Errorf("alertmanager sink: alert %s: %w", key, err)
		}
	}
}

func isConflict(err error) bool {
	var apiErr *jetstream.APIError
	return errors.Is(err, jetstream.ErrKeyExists) ||
		(errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence)
}

// alertName names the alert of an event's kind.
func alertName(kind string) string {
	switch kind {
	case event.KindBGPSession:
		return "BGPSessionDown"
	case event.KindInterface:
		return "InterfaceDown"
	case event.KindDevice:
		return "DeviceUnreachable"
	case event.KindLink:
		return "LinkDown"
	case event.KindLBPoolMember:
		return "LBPoolMemberDown"
	case event.KindLBVirtualServer:
		return "LBVirtualServerDown"
	}
	var b strings.Builder
	for _, part := range strings.Split(kind, "_") {
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String() + "Problem"
}

// alertLabels identify the alert: the same object gives the same labels
// whatever its state, so its ok event resolves what its problem fired.
func (s *Sink) alertLabels(ev *event.Event) map[string]string {
	l := map[string]string{}
	for k, v := range ev.Labels {
		if labelName.MatchString(k) && v != "" {
			l[k] = v
		}
	}
	for k, v := range s.labels {
		l[k] = v
	}
	l["alertname"] = alertName(ev.Kind)
	l["kind"] = ev.Kind
	l["site"] = ev.Site
	if ev.Object != "" {
		l["object"] = ev.Object
	}
	if r := ev.Resource; r != nil {
		l["resource"] = r.ID
		if r.Endpoint != "" {
			l["endpoint"] = r.Endpoint
		}
		for k, v := range map[string]string{"class": r.Class, "subclass": r.Subclass, "type": r.Type} {
			if v != "" {
				l["resource_"+k] = v
			}
		}
	}
	return l
}

func annotations(ev *event.Event) map[string]string {
	a := map[string]string{
		"old_state": ev.OldState, "new_state": ev.NewState, "event_id": ev.ID,
		"summary": summary(ev),
	}
	for w, n := range ev.Flaps {
		a["flaps_"+w] = strconv.Itoa(n)
	}
	return a
}

func summary(ev *event.Event) string {
	what := strings.ReplaceAll(ev.Kind, "_", " ")
	if ev.Object != "" {
		what += " " + ev.Object
	}
	on := ""
	if ev.Resource != nil {
		on = " on " + ev.Resource.ID
	}
	if ev.OldState == "" {
		return fmt.Sprintf("%s%s is %s", what, on, ev.NewState)
	}
	return fmt.Sprintf("%s%s: %s -> %s", what, on, ev.OldState, ev.NewState)
}

// fingerprint is the bucket key of labels: a hash of them sorted.
func fingerprint(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		h.Write([]byte(k))
		h.Write([]byte{0})
		h.Write([]byte(labels[k]))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// post sends alerts in one request.
func (s *Sink) post(ctx context.Context, alerts []postable) error {
	if len(alerts) == 0 {
		return nil
	}
	body, err := json.Marshal(alerts)
	if err != nil {
		return err
	}
	if err := s.poster.Post(ctx, body, nil); err != nil {
		return err
	}
	s.m.alerts.Add(float64(len(alerts)))
	return nil
}

// Serve posts the firing alerts every resend interval, and the resolved
// ones for a few intervals more (in case a firing one posted by a slow
// process overtook the resolution), then forgets those.
func (s *Sink) Serve(ctx context.Context) error {
	t := time.NewTicker(s.resend)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if err := s.Resend(ctx); err != nil && ctx.Err() == nil {
			s.logger.Warn("alertmanager sink: resend failed; retried next interval", "err", err)
		}
	}
}

// Resend posts what the bucket holds: firing alerts, and resolved ones
// resolved less than 4 intervals ago (older ones are deleted).
func (s *Sink) Resend(ctx context.Context) error {
	if s.kv == nil {
		return nil
	}
	lister, err := s.kv.ListKeys(ctx)
	if err != nil {
		if errors.Is(err, jetstream.ErrNoKeysFound) {
			return nil
		}
		return err
	}
	var keys []string
	for k := range lister.Keys() {
		keys = append(keys, k)
	}
	var post []postable
	for _, k := range keys {
		got, err := s.kv.Get(ctx, k)
		if err != nil {
			continue // deleted meanwhile
		}
		var e entry
		if json.Unmarshal(got.Value(), &e) != nil {
			continue
		}
		if !e.firing() && s.now().Sub(e.EndsAt) > 4*s.resend {
			_ = s.kv.Delete(ctx, k, jetstream.LastRevision(got.Revision()))
			continue
		}
		post = append(post, s.postable(&e))
		if len(post) == 500 {
			if err := s.post(ctx, post); err != nil {
				return err
			}
			post = post[:0]
		}
	}
	return s.post(ctx, post)
}

type metrics struct {
	posts  *prometheus.CounterVec
	alerts prometheus.Counter
	stale  prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, name string) *metrics {
	posts := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "panoptes", Subsystem: "alertmanager", Name: "posts_total",
		Help: "POSTs of alerts to Alertmanager by HTTP status code (error: no answer); failed ones are retried with backoff.",
	}, []string{"sink", "code"})
	alerts := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "panoptes", Subsystem: "alertmanager", Name: "alerts_posted_total",
		Help: "Alerts (firing or resolved, resends included) Alertmanager accepted.",
	}, []string{"sink"})
	stale := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "panoptes", Subsystem: "alertmanager", Name: "stale_events_total",
		Help: "Events older than the last one applied to their alert, ignored.",
	}, []string{"sink"})
	if reg != nil {
		posts = selfmetric.Register(reg, posts)
		alerts = selfmetric.Register(reg, alerts)
		stale = selfmetric.Register(reg, stale)
	}
	return &metrics{
		posts:  posts.MustCurryWith(prometheus.Labels{"sink": name}),
		alerts: alerts.WithLabelValues(name),
		stale:  stale.WithLabelValues(name),
	}
}
