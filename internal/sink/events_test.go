package sink

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/event"
	"github.com/panoptes-go/panoptes/internal/plugin"
	"github.com/panoptes-go/panoptes/internal/resource"
)

// eventSink records the events it is given; it fails the first failFirst
// writes and notes UseBus, which returns useBusErrs' errors first, one a
// call.
type eventSink struct {
	mu         sync.Mutex
	ids        []string
	failFirst  int
	writes     int
	bus        jetstream.JetStream
	replicas   int
	useBusErrs []error
	useBusRuns int
}

func (s *eventSink) ReadsEvents() {}

func (s *eventSink) UseBus(_ context.Context, js jetstream.JetStream, replicas int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.useBusRuns++; len(s.useBusErrs) > 0 {
		err := s.useBusErrs[0]
		s.useBusErrs = s.useBusErrs[1:]
		return err
	}
	s.bus, s.replicas = js, replicas
	return nil
}

func (s *eventSink) Write(_ context.Context, batch []Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes++
	if s.writes <= s.failFirst {
		return errors.New("receiver down")
	}
	for _, r := range batch {
		if r.Event == nil || r.Group != nil {
			return fmt.Errorf("record without its event: %+v", r)
		}
		s.ids = append(s.ids, r.Event.ID)
	}
	return nil
}

func (s *eventSink) got() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.ids...)
}

func testEvent(i int, kind string) *event.Event {
	return &event.Event{ID: fmt.Sprintf("e%d", i), Kind: kind, Site: "site1", Object: "192.0.2.1",
		Resource: &resource.Resource{Site: "site1", Class: "network", Subclass: "router", Type: "juniper", ID: "r1", Endpoint: "r1"},
		OldState: "established", NewState: "idle", Status: event.StatusProblem, Time: 1}
}

// TestEventSink: a sink that reads events gets them from the events
// stream (created by the sink when no app made it), decoded, filtered by
// its subjects, retried after a failed write; an undecodable one is a dead
// letter; the bus is handed to it before it runs.
func TestEventSink(t *testing.T) {
	b := openBus(t, t.TempDir())
	js := b.JetStream()
	s := &eventSink{failFirst: 1}
	c, err := NewFor(config.Sink{Name: "alerts", Subjects: []string{"panoptes.events.*.bgp_session"}}, s, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	c.pace.MaxWait = 100 * time.Millisecond
	c.pace.BackoffMin, c.pace.BackoffMax = 20*time.Millisecond, 100*time.Millisecond
	stop := running(t, c, js)
	eventually(t, "the events stream", func() bool {
		_, err := js.Stream(context.Background(), event.Stream)
		return err == nil
	})
	ctx := context.Background()
	for i := 1; i <= 3; i++ {
		if err := event.Publish(ctx, js, testEvent(i, event.KindBGPSession)); err != nil {
			t.Fatal(err)
		}
	}
	if err := event.Publish(ctx, js, testEvent(9, event.KindInterface)); err != nil { // not in the subjects
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "panoptes.events.site1.bgp_session", []byte(`{"kind":"bgp_session"}`)); err != nil {
		t.Fatal(err)
	}
	if err := event.Publish(ctx, js, testEvent(3, event.KindBGPSession)); err != nil { // a duplicate, dropped by the stream
		t.Fatal(err)
	}
	eventually(t, "three events written", func() bool { return len(s.got()) >= 3 })
	time.Sleep(300 * time.Millisecond)
	stop()
	if got := strings.Join(s.got(), " "); got != "e1 e2 e3" {
		t.Errorf("events %q, want e1 e2 e3 once each", got)
	}
	if s.bus == nil {
		t.Error("UseBus was not called")
	}
	dl, err := js.Stream(ctx, DeadLetterStream)
	if err != nil {
		t.Fatal(err)
	}
	if info, _ := dl.Info(ctx); info.State.Msgs != 1 {
		t.Errorf("%d dead letters, want the undecodable event", info.State.Msgs)
	}
}

func TestEventSinkConfig(t *testing.T) {
	s := &eventSink{}
	for _, c := range []struct {
		cfg  config.Sink
		want string
	}{
		{config.Sink{Name: "a", Subjects: []string{"panoptes.metrics.>"}}, `subjects[0]: "panoptes.metrics.>" is not an events subject`},
		{config.Sink{Name: "a", Source: map[string]plugin.Block{"kafka": {}}}, "source: a sink of events reads the events stream"},
	} {
		if _, err := NewFor(c.cfg, s, Deps{}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.cfg, err, c.want)
		}
	}
	if _, err := NewFor(config.Sink{Name: "m", Subjects: []string{"panoptes.events.>"}}, &recordSink{}, Deps{}); err == nil ||
		!strings.Contains(err.Error(), "is not a metrics subject") {
		t.Errorf("a metrics sink on events: %v", err)
	}
}

// fromNowSink is a recordSink whose consumer starts at new messages.
type fromNowSink struct{ recordSink }

func (*fromNowSink) FromNow() {}

// TestFromNow: a FromNow sink's consumer, first created after three
// groups were published, gets only the two published later; run again
// after a stop it goes on from where it stopped.
func TestFromNow(t *testing.T) {
	b := openBus(t, t.TempDir())
	publish(t, b, 0, 3)
	s := &fromNowSink{recordSink: recordSink{reject: map[string]bool{}}}
	c, err := NewFor(config.Sink{Name: "app"}, s, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	c.pace.MaxWait = 50 * time.Millisecond
	stop := running(t, c, b.JetStream())
	eventually(t, "the consumer", func() bool {
		_, err := b.JetStream().Consumer(context.Background(), "PANOPTES_METRICS", DurableName("app"))
		return err == nil
	})
	publish(t, b, 3, 5)
	eventually(t, "two groups", func() bool { return s.records() >= 2 })
	stop()
	publish(t, b, 5, 6)
	c2, err := NewFor(config.Sink{Name: "app"}, s, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	c2.pace.MaxWait = 50 * time.Millisecond
	stop = running(t, c2, b.JetStream())
	eventually(t, "the group published while stopped", func() bool { return s.records() >= 3 })
	stop()
	batches, _ := s.snapshot()
	var seqs []string
	for _, b := range batches {
		seqs = append(seqs, b...)
	}
	if got := strings.Join(seqs, " "); got != "3 4 5" {
		t.Errorf("groups %q, want 3 4 5", got)
	}
}

// TestBusUserReplicas: a BusUser's bucket gets the configured replicas
// (bus.replicas) when set, whether or not the events stream exists yet,
// and so does the events stream the consumer makes when it does not;
// unset (a consumer built in code), the metrics stream's. It took the
// events stream's before, and 1 when that did not exist yet: an alerts
// bucket on one server of three, lost with it (TestAppsFailover in CI).
func TestBusUserReplicas(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name         string
		configured   int
		eventsStream bool
		want         int
		runErr       string // the single test server refuses 3 replicas
	}{
		{"configured, no events stream yet", 3, false, 3, "events stream PANOPTES_EVENTS: nats: API error: code=500 err_code=10074"},
		{"configured, events stream of 1 replica", 3, true, 3, ""},
		{"unset", 0, true, 1, ""},
	} {
		b := openBus(t, t.TempDir())
		js := b.JetStream()
		if tc.eventsStream {
			if err := event.EnsureStream(ctx, js, 1); err != nil {
				t.Fatal(err)
			}
		}
		s := &eventSink{}
		c, err := NewFor(config.Sink{Name: "alerts"}, s, Deps{Replicas: tc.configured})
		if err != nil {
			t.Fatal(err)
		}
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- c.Run(runCtx, js) }()
		eventually(t, "UseBus", func() bool {
			s.mu.Lock()
			defer s.mu.Unlock()
			return s.bus != nil
		})
		cancel()
		err = <-done
		if s.replicas != tc.want {
			t.Errorf("%s: UseBus got %d replicas, want %d", tc.name, s.replicas, tc.want)
		}
		switch {
		case tc.runErr == "" && err != nil:
			t.Errorf("%s: Run: %v", tc.name, err)
		case tc.runErr != "" && (err == nil || !strings.Contains(err.Error(), tc.runErr)):
			t.Errorf("%s: Run: %v, want the events stream made with 3 replicas refused (%s)", tc.name, err, tc.runErr)
		}
	}
}

// TestBusUserRetried: a sink whose state on the bus cannot be set up yet
// (requests unanswered, or refused for want of peers, while a JetStream
// cluster forms) is retried until it can, then reads; one the server
// refuses for good stops the sink with that error. A sink stopped at its
// first timeout left a cluster started together without alerts
// (TestAppsFailover in CI, 2026-12-07).
func TestBusUserRetried(t *testing.T) {
	ctx := context.Background()
	b := openBus(t, t.TempDir())
	js := b.JetStream()
	noPeers := &jetstream.APIError{Code: 400, ErrorCode: 10005, Description: "insufficient resources"}
	s := &eventSink{useBusErrs: []error{context.DeadlineExceeded, fmt.Errorf("alerts bucket: %w", noPeers)}}
	c, err := NewFor(config.Sink{Name: "alerts"}, s, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	c.pace.MaxWait = 50 * time.Millisecond
	c.pace.BackoffMin, c.pace.BackoffMax = 10*time.Millisecond, 50*time.Millisecond
	stop := running(t, c, js)
	eventually(t, "the events stream", func() bool {
		_, err := js.Stream(ctx, event.Stream)
		return err == nil
	})
	if err := event.Publish(ctx, js, testEvent(1, event.KindBGPSession)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the event written", func() bool { return len(s.got()) == 1 })
	stop()
	if s.useBusRuns != 3 {
		t.Errorf("UseBus called %d times, want 3 (two failures retried)", s.useBusRuns)
	}

	refusedForGood := &jetstream.APIError{Code: 400, ErrorCode: 10058, Description: "stream name already in use with a different configuration"}
	s = &eventSink{useBusErrs: []error{refusedForGood}}
	c, err = NewFor(config.Sink{Name: "alerts"}, s, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, js) }()
	select {
	case err := <-done:
		if !errors.Is(err, refusedForGood) {
			t.Errorf("Run: %v, want the refusal", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not stop on a refusal waiting cannot fix")
	}
	if s.useBusRuns != 1 {
		t.Errorf("UseBus called %d times after a refusal, want 1", s.useBusRuns)
	}
}
