package alertmanager

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/event"
	"github.com/panoptes-go/panoptes/internal/plugin"
	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/sink"
	"github.com/panoptes-go/panoptes/internal/sink/sinktest"
	"github.com/panoptes-go/panoptes/internal/testutil/amserver"
	"github.com/panoptes-go/panoptes/internal/testutil/natstest"
)

var r1 = &resource.Resource{Site: "dc1", Class: "network", Subclass: "router", Type: "juniper", ID: "r1", Endpoint: "10.0.0.1"}

func bgpEvent(id string, at float64, old, new, status string) *event.Event {
	return &event.Event{ID: id, Kind: event.KindBGPSession, Site: "dc1", Resource: r1, Object: "192.0.2.9",
		OldState: old, NewState: new, Status: status, Time: at,
		Labels: map[string]string{"peer_address": "192.0.2.9", "remote_as": "65009", "bad-label": "dropped"},
		Flaps:  map[string]int{"5m": 1, "1h": 2}}
}

func noEnv(string) (string, bool) { return "", false }

func TestSample(t *testing.T) {
	sample, err := filepath.Abs("sample.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, sinks := sinktest.LoadSample(t, sample, noEnv)
	s := sinks["alerts"].(*Sink)
	if s.poster.URL != "http://alertmanager:9093/api/v2/alerts" || s.resend != 30*time.Second || s.labels["team"] != "noc" {
		t.Errorf("sample sink: %s, resend %s, labels %v", s.poster.URL, s.resend, s.labels)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{}, "url: is empty"},
		{Config{URL: "alertmanager:9093"}, "is not an http(s) URL"},
		{Config{URL: "http://u:secret@am:9093"}, "holds credentials"},
		{Config{URL: "ftp://u:secret@am:9093"}, "is not an http(s) URL"},
		{Config{URL: "http//u:secret@am:9093"}, "is not an http(s) URL"},
		{Config{URL: "http://am:9093", Labels: map[string]string{"bad-name": "x"}}, `labels: "bad-name" is not a label name`},
		{Config{URL: "http://am:9093", ResendInterval: plugin.Duration(time.Millisecond)}, "resend_interval: 1ms is too short"},
	} {
		_, err := New(c.cfg, sink.Deps{Name: "a"})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.cfg, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("the error shows the password: %v", err)
		}
	}
}

// running runs a consumer of s on js until the test ends.
func running(t *testing.T, js jetstream.JetStream, name string, s *Sink) {
	t.Helper()
	c, err := sink.NewFor(config.Sink{Name: name, BatchTimeout: config.Duration(100 * time.Millisecond), MaxBackoff: config.Duration(200 * time.Millisecond)}, s, sink.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, js) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("consumer: %v", err)
		}
	})
}

func eventually(t *testing.T, what string, timeout time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// firing returns the alert Alertmanager holds for r1's session, or nil.
func firing(t *testing.T, am *amserver.Server) *amserver.Alert {
	t.Helper()
	alerts, err := am.Alerts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range alerts {
		if a.Labels["alertname"] == "BGPSessionDown" && a.Labels["object"] == "192.0.2.9" {
			return &alerts[i]
		}
	}
	return nil
}

// TestFiresAndResolves: against a real Alertmanager, a BGP session's
// problem event fires an alert labelled from the event, and the event of
// its return resolves it; an event redelivered out of order changes
// nothing.
func TestFiresAndResolves(t *testing.T) {
	am := amserver.Start(t)
	js := natstest.JetStream(t, "")
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	s, err := New(Config{URL: am.URL, Labels: map[string]string{"team": "noc"}}, sink.Deps{Name: "am", Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	running(t, js, "am", s)

	if err := event.Publish(ctx, js, bgpEvent("e1", 1000, "established", "idle", event.StatusProblem)); err != nil {
		t.Fatal(err)
	}
	var a *amserver.Alert
	eventually(t, "the alert to fire", 10*time.Second, func() bool { a = firing(t, am); return a != nil })
	for k, v := range map[string]string{"site": "dc1", "resource": "r1", "endpoint": "10.0.0.1", "kind": "bgp_session",
		"peer_address": "192.0.2.9", "remote_as": "65009", "team": "noc", "resource_type": "juniper"} {
		if a.Labels[k] != v {
			t.Errorf("label %s = %q, want %q (labels %v)", k, a.Labels[k], v, a.Labels)
		}
	}
	if _, ok := a.Labels["bad-label"]; ok {
		t.Error("an invalid label name was posted")
	}
	if a.Annotations["new_state"] != "idle" || a.Annotations["old_state"] != "established" || a.Annotations["flaps_1h"] != "2" ||
		!strings.Contains(a.Annotations["summary"], "bgp session 192.0.2.9 on r1: established -> idle") {
		t.Errorf("annotations %v", a.Annotations)
	}
	if !a.StartsAt.Equal(time.Unix(1000, 0)) || time.Until(a.EndsAt) < 3*time.Minute {
		t.Errorf("startsAt %s endsAt %s: want the event's time and 4 resend intervals ahead", a.StartsAt, a.EndsAt)
	}

	if err := event.Publish(ctx, js, bgpEvent("e2", 1060, "idle", "established", event.StatusOK)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the alert to resolve", 10*time.Second, func() bool { return firing(t, am) == nil })

	// e1 again (out of order, under another id as a republished copy would
	// not be): older than the resolution, ignored.
	if err := event.Publish(ctx, js, bgpEvent("e1-late", 1000, "established", "idle", event.StatusProblem)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the stale event counted", 10*time.Second, func() bool { return testutil.ToFloat64(s.m.stale) == 1 })
	if firing(t, am) != nil {
		t.Error("a stale problem event fired the alert again")
	}
	if n := testutil.ToFloat64(s.m.posts.WithLabelValues("200")); n != 2 {
		t.Errorf("%v posts answered 200, want 2 (fire, resolve)", n)
	}
}

// TestRetriedAndCounted: an Alertmanager behind a proxy that answers 503,
// 500 and 429 before letting posts through: the event is retried with the
// consumer's backoff, the statuses are counted, and the alert fires once
// Alertmanager gets it.
func TestRetriedAndCounted(t *testing.T) {
	am := amserver.Start(t)
	js := natstest.JetStream(t, "")
	target, _ := url.Parse(am.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	var n atomic.Int32
	failures := []int{http.StatusServiceUnavailable, http.StatusInternalServerError, http.StatusTooManyRequests}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if i := int(n.Add(1)) - 1; i < len(failures) {
			http.Error(w, "not now", failures[i])
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	s, err := New(Config{URL: srv.URL}, sink.Deps{Name: "am"})
	if err != nil {
		t.Fatal(err)
	}
	running(t, js, "am", s)
	if err := event.Publish(context.Background(), js, bgpEvent("e1", 1000, "established", "active", event.StatusProblem)); err != nil {
		t.Fatal(err)
	}
	// The sink counts the 200 once the answer is back, which can be after
	// Alertmanager shows the alert: wait for both (a loaded CI machine
	// looked in between and saw 0).
	eventually(t, "the alert to fire through the failures", 15*time.Second, func() bool {
		return firing(t, am) != nil && testutil.ToFloat64(s.m.posts.WithLabelValues("200")) >= 1
	})
	for _, code := range []string{"503", "500", "429", "200"} {
		if got := testutil.ToFloat64(s.m.posts.WithLabelValues(code)); got != 1 {
			t.Errorf("posts answered %s: %v, want 1", code, got)
		}
	}
}

// TestSharedState: two processes running the same sink share its alerts:
// one fires, the other resolves; each resends what is firing, and a
// resolved alert is resent for a while and then forgotten.
func TestSharedState(t *testing.T) {
	js := natstest.JetStream(t, "")
	ctx := context.Background()
	var bodies atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { bodies.Add(1) }))
	t.Cleanup(srv.Close)
	open := func() *Sink {
		s, err := New(Config{URL: srv.URL, ResendInterval: plugin.Duration(time.Second)}, sink.Deps{Name: "am"})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.UseBus(ctx, js, 1); err != nil {
			t.Fatal(err)
		}
		return s
	}
	a, b := open(), open()
	write := func(s *Sink, e *event.Event) {
		t.Helper()
		if err := s.Write(ctx, []sink.Record{{Event: e}}); err != nil {
			t.Fatal(err)
		}
	}
	write(a, bgpEvent("e1", 1000, "established", "idle", event.StatusProblem))
	write(a, bgpEvent("e1", 1000, "established", "idle", event.StatusProblem)) // a redelivery: posted again, same alert
	entries := func(s *Sink) (fire, resolved int) {
		keys, err := s.kv.ListKeys(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for k := range keys.Keys() {
			e, err := s.kv.Get(ctx, k)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(e.Value()), `"ends_at":"0001-01-01T00:00:00Z"`) {
				fire++
			} else {
				resolved++
			}
		}
		return fire, resolved
	}
	if f, r := entries(b); f != 1 || r != 0 {
		t.Fatalf("after the problem: %d firing, %d resolved entries; want 1, 0", f, r)
	}
	before := bodies.Load()
	if err := b.Resend(ctx); err != nil || bodies.Load() != before+1 {
		t.Errorf("the other process's resend: %v, %d posts", err, bodies.Load()-before)
	}
	write(b, bgpEvent("e2", 1060, "idle", "established", event.StatusOK))
	if f, r := entries(a); f != 0 || r != 1 {
		t.Fatalf("after the return: %d firing, %d resolved; want 0, 1", f, r)
	}
	write(a, bgpEvent("e3", 1070, "", "established", event.StatusOK)) // no alert: nothing to post
	a.now = func() time.Time { return time.Now().Add(time.Hour) }
	before = bodies.Load()
	if err := a.Resend(ctx); err != nil || bodies.Load() != before {
		t.Errorf("resend after the resolution aged: %v, %d posts; want none", err, bodies.Load()-before)
	}
	if f, r := entries(a); f != 0 || r != 0 {
		t.Errorf("an old resolution is kept: %d firing, %d resolved", f, r)
	}
}

func TestAlertName(t *testing.T) {
	for kind, want := range map[string]string{event.KindDevice: "DeviceUnreachable", event.KindLBPoolMember: "LBPoolMemberDown", "disk_space": "DiskSpaceProblem"} {
		if got := alertName(kind); got != want {
			t.Errorf("alertName(%s) = %s, want %s", kind, got, want)
		}
	}
}
