package influxdb

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/plugin"
	"github.com/panoptes-go/panoptes/internal/sink"
)

const (
	secretPassword = "s3cret-Pa55"
	secretToken    = "tok-VERY-secret-0123456789"
)

// request is what a fake InfluxDB received.
type request struct {
	method, path string
	query        map[string]string
	auth         string
	contentType  string
	body         string
}

// fakeInflux records requests and answers with respond (204 when nil).
type fakeInflux struct {
	mu       sync.Mutex
	requests []request
	respond  func(body string) (int, string)
}

func (f *fakeInflux) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	q := map[string]string{}
	for k, v := range r.URL.Query() {
		q[k] = v[0]
	}
	f.mu.Lock()
	f.requests = append(f.requests, request{r.Method, r.URL.Path, q, r.Header.Get("Authorization"), r.Header.Get("Content-Type"), string(b)})
	respond := f.respond
	f.mu.Unlock()
	code, body := http.StatusNoContent, ""
	if respond != nil {
		code, body = respond(string(b))
	}
	w.WriteHeader(code)
	_, _ = io.WriteString(w, body)
}

func (f *fakeInflux) got() []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]request(nil), f.requests...)
}

func newSink(t *testing.T, c Config) *Influx {
	t.Helper()
	s, err := New(&c, sink.Deps{Name: "influx"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.(*Influx).Close() })
	return s.(*Influx)
}

func records(n int) []sink.Record {
	var out []sink.Record
	for i := 0; i < n; i++ {
		g := testGroup()
		g.Dimensions = []metric.Dimension{{Name: "seq", Value: fmt.Sprint(i)}}
		out = append(out, sink.Record{Subject: "panoptes.metrics.dc1.interface", Group: g})
	}
	return out
}

func TestV2Request(t *testing.T) {
	fake := &fakeInflux{}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	s := newSink(t, Config{URL: srv.URL + "/prefix/", Version: 2, Org: "my org", Bucket: "metrics/autogen", Token: secretToken})
	if err := s.Write(context.Background(), records(2)); err != nil {
		t.Fatal(err)
	}
	reqs := fake.got()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.method != http.MethodPost || r.path != "/prefix/api/v2/write" {
		t.Errorf("%s %s, want POST /prefix/api/v2/write", r.method, r.path)
	}
	if r.query["org"] != "my org" || r.query["bucket"] != "metrics/autogen" || r.query["precision"] != "ms" {
		t.Errorf("query %v", r.query)
	}
	if r.auth != "Token "+secretToken {
		t.Errorf("Authorization %q", r.auth)
	}
	if !strings.HasPrefix(r.contentType, "text/plain") {
		t.Errorf("Content-Type %q", r.contentType)
	}
	lines := strings.Split(strings.TrimSuffix(r.body, "\n"), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "interface,resource_class=network,") || !strings.Contains(lines[1], ",seq=1 bits_in=29771896789864i,") {
		t.Errorf("body:\n%s", r.body)
	}
}

func TestV1Request(t *testing.T) {
	fake := &fakeInflux{}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	s := newSink(t, Config{URL: srv.URL, Database: "panoptes", RetentionPolicy: "one_week", Username: "writer", Password: secretPassword})
	if err := s.Write(context.Background(), records(1)); err != nil {
		t.Fatal(err)
	}
	r := fake.got()[0]
	if r.path != "/write" || r.query["db"] != "panoptes" || r.query["rp"] != "one_week" || r.query["precision"] != "ms" {
		t.Errorf("%s %v", r.path, r.query)
	}
	if _, ok := r.query["p"]; ok {
		t.Error("password sent in the URL")
	}
	if r.auth != "Basic "+base64.StdEncoding.EncodeToString([]byte("writer:"+secretPassword)) {
		t.Errorf("Authorization %q, want basic auth", r.auth)
	}
}

// TestDataErrorsAreBisected: a batch InfluxDB refuses is split until the bad
// points are found; they are rejected, every other point is stored.
func TestDataErrorsAreBisected(t *testing.T) {
	stored := map[string]bool{}
	fake := &fakeInflux{respond: func(body string) (int, string) {
		bad := false
		for _, l := range strings.Split(strings.TrimSuffix(body, "\n"), "\n") {
			if strings.Contains(l, ",seq=3 ") || strings.Contains(l, ",seq=6 ") {
				bad = true
				continue
			}
			stored[l[strings.Index(l, ",seq=")+5:strings.Index(l, " bits_in")]] = true // partial write: the rest is kept
		}
		if bad {
			return http.StatusBadRequest, `{"error":"partial write: field type conflict: input field \"bits_in\" on measurement \"interface\" is type float, already exists as type integer dropped=1"}`
		}
		return http.StatusNoContent, ""
	}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	s := newSink(t, Config{URL: srv.URL, Database: "db"})
	err := s.Write(context.Background(), records(8))
	var rej *sink.Rejected
	if !errors.As(err, &rej) || len(rej.Reasons) != 2 || rej.Reasons[3] == nil || rej.Reasons[6] == nil {
		t.Fatalf("Write = %v, want records 3 and 6 rejected", err)
	}
	if !strings.Contains(rej.Reasons[3].Error(), "HTTP 400: partial write: field type conflict") {
		t.Errorf("reason %q", rej.Reasons[3])
	}
	for i := 0; i < 8; i++ {
		if want := i != 3 && i != 6; stored[fmt.Sprint(i)] != want {
			t.Errorf("seq %d stored %v, want %v", i, stored[fmt.Sprint(i)], want)
		}
	}
	if n := len(fake.got()); n > 12 {
		t.Errorf("%d requests to isolate 2 of 8 points; bisection should need about 2*log2(8)", n)
	}
}

// TestFailuresAreRetriedWithoutSecrets: what is not InfluxDB refusing the
// data (auth, missing database, server errors, a proxy's 400, no server) is
// an error to retry, and no error shows a password or token.
func TestFailuresAreRetriedWithoutSecrets(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "http://" + l.Addr().String()
	_ = l.Close()
	for _, tc := range []struct {
		name    string
		code    int
		body    string
		want    string
		noSever bool
	}{
		{"unauthorized", 401, `{"error":"authorization failed"}`, "HTTP 401: authorization failed (check influxdb.", false},
		{"no database", 404, `{"error":"database not found: \"db\""}`, "HTTP 404: database not found", false},
		{"server error", 503, `{"error":"engine: cache-max-memory-size exceeded"}`, "HTTP 503", false},
		{"proxy 400", 400, `<html>Bad Request</html>`, "HTTP 400: <html>", false},
		{"connection refused", 0, "", "connection refused", true},
	} {
		for _, version := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s v%d", tc.name, version), func(t *testing.T) {
				url := closedURL
				if !tc.noSever {
					srv := httptest.NewServer(&fakeInflux{respond: func(string) (int, string) { return tc.code, tc.body }})
					defer srv.Close()
					url = srv.URL
				}
				c := Config{URL: url, Database: "db", Username: "writer", Password: secretPassword, Timeout: plugin.Duration(5 * time.Second)}
				if version == 2 {
					c = Config{URL: url, Version: 2, Org: "o", Bucket: "b", Token: secretToken}
				}
				err := newSink(t, c).Write(context.Background(), records(3))
				var rej *sink.Rejected
				if err == nil || errors.As(err, &rej) || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("Write = %v, want a retryable error containing %q", err, tc.want)
				}
				assertNoSecret(t, err.Error())
			})
		}
	}
}

func assertNoSecret(t *testing.T, s string) {
	t.Helper()
	for _, secret := range []string{secretPassword, secretToken, base64.StdEncoding.EncodeToString([]byte("writer:" + secretPassword))} {
		if strings.Contains(s, secret) {
			t.Errorf("secret %q appears in %q", secret, s)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		c     *Config
		field string
		want  string
	}{
		{"missing section", nil, "influxdb", "is missing"},
		{"no url", &Config{Database: "d"}, "influxdb.url", "is empty"},
		{"bad scheme", &Config{URL: "udp://x:8089", Database: "d"}, "influxdb.url", "http:// or https://"},
		{"credentials in url", &Config{URL: "http://writer:" + secretPassword + "@localhost:8086", Database: "d"}, "influxdb.url", "holds credentials"},
		{"query in url", &Config{URL: "http://localhost:8086/?p=" + secretPassword, Database: "d"}, "influxdb.url", "has a query"},
		{"no database", &Config{URL: "http://localhost:8086"}, "influxdb.database", "is empty"},
		{"v1 with token", &Config{URL: "http://localhost:8086", Database: "d", Token: secretToken}, "influxdb.version", "for InfluxDB 2.x"},
		{"password alone", &Config{URL: "http://localhost:8086", Database: "d", Password: secretPassword}, "influxdb.username", "is empty"},
		{"v2 no org", &Config{URL: "http://localhost:8086", Version: 2, Bucket: "b", Token: "t"}, "influxdb.org", "is empty"},
		{"v2 no bucket", &Config{URL: "http://localhost:8086", Version: 2, Org: "o", Token: "t"}, "influxdb.bucket", "is empty"},
		{"v2 no token", &Config{URL: "http://localhost:8086", Version: 2, Org: "o", Bucket: "b"}, "influxdb.token", "is empty"},
		{"v2 with password", &Config{URL: "http://localhost:8086", Version: 2, Org: "o", Bucket: "b", Token: "t", Password: secretPassword}, "influxdb.version", "for InfluxDB 1.x"},
		{"version 3", &Config{URL: "http://localhost:8086", Version: 3}, "influxdb.version", "3 is not 1 or 2"},
		{"negative timeout", &Config{URL: "http://localhost:8086", Database: "d", Timeout: -1}, "influxdb.timeout", "negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.c, sink.Deps{Name: "i"})
			var fe *plugin.FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field || !strings.Contains(fe.Msg, tc.want) {
				t.Fatalf("New = %v, want a field error on %s containing %q", err, tc.field, tc.want)
			}
			assertNoSecret(t, err.Error())
		})
	}
	// Version 2 is inferred from a bucket without a database.
	s, err := New(&Config{URL: "http://localhost:8086", Org: "o", Bucket: "b", Token: "t"}, sink.Deps{Name: "i"})
	if err != nil || !strings.Contains(s.(*Influx).writeURL, "/api/v2/write?") {
		t.Errorf("inferred version: %v", err)
	}
}
