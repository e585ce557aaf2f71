// Package influxdb is the InfluxDB sink (type "influxdb"): it writes metrics
// groups as line protocol to InfluxDB 1.x (/write: database, retention
// policy, user and password) or 2.x (/api/v2/write: org, bucket, token) with
// millisecond precision.
package influxdb

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/panoptes-go/panoptes/internal/plugin"
	"github.com/panoptes-go/panoptes/internal/sink"
)

// DefaultTimeout bounds one write request when influxdb.timeout is zero.
const DefaultTimeout = 10 * time.Second

func init() { sink.Register("influxdb", factory) }

// Config is an InfluxDB 1.x (/write) or 2.x (/api/v2/write) destination:
// the sink's influxdb section.
type Config struct {
	URL     string          `yaml:"url"`
	Version int             `yaml:"version"` // 1 or 2 (default: 2 when only bucket is set)
	Timeout plugin.Duration `yaml:"timeout"` // per write request (default 10s)
	// v1
	Database        string `yaml:"database"`
	RetentionPolicy string `yaml:"retention_policy"`
	Username        string `yaml:"username"`
	Password        string `yaml:"password" secret:"true"`
	// v2
	Org    string `yaml:"org"`
	Bucket string `yaml:"bucket"`
	Token  string `yaml:"token" secret:"true"`
	// PanoptesCompat names fields <metric>__<type> as Panoptes' consumer did.
	PanoptesCompat    bool `yaml:"panoptes_compat"`
	IncludeResourceID bool `yaml:"include_resource_id"`
}

// block is the sink's block: its settings sit under influxdb.
type block struct {
	InfluxDB *Config `yaml:"influxdb"`
}

func factory(options plugin.Block, deps sink.Deps) (sink.Sink, error) {
	var b block
	if err := options.Decode(&b); err != nil {
		return nil, err
	}
	return New(b.InfluxDB, deps)
}

// Influx writes batches to one InfluxDB database or bucket. Its Write is
// called by one goroutine at a time (the sink's consumer).
type Influx struct {
	name     string
	version  int
	writeURL string // no secrets: credentials travel in the Authorization header
	auth     string // Authorization header value; a secret, never logged
	client   *http.Client
	logger   *slog.Logger
	metrics  *metrics
	enc      *encoder
	lines    []span // per record of the batch being written
	warned   sync.Map

	// v1: a missing database is created, as Panoptes' consumer did.
	queryURL    string
	database    string
	lastCreated time.Time // last attempt, to try at most once a minute
}

// span is where a record's line sits in the body; a record with no line
// (nothing storable, or rejected while encoding) has start == end.
type span struct{ start, end int }

var (
	_ sink.Sink   = (*Influx)(nil)
	_ sink.Closer = (*Influx)(nil)
)

// New checks c (the influxdb section; nil when missing) and prepares the
// client of the sink deps.Name without connecting. Field errors name
// influxdb.<key>.
func New(c *Config, deps sink.Deps) (sink.Sink, error) {
	if c == nil {
		return nil, fieldErr("influxdb", "is missing; set influxdb.url and influxdb.database (InfluxDB 1.x) or org, bucket and token (2.x)")
	}
	base, err := checkURL(c.URL)
	if err != nil {
		return nil, err
	}
	version := c.Version
	if version == 0 {
		version = 1
		if c.Database == "" && c.Bucket != "" {
			version = 2
		}
	}
	if c.Timeout < 0 {
		return nil, fieldErr("influxdb.timeout", "%s is negative", c.Timeout.D())
	}
	timeout := c.Timeout.D()
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	q := url.Values{"precision": {"ms"}}
	s := &Influx{name: deps.Name, version: version}
	switch version {
	case 1:
		if c.Database == "" {
			return nil, fieldErr("influxdb.database", "is empty; name the InfluxDB 1.x database to write (or set version: 2 with org and bucket)")
		}
		if c.Org != "" || c.Bucket != "" || c.Token != "" {
			return nil, fieldErr("influxdb.version", "is 1, but org, bucket or token are set; those are for InfluxDB 2.x (version: 2)")
		}
		if c.Password != "" && c.Username == "" {
			return nil, fieldErr("influxdb.username", "is empty but a password is set; give both or neither")
		}
		q.Set("db", c.Database)
		if c.RetentionPolicy != "" {
			q.Set("rp", c.RetentionPolicy)
		}
		s.writeURL = base + "/write?" + q.Encode()
		s.queryURL, s.database = base+"/query", c.Database
		if c.Username != "" {
			s.auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(c.Username+":"+c.Password))
		}
	case 2:
		if c.Org == "" {
			return nil, fieldErr("influxdb.org", "is empty; name the InfluxDB 2.x organization")
		}
		if c.Bucket == "" {
			return nil, fieldErr("influxdb.bucket", "is empty; name the InfluxDB 2.x bucket to write")
		}
		if c.Token == "" {
			return nil, fieldErr("influxdb.token", "is empty; give an API token with write access to the bucket")
		}
		if c.Database != "" || c.RetentionPolicy != "" || c.Username != "" || c.Password != "" {
			return nil, fieldErr("influxdb.version", "is 2, but database, retention_policy, username or password are set; those are for InfluxDB 1.x (version: 1)")
		}
		q.Set("org", c.Org)
		q.Set("bucket", c.Bucket)
		s.writeURL = base + "/api/v2/write?" + q.Encode()
		s.auth = "Token " + c.Token
	default:
		return nil, fieldErr("influxdb.version", "%d is not 1 or 2", c.Version)
	}
	s.logger = deps.Logger
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	s.metrics = newMetrics(deps.Registerer, deps.Name)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 4
	s.client = &http.Client{Timeout: timeout, Transport: tr}
	s.enc = newEncoder(c.PanoptesCompat, c.IncludeResourceID, s.dropped)
	return s, nil
}

// checkURL returns the base URL (scheme, host, path prefix) or the reason it
// is unusable; the reason never repeats the URL, which may hold a password.
func checkURL(raw string) (string, error) {
	if strings.TrimSpace(raw) == "" {
		return "", fieldErr("influxdb.url", "is empty; give the server's address, e.g. http://localhost:8086")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fieldErr("influxdb.url", "is not an http:// or https:// URL with a host, e.g. http://localhost:8086")
	}
	if u.User != nil {
		return "", fieldErr("influxdb.url", "holds credentials; put them in influxdb.username and password (1.x) or token (2.x) instead")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", fieldErr("influxdb.url", "has a query or fragment; give only scheme, host and path, and the database, bucket and credentials in their own keys")
	}
	return u.Scheme + "://" + u.Host + strings.TrimRight(u.EscapedPath(), "/"), nil
}

func fieldErr(field, format string, a ...any) error { return plugin.Errorf(field, format, a...) }

// Write encodes the batch and posts it. When InfluxDB refuses the data (400,
// 413, 422 with its own error body), the batch is split in halves and each
// sent again, down to single points: the points it still refuses are
// returned in a *sink.Rejected, the rest are stored (points are idempotent:
// writing one twice keeps one). Any other failure is an error: retry.
func (s *Influx) Write(ctx context.Context, batch []sink.Record) error {
	s.enc.reset()
	s.lines = s.lines[:0]
	rej := &sink.Rejected{Reasons: map[int]error{}}
	var with []int // records that have a line
	for i, r := range batch {
		start := len(s.enc.bytes())
		if r.Group == nil {
			s.lines = append(s.lines, span{start, start})
			continue
		}
		ok, err := s.enc.encode(r.Group, r.Time)
		if err != nil {
			rej.Reasons[i] = fmt.Errorf("cannot encode as line protocol: %w", err)
		}
		if ok {
			with = append(with, i)
		}
		s.lines = append(s.lines, span{start, len(s.enc.bytes())})
	}
	if err := s.send(ctx, with, rej); err != nil {
		return err
	}
	if len(rej.Reasons) > 0 {
		return rej
	}
	return nil
}

// send posts the lines of records idx (contiguous in the body), splitting
// on data errors until the refused points are found.
func (s *Influx) send(ctx context.Context, idx []int, rej *sink.Rejected) error {
	if len(idx) == 0 {
		return nil
	}
	body := s.enc.bytes()[s.lines[idx[0]].start:s.lines[idx[len(idx)-1]].end]
	err := s.post(ctx, body)
	var de *dataError
	if !errors.As(err, &de) {
		return err
	}
	if len(idx) == 1 {
		rej.Reasons[idx[0]] = de
		return nil
	}
	mid := len(idx) / 2
	if err := s.send(ctx, idx[:mid], rej); err != nil {
		return err
	}
	return s.send(ctx, idx[mid:], rej)
}

// dataError is InfluxDB refusing the data itself (a parse error, a field
// type conflict, a point outside the retention policy, too large a body).
type dataError struct {
	status int
	msg    string
}

func (e *dataError) Error() string {
	return fmt.Sprintf("InfluxDB refused the point: HTTP %d: %s", e.status, e.msg)
}

// post sends one body; nil when InfluxDB stored all of it.
func (s *Influx) post(ctx context.Context, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.writeURL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("influxdb: %w", err)
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	if s.auth != "" {
		req.Header.Set("Authorization", s.auth)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		s.metrics.requests.WithLabelValues("error").Inc()
		return fmt.Errorf("influxdb: %w", err) // the URL in it holds no secret
	}
	defer resp.Body.Close()
	s.metrics.requests.WithLabelValues(strconv.Itoa(resp.StatusCode)).Inc()
	if resp.StatusCode/100 == 2 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil
	}
	msg, fromInflux := errorMessage(resp)
	if resp.StatusCode == http.StatusNotFound && s.database != "" && strings.Contains(msg, "database not found") {
		s.createDatabase(ctx) // the retry then finds it
	}
	switch {
	case resp.StatusCode == http.StatusRequestEntityTooLarge:
		return &dataError{resp.StatusCode, "request too large"}
	case fromInflux && (resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusUnprocessableEntity):
		return &dataError{resp.StatusCode, msg}
	}
	return fmt.Errorf("influxdb: POST %s: HTTP %d: %s%s", s.writeURL, resp.StatusCode, msg, s.hint(resp.StatusCode))
}

// createDatabase creates the v1 database, at most once a minute; it needs
// a user with the privilege, and failing is only logged: the write error
// already tells what to do.
func (s *Influx) createDatabase(ctx context.Context) {
	if time.Since(s.lastCreated) < time.Minute {
		return
	}
	s.lastCreated = time.Now()
	form := url.Values{"q": {`CREATE DATABASE "` + strings.ReplaceAll(s.database, `"`, `\"`) + `"`}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.queryURL, strings.NewReader(form.Encode()))
	if err != nil {
		return
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if s.auth != "" {
		req.Header.Set("Authorization", s.auth)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		s.logger.Warn("influxdb: cannot create the missing database", "database", s.database, "err", err)
		return
	}
	defer resp.Body.Close()
	var out struct {
		Error   string `json:"error"`
		Results []struct {
			Error string `json:"error"`
		} `json:"results"`
	}
	err = json.NewDecoder(io.LimitReader(resp.Body, 8<<10)).Decode(&out)
	for _, r := range out.Results {
		out.Error += r.Error
	}
	if resp.StatusCode != http.StatusOK || err != nil || out.Error != "" {
		s.logger.Warn("influxdb: cannot create the missing database", "database", s.database, "status", resp.StatusCode, "error", out.Error)
		return
	}
	s.logger.Info("influxdb: created the missing database", "database", s.database)
}

// errorMessage reads InfluxDB's error ({"error": ...} from 1.x, {"message":
// ...} from 2.x); fromInflux is false for anything else (a proxy's page),
// which must not get data dead-lettered.
func errorMessage(resp *http.Response) (msg string, fromInflux bool) {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<10))
	var e struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	if json.Unmarshal(b, &e) == nil && (e.Error != "" || e.Message != "") {
		return strings.TrimSpace(e.Error + e.Message), true
	}
	if h := resp.Header.Get("X-Influxdb-Error"); h != "" {
		return h, true
	}
	msg = strings.TrimSpace(string(b))
	if len(msg) > 200 {
		msg = msg[:200] + "..."
	}
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
	}
	return msg, false
}

func (s *Influx) hint(status int) string {
	switch {
	case (status == http.StatusUnauthorized || status == http.StatusForbidden) && s.version == 1:
		return " (check influxdb.username and influxdb.password)"
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return " (check influxdb.token and its write permission on the bucket)"
	case status == http.StatusNotFound && s.version == 1:
		return " (create the database: CREATE DATABASE, or check influxdb.database)"
	case status == http.StatusNotFound:
		return " (check influxdb.org and influxdb.bucket)"
	}
	return ""
}

// dropped counts a metric left out of its point and warns once per reason.
func (s *Influx) dropped(reason string) {
	s.metrics.dropped.WithLabelValues(reason).Inc()
	if _, seen := s.warned.LoadOrStore(reason, true); !seen {
		s.logger.Warn("influxdb: metric left out of its point (counted in panoptes_sink_influxdb_fields_dropped_total; warned once)", "reason", reason)
	}
}

// Close releases idle connections.
func (s *Influx) Close() error {
	s.client.CloseIdleConnections()
	return nil
}
