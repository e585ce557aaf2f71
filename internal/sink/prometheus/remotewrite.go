package prometheus

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/s2"

	"github.com/panoptes-go/panoptes/internal/sink"
)

// Remote-write defaults and limits.
const (
	DefaultRemoteWriteTimeout = 30 * time.Second
	// maxRequestBytes splits a large batch into several requests
	// (uncompressed protobuf size; receivers limit request sizes).
	maxRequestBytes = 4 << 20
	// maxBisectRequests bounds the extra requests spent finding the bad
	// records of a refused batch; what is left unresolved is rejected.
	maxBisectRequests = 64
	// maxErrorBody is how much of a receiver's error answer is quoted.
	maxErrorBody = 512
)

// RemoteWrite is the "prometheus_remote_write" sink: it sends every metric
// as a sample to a remote-write 1.0 receiver (protobuf WriteRequest,
// snappy-compressed). See Write for what is retried and what is rejected.
type RemoteWrite struct {
	name    string
	url     string
	display string        // url without query, for messages
	timeout time.Duration // per request
	header  http.Header   // protocol, auth and user headers; never logged
	secrets []string      // scrubbed from receiver answers quoted in errors
	client  *http.Client
	logger  *slog.Logger
	metrics *remoteWriteMetrics
	now     func() time.Time
	// maxRequest is maxRequestBytes (smaller in tests).
	maxRequest int

	mu   sync.Mutex // one Write at a time: the buffers are reused
	enc  encoder
	body []byte
}

var (
	_ sink.Sink   = (*RemoteWrite)(nil)
	_ sink.Closer = (*RemoteWrite)(nil)
)

// refusedError is a receiver answer saying the request itself is bad (400
// and most other 4xx): sending it again cannot help.
type refusedError struct{ msg string }

func (e *refusedError) Error() string { return e.msg }

// Write encodes batch and sends it, in requests of at most 4 MiB.
//
//   - 2xx: written.
//   - network error, timeout, 429, 5xx: an error; the caller retries the
//     whole batch later (a receiver drops exact duplicates).
//   - 401, 403, 407 (credentials) and 404, 405 (wrong URL, receiver not
//     enabled): an error too, retried: the data is fine and nothing should
//     be lost while the configuration is fixed.
//   - other 4xx (400 bad request, 413 too large, out-of-order samples):
//     the receiver refused the data. The request is split in halves and
//     re-sent to find the guilty records (Prometheus rolls back a refused
//     request entirely); those are returned in a *sink.Rejected.
//
// A group whose labels collide after sanitizing is rejected without
// sending it.
func (w *RemoteWrite) Write(ctx context.Context, batch []sink.Record) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.enc.reset(w.now().UnixMilli())
	var rejected map[int]error
	reject := func(i int, err error) {
		if rejected == nil {
			rejected = make(map[int]error)
		}
		rejected[i] = err
	}
	for i := range batch {
		if err := w.enc.add(batch[i].Group); err != nil {
			reject(i, err)
		}
	}
	budget := maxBisectRequests
	if err := w.sendRange(ctx, 0, len(batch), reject, &budget); err != nil {
		return err
	}
	if rejected != nil {
		return &sink.Rejected{Reasons: rejected}
	}
	return nil
}

// sendRange sends records [lo, hi), bisecting on a malformed answer; it
// returns only retryable errors.
func (w *RemoteWrite) sendRange(ctx context.Context, lo, hi int, reject func(int, error), budget *int) error {
	if lo >= hi {
		return nil
	}
	raw, samples := w.enc.segment(lo, hi)
	if len(raw) == 0 {
		return nil
	}
	if len(raw) > w.maxRequest && hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if err := w.sendRange(ctx, lo, mid, reject, budget); err != nil {
			return err
		}
		return w.sendRange(ctx, mid, hi, reject, budget)
	}
	err := w.send(ctx, raw, samples)
	var refused *refusedError
	if !errors.As(err, &refused) {
		return err // nil or retryable
	}
	if hi-lo == 1 || *budget <= 0 {
		if hi-lo > 1 {
			w.logger.Warn("remote write: stopped bisecting a refused batch; rejecting the rest of it",
				"sink", w.name, "records", hi-lo, "err", err)
		}
		for i := lo; i < hi; i++ {
			if w.enc.samples[i] > 0 {
				reject(i, err)
			}
		}
		return nil
	}
	*budget -= 2
	mid := lo + (hi-lo)/2
	if err := w.sendRange(ctx, lo, mid, reject, budget); err != nil {
		return err
	}
	return w.sendRange(ctx, mid, hi, reject, budget)
}

// send posts one WriteRequest body.
func (w *RemoteWrite) send(ctx context.Context, raw []byte, samples int) error {
	if n := s2.MaxEncodedLen(len(raw)); cap(w.body) < n {
		w.body = make([]byte, n)
	}
	body := s2.EncodeSnappy(w.body[:cap(w.body)], raw)

	rctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("sink %s: remote write to %s: %w", w.name, w.display, err)
	}
	for k, v := range w.header {
		req.Header[k] = v
	}
	resp, err := w.client.Do(req)
	if err != nil {
		w.metrics.request("error")
		var ue *url.Error
		if errors.As(err, &ue) { // its text repeats the URL, query and all
			err = ue.Err
		}
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return fmt.Errorf("sink %s: remote write to %s: %w", w.name, w.display, err)
	}
	msg := w.readAnswer(resp)
	w.metrics.bytes.Add(float64(len(body)))
	code := resp.StatusCode
	switch {
	case code/100 == 2:
		w.metrics.request("2xx")
		w.metrics.samples.Add(float64(samples))
		return nil
	case code/100 == 4:
		w.metrics.request("4xx")
	case code/100 == 5:
		w.metrics.request("5xx")
	default:
		w.metrics.request("error")
	}
	prefix := fmt.Sprintf("sink %s: remote write to %s: receiver answered %s", w.name, w.display, resp.Status)
	if msg != "" {
		prefix += ": " + msg
	}
	switch code {
	case http.StatusTooManyRequests:
		return errors.New(prefix + " (will retry)")
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusProxyAuthRequired:
		return errors.New(prefix + " (check prometheus.username/password or bearer_token; will retry)")
	case http.StatusNotFound, http.StatusMethodNotAllowed:
		return errors.New(prefix + " (check prometheus.url; a Prometheus server needs --web.enable-remote-write-receiver; will retry)")
	}
	if code/100 == 4 {
		return &refusedError{msg: prefix + " (refused as malformed; not retried)"}
	}
	return errors.New(prefix + " (will retry)")
}

// readAnswer returns the start of the response body, one line, secrets
// scrubbed, and drains and closes the body so the connection is reused.
func (w *RemoteWrite) readAnswer(resp *http.Response) string {
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 256<<10))
	if resp.StatusCode/100 == 2 {
		return ""
	}
	msg := strings.Join(strings.Fields(strings.ToValidUTF8(string(b), "?")), " ")
	for _, s := range w.secrets {
		msg = strings.ReplaceAll(msg, s, "[redacted]")
	}
	return msg
}

// Close releases idle connections.
func (w *RemoteWrite) Close() error {
	w.client.CloseIdleConnections()
	return nil
}
