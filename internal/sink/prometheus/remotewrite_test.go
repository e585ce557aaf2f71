package prometheus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/snappy"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/plugin"
	"github.com/panoptes-go/panoptes/internal/sink"
	"github.com/panoptes-go/panoptes/internal/testutil/logbuf"
)

// fakeReceiver decodes every request like a remote-write receiver and
// answers what answer says (nil: 204).
type fakeReceiver struct {
	t      *testing.T
	srv    *httptest.Server
	answer func(series []decodedSeries, h http.Header) (int, string)

	mu       sync.Mutex
	requests int
	headers  []http.Header
	series   []decodedSeries // of accepted requests
}

func newFakeReceiver(t *testing.T, answer func([]decodedSeries, http.Header) (int, string)) *fakeReceiver {
	f := &fakeReceiver{t: t, answer: answer}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeReceiver) serve(w http.ResponseWriter, r *http.Request) {
	compressed, _ := io.ReadAll(r.Body)
	raw, err := snappy.Decode(nil, compressed)
	if err != nil {
		f.t.Errorf("receiver: body is not snappy: %v", err)
		http.Error(w, "not snappy", 400)
		return
	}
	series, err := decodeWriteRequest(raw)
	if err != nil {
		f.t.Errorf("receiver: body is not a WriteRequest: %v", err)
		http.Error(w, "bad protobuf", 400)
		return
	}
	code, body := http.StatusNoContent, ""
	if f.answer != nil {
		code, body = f.answer(series, r.Header)
	}
	f.mu.Lock()
	f.requests++
	f.headers = append(f.headers, r.Header.Clone())
	if code/100 == 2 {
		f.series = append(f.series, series...)
	}
	f.mu.Unlock()
	w.WriteHeader(code)
	_, _ = io.WriteString(w, body)
}

func (f *fakeReceiver) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests
}

func (f *fakeReceiver) gotSeries() []decodedSeries {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.series)
}

func (f *fakeReceiver) gotHeaders() []http.Header {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.headers)
}

func newTestRemoteWrite(t testing.TB, p Config, logger *slog.Logger) *RemoteWrite {
	t.Helper()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	w, err := NewRemoteWrite(&p, sink.Deps{Name: "rw", Logger: logger, Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatalf("NewRemoteWrite: %v", err)
	}
	t.Cleanup(func() { _ = w.Close() })
	return w
}

// TestRemoteWriteRequest checks the request a receiver gets: protocol
// headers, user headers, basic auth, and every series with sorted labels,
// __name__, value and timestamp.
func TestRemoteWriteRequest(t *testing.T) {
	recv := newFakeReceiver(t, nil)
	w := newTestRemoteWrite(t, Config{
		URL: recv.srv.URL + "/api/v1/write", Username: "panoptes", Password: "s3cret-pass",
		Headers: map[string]string{"X-Scope-OrgID": "tenant1"},
	}, nil)
	ts := time.UnixMilli(1_700_000_000_123)
	r := device("dc1", "sw1")
	groups := append(interfaceGroups(r, 48, 0, ts), cpuGroup(r, 12.5, ts))
	if err := w.Write(context.Background(), records(groups...)); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if recv.count() != 1 {
		t.Fatalf("%d requests, want 1", recv.count())
	}
	h := recv.gotHeaders()[0]
	for k, want := range map[string]string{
		"Content-Encoding": "snappy", "Content-Type": "application/x-protobuf",
		"X-Prometheus-Remote-Write-Version": "0.1.0", "X-Scope-Orgid": "tenant1",
	} {
		if got := h.Get(k); got != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}
	req := &http.Request{Header: h}
	if u, p, ok := req.BasicAuth(); !ok || u != "panoptes" || p != "s3cret-pass" {
		t.Errorf("basic auth %q/%q/%v", u, p, ok)
	}
	if len(recv.gotSeries()) != 48*18+1 {
		t.Fatalf("%d series, want %d", len(recv.gotSeries()), 48*18+1)
	}
	seen := map[string]bool{}
	for _, s := range recv.gotSeries() {
		names := make([]string, len(s.labels))
		for i, l := range s.labels {
			names[i] = l[0]
			if l[1] == "" {
				t.Errorf("label %s has an empty value", l[0])
			}
		}
		if !slices.IsSorted(names) || names[0] != "__name__" {
			t.Fatalf("labels not sorted with __name__ first: %v", names)
		}
		if len(s.samples) != 1 || s.samples[0].ts != ts.UnixMilli() {
			t.Fatalf("samples %v, want one at %d", s.samples, ts.UnixMilli())
		}
		name := s.label("__name__")
		key := name + "|" + s.label("interface_name")
		if seen[key] {
			t.Errorf("series %s sent twice", key)
		}
		seen[key] = true
		if name == "panoptes_cpu_cpu_utilization" {
			if s.samples[0].value != 12.5 || s.label("cpu_name") != "Supervisor" {
				t.Errorf("cpu series %v", s)
			}
			continue
		}
		var port int
		if _, err := fmt.Sscanf(s.label("interface_name"), "GigabitEthernet1/0/%d", &port); err != nil {
			t.Fatalf("%s: interface_name %q", name, s.label("interface_name"))
		}
		if s.label("resource_id") != "sw1" || s.label("resource_endpoint") != "sw1.example.com" ||
			s.label("resource_site") != "dc1" || s.label("alias") != fmt.Sprintf(`uplink "%d" to core\rack`, port) || len(s.labels) != 12 {
			t.Errorf("%s labels %v", name, s.labels)
		}
		if j := slices.Index(interfaceCounters, strings.TrimSuffix(strings.TrimPrefix(name, "panoptes_interface_"), "_total")); j >= 0 {
			if !strings.HasSuffix(name, "_total") || s.samples[0].value != float64(counterValue(port-1, j, 0)) {
				t.Errorf("%s{%d} = %v, want %d", name, port, s.samples[0].value, counterValue(port-1, j, 0))
			}
		}
	}
}

// TestRemoteWriteUpperCaseLabelSortsBeforeName: the spec sorts labels
// bytewise, so an upper-case label name ("VRF") and "_9x" (from "9x") come
// before __name__.
func TestRemoteWriteUpperCaseLabelSortsBeforeName(t *testing.T) {
	recv := newFakeReceiver(t, nil)
	w := newTestRemoteWrite(t, Config{URL: recv.srv.URL}, nil)
	g := interfaceGroups(device("dc1", "sw1"), 1, 0, time.Now())[0]
	g.Dimensions = append(g.Dimensions, metric.Dimension{Name: "VRF", Value: "mgmt"}, metric.Dimension{Name: "9x", Value: "y"})
	if err := w.Write(context.Background(), records(g)); err != nil {
		t.Fatal(err)
	}
	s := recv.gotSeries()[0]
	if s.labels[0][0] != "VRF" || s.labels[1][0] != "_9x" || s.labels[2][0] != "__name__" || s.labels[3][0] != "alias" {
		t.Errorf("labels %v, want VRF, _9x, __name__, alias first", s.labels)
	}
}

// TestRemoteWriteAnswers: what each receiver answer makes of a batch.
func TestRemoteWriteAnswers(t *testing.T) {
	for _, c := range []struct {
		code     int
		rejected bool
		hint     string
	}{
		{400, true, "400"},
		{413, true, "413"},
		{422, true, "422"},
		{503, false, "will retry"},
		{500, false, "will retry"},
		{429, false, "will retry"},
		{401, false, "username/password"},
		{403, false, "username/password"},
		{404, false, "--web.enable-remote-write-receiver"},
	} {
		t.Run(fmt.Sprint(c.code), func(t *testing.T) {
			recv := newFakeReceiver(t, func([]decodedSeries, http.Header) (int, string) { return c.code, "receiver says no\n" })
			w := newTestRemoteWrite(t, Config{URL: recv.srv.URL}, nil)
			batch := records(interfaceGroups(device("dc1", "sw1"), 6, 0, time.Now())...)
			err := w.Write(context.Background(), batch)
			if err == nil {
				t.Fatal("Write succeeded")
			}
			var rej *sink.Rejected
			if got := errors.As(err, &rej); got != c.rejected {
				t.Fatalf("Write = %v; rejected %v, want %v", err, got, c.rejected)
			}
			if c.rejected && len(rej.Reasons) != len(batch) {
				t.Fatalf("%d of %d records rejected", len(rej.Reasons), len(batch))
			}
			if msg := err.Error(); !strings.Contains(msg, c.hint) || !strings.Contains(msg, "receiver says no") {
				t.Errorf("error %q lacks %q or the receiver's answer", msg, c.hint)
			}
			if !c.rejected && recv.count() != 1 {
				t.Errorf("%d requests for a retryable answer, want 1 (the caller retries)", recv.count())
			}
		})
	}
}

// TestRemoteWriteBisects: when the receiver refuses a batch because of some
// records, only those are rejected and the rest is written.
func TestRemoteWriteBisects(t *testing.T) {
	recv := newFakeReceiver(t, func(series []decodedSeries, _ http.Header) (int, string) {
		for _, s := range series {
			if s.label("resource_id") == "bad" {
				return 400, "out of order sample"
			}
		}
		return 204, ""
	})
	w := newTestRemoteWrite(t, Config{URL: recv.srv.URL}, nil)
	now := time.Now()
	var groups []*metric.Group
	for i := 0; i < 40; i++ {
		id := fmt.Sprintf("sw%d", i)
		if i == 3 || i == 31 {
			id = "bad"
		}
		groups = append(groups, interfaceGroups(device("dc1", id), 1, 0, now)...)
	}
	err := w.Write(context.Background(), records(groups...))
	var rej *sink.Rejected
	if !errors.As(err, &rej) {
		t.Fatalf("Write = %v, want *sink.Rejected", err)
	}
	if len(rej.Reasons) != 2 || rej.Reasons[3] == nil || rej.Reasons[31] == nil {
		t.Fatalf("rejected %v, want records 3 and 31", rej.Reasons)
	}
	if !strings.Contains(rej.Reasons[3].Error(), "out of order sample") {
		t.Errorf("reason %q does not quote the receiver", rej.Reasons[3])
	}
	if len(recv.gotSeries()) != 38*18 {
		t.Errorf("%d series written, want %d", len(recv.gotSeries()), 38*18)
	}
	if recv.count() > 1+2*2*6 {
		t.Errorf("%d requests to find 2 bad records among 40", recv.count())
	}
}

// TestRemoteWriteLocalReject: a group whose labels collide is rejected
// without being sent; the rest is.
func TestRemoteWriteLocalReject(t *testing.T) {
	recv := newFakeReceiver(t, nil)
	w := newTestRemoteWrite(t, Config{URL: recv.srv.URL}, nil)
	groups := interfaceGroups(device("dc1", "sw1"), 3, 0, time.Now())
	groups[1].Dimensions = append(groups[1].Dimensions, metric.Dimension{Name: "interface-name", Value: "x"})
	err := w.Write(context.Background(), records(groups...))
	var rej *sink.Rejected
	if !errors.As(err, &rej) || len(rej.Reasons) != 1 || rej.Reasons[1] == nil {
		t.Fatalf("Write = %v, want record 1 rejected", err)
	}
	if len(recv.gotSeries()) != 2*18 {
		t.Errorf("%d series sent, want 36", len(recv.gotSeries()))
	}
}

// TestRemoteWriteNetworkError: no receiver is a retryable error, and a
// cancelled context is reported as such.
func TestRemoteWriteNetworkError(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	w := newTestRemoteWrite(t, Config{URL: url + "/api/v1/write?token=abc", Timeout: plugin.Duration(2 * time.Second)}, nil)
	batch := records(interfaceGroups(device("dc1", "sw1"), 1, 0, time.Now())...)
	err := w.Write(context.Background(), batch)
	var rej *sink.Rejected
	if err == nil || errors.As(err, &rej) {
		t.Fatalf("Write to a closed port = %v, want a retryable error", err)
	}
	if strings.Contains(err.Error(), "token=abc") {
		t.Errorf("error quotes the URL's query: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := w.Write(ctx, batch); !errors.Is(err, context.Canceled) {
		t.Errorf("Write with a cancelled ctx = %v, want context.Canceled", err)
	}
}

// TestRemoteWriteSecrets: passwords and tokens appear neither in errors nor
// in logs, even when the receiver echoes the Authorization header.
func TestRemoteWriteSecrets(t *testing.T) {
	const password, token = "pa55-w0rd-xyz", "tok-3n-abc-123"
	echo := func(_ []decodedSeries, h http.Header) (int, string) {
		return 401, "bad credentials: " + h.Get("Authorization")
	}
	for _, p := range []Config{
		{Username: "panoptes", Password: password},
		{BearerToken: token},
	} {
		for _, code := range []int{401, 400, 500} {
			recv := newFakeReceiver(t, func(s []decodedSeries, h http.Header) (int, string) {
				_, body := echo(s, h)
				return code, body
			})
			var logs logbuf.Buffer
			logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			p.URL = recv.srv.URL
			w := newTestRemoteWrite(t, p, logger)
			err := w.Write(context.Background(), records(interfaceGroups(device("dc1", "sw1"), 4, 0, time.Now())...))
			if err == nil {
				t.Fatal("Write succeeded")
			}
			if len(recv.gotHeaders()) == 0 || !strings.Contains(recv.gotHeaders()[0].Get("Authorization"), "Basic") && p.BearerToken == "" {
				t.Fatalf("no basic auth sent")
			}
			if p.BearerToken != "" && recv.gotHeaders()[0].Get("Authorization") != "Bearer "+token {
				t.Fatalf("Authorization %q, want the bearer token", recv.gotHeaders()[0].Get("Authorization"))
			}
			basic := strings.TrimPrefix(recv.gotHeaders()[0].Get("Authorization"), "Basic ")
			for _, out := range []string{err.Error(), logs.String(), fmt.Sprintf("%v", err)} {
				for _, secret := range []string{password, token, basic} {
					if secret != "" && strings.Contains(out, secret) {
						t.Errorf("code %d: secret %q leaked: %s", code, secret, out)
					}
				}
			}
			if !strings.Contains(err.Error(), "[redacted]") {
				t.Errorf("code %d: echoed credentials not visibly redacted: %v", code, err)
			}
		}
	}
}

// TestRemoteWriteSplitsLargeBatches: a batch above the request size limit
// goes out in several requests, every series once.
func TestRemoteWriteSplitsLargeBatches(t *testing.T) {
	recv := newFakeReceiver(t, nil)
	w := newTestRemoteWrite(t, Config{URL: recv.srv.URL, Headers: map[string]string{"X-Api-Key": "key-0123456789"}}, nil)
	w.maxRequest = 64 << 10
	groups := interfaceGroups(device("dc1", "sw1"), 48, 0, time.Now())
	if err := w.Write(context.Background(), records(groups...)); err != nil {
		t.Fatal(err)
	}
	if recv.count() < 4 {
		t.Errorf("%d requests for ~260 KiB with a 64 KiB limit", recv.count())
	}
	seen := map[string]int{}
	for _, s := range recv.gotSeries() {
		seen[s.label("__name__")+"|"+s.label("interface_name")]++
	}
	if len(seen) != 48*18 {
		t.Errorf("%d distinct series, want %d", len(seen), 48*18)
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("series %s sent %d times", k, n)
		}
	}
	if h := recv.gotHeaders()[0].Get("X-Api-Key"); h != "key-0123456789" {
		t.Errorf("X-Api-Key %q", h)
	}
}
