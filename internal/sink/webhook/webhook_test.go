package webhook

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/event"
	"github.com/panoptes-go/panoptes/internal/plugin"
	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/sink"
	"github.com/panoptes-go/panoptes/internal/sink/sinktest"
	"github.com/panoptes-go/panoptes/internal/testutil/natstest"
)

func noEnv(string) (string, bool) { return "", false }

func TestSample(t *testing.T) {
	sample, err := filepath.Abs("sample.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, sinks := sinktest.LoadSample(t, sample, noEnv)
	s := sinks["hook"].(*Sink)
	if s.poster.URL != "https://hooks.example.net/panoptes" || s.retries != 5 || s.minWait != time.Second || s.maxWait != 30*time.Second || s.poster.Headers["X-Team"] != "noc" {
		t.Errorf("sample sink: %+v", s)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{}, "url: is empty"},
		{Config{URL: "ftp://x"}, "is not an http(s) URL"},
		{Config{URL: "http://u:pw@x"}, "holds credentials"},
		{Config{URL: "ftp://u:secret@x"}, "is not an http(s) URL"},
		{Config{URL: "http//u:secret@x"}, "is not an http(s) URL"},
		{Config{URL: "http://x", Headers: map[string]string{"authorization": "Basic x"}}, "headers: sets Authorization"},
		{Config{URL: "http://x", Retries: -2}, "retries: -2 is out of range"},
		{Config{URL: "http://x", RetryMinWait: plugin.Duration(time.Minute), RetryMaxWait: plugin.Duration(time.Second)}, "retry_max_wait: 1s is below retry_min_wait"},
	} {
		_, err := New(c.cfg, sink.Deps{Name: "h"})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.cfg, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("the error shows the password: %v", err)
		}
	}
}

// receiver answers each POST with the next status of its script (200 when
// the script is done) and keeps what it took.
type receiver struct {
	mu     sync.Mutex
	script []int
	got    []string // event ids taken (2xx)
	posts  int
	auth   string
	bodyOK bool
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.posts++
	rc.auth = r.Header.Get("Authorization")
	if len(rc.script) > 0 {
		code := rc.script[0]
		rc.script = rc.script[1:]
		http.Error(w, "scripted failure", code)
		return
	}
	var e event.Event
	rc.bodyOK = json.Unmarshal(body, &e) == nil && e.ID == r.Header.Get("X-Panoptes-Event-Id") && r.Header.Get("Content-Type") == "application/json"
	rc.got = append(rc.got, e.ID)
}

func (rc *receiver) ids() string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return strings.Join(rc.got, " ")
}

func testEvent(id string) *event.Event {
	return &event.Event{ID: id, Kind: event.KindInterface, Site: "dc1", Object: "ge-0/0/1", OldState: "up", NewState: "down",
		Status: event.StatusProblem, Time: 1000, Resource: &resource.Resource{Site: "dc1", Class: "network", Subclass: "router", Type: "juniper", ID: "r1", Endpoint: "r1"}}
}

// TestRetries: 4xx and 5xx answers are retried with backoff within the
// write and counted; when the retries run out the batch fails and comes
// again from the bus, and the events delivered already are not posted
// twice by this process.
func TestRetries(t *testing.T) {
	rc := &receiver{script: []int{503, 429, 500, 400, 502}}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	const token = "hook-secret-token"
	s, err := New(Config{URL: srv.URL, BearerToken: token, Retries: 2, RetryMinWait: plugin.Duration(10 * time.Millisecond), RetryMaxWait: plugin.Duration(20 * time.Millisecond)}, sink.Deps{Name: "h"})
	if err != nil {
		t.Fatal(err)
	}
	js := natstest.JetStream(t, "")
	c, err := sink.NewFor(config.Sink{Name: "h", BatchSize: 10, BatchTimeout: config.Duration(200 * time.Millisecond), MaxBackoff: config.Duration(100 * time.Millisecond)}, s, sink.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, js) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := js.Stream(ctx, event.Stream); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no events stream")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, id := range []string{"a", "b", "c"} {
		if err := event.Publish(ctx, js, testEvent(id)); err != nil {
			t.Fatal(err)
		}
	}
	for rc.ids() != "a b c" {
		if time.Now().After(deadline) {
			t.Fatalf("delivered %q, want a b c once each", rc.ids())
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	if got := rc.ids(); got != "a b c" {
		t.Errorf("delivered %q, want a b c once each", got)
	}
	// a: 503, 429, 500 (retries exhausted: the batch fails); again: 400,
	// 502, 200; b and c: 200.
	for code, want := range map[string]float64{"503": 1, "429": 1, "500": 1, "400": 1, "502": 1, "200": 3} {
		if got := testutil.ToFloat64(s.m.posts.WithLabelValues(code)); got != want {
			t.Errorf("posts answered %s: %v, want %v", code, got, want)
		}
	}
	if r, f, d := testutil.ToFloat64(s.m.retries), testutil.ToFloat64(s.m.failed), testutil.ToFloat64(s.m.delivered); r != 4 || f != 1 || d != 3 {
		t.Errorf("retries %v, failures %v, delivered %v; want 4, 1, 3", r, f, d)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.auth != "Bearer "+token || !rc.bodyOK {
		t.Errorf("request: auth ok %v, body ok %v", rc.auth == "Bearer "+token, rc.bodyOK)
	}
}

// TestNoAnswer: a receiver that is gone is an error naming the URL and no
// secret.
func TestNoAnswer(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	s, err := New(Config{URL: url, BearerToken: "tok-secret", Retries: -1}, sink.Deps{Name: "h"})
	if err != nil {
		t.Fatal(err)
	}
	data, _ := testEvent("x").Encode()
	err = s.Write(context.Background(), []sink.Record{{Data: data, Event: testEvent("x")}})
	if err == nil || !strings.Contains(err.Error(), url) || strings.Contains(err.Error(), "tok-secret") {
		t.Errorf("write to a closed receiver: %v", err)
	}
	if testutil.ToFloat64(s.m.posts.WithLabelValues("error")) != 1 {
		t.Error("the failed post is not counted")
	}
}
