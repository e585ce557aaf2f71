package tracker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/panoptes-go/panoptes/internal/event"
	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/testutil/natstest"
)

func router() *resource.Resource {
	return &resource.Resource{Site: "dc1", Class: "network", Subclass: "router", Type: "juniper", ID: "core1", Endpoint: "10.0.0.1"}
}

func open(t *testing.T, js jetstream.JetStream) *Tracker {
	t.Helper()
	tr, err := Open(context.Background(), js, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func bgp(at float64, states ...string) Batch {
	b := Batch{Kind: event.KindBGPSession, Resource: router(), At: at, AnnounceInitial: true}
	for i, s := range states {
		b.Objects = append(b.Objects, Observation{Object: fmt.Sprintf("192.0.2.%d", i+1), State: s, Problem: s != "established",
			Labels: map[string]string{"peer_address": fmt.Sprintf("192.0.2.%d", i+1)}})
	}
	return b
}

// streamEvents reads every event on the events stream.
func streamEvents(t *testing.T, js jetstream.JetStream) []*event.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, event.Stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []*event.Event
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		e, err := event.Decode(m.Data)
		if err != nil {
			t.Fatalf("message %d: %v", seq, err)
		}
		if m.Subject != "panoptes.events.dc1."+e.Kind {
			t.Errorf("event on %s", m.Subject)
		}
		out = append(out, e)
	}
	return out
}

func states(es []*event.Event) []string {
	var out []string
	for _, e := range es {
		out = append(out, fmt.Sprintf("%s %s→%s %s", e.Object, e.OldState, e.NewState, e.Status))
	}
	return out
}

func eq(t *testing.T, what string, got []*event.Event, want ...string) {
	t.Helper()
	g := states(got)
	if fmt.Sprint(g) != fmt.Sprint(want) {
		t.Errorf("%s: events %q, want %q", what, g, want)
	}
}

func TestChanges(t *testing.T) {
	js := natstest.JetStream(t, "")
	tr := open(t, js)
	ctx := context.Background()
	apply := func(b Batch) []*event.Event {
		t.Helper()
		es, err := tr.Apply(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		return es
	}
	eq(t, "first poll: a session down is announced, an established one is not",
		apply(bgp(100, "established", "active")), "192.0.2.2 →active problem")
	eq(t, "same states", apply(bgp(160, "established", "active")))
	eq(t, "a flap", apply(bgp(220, "idle", "established")),
		"192.0.2.1 established→idle problem", "192.0.2.2 active→established ok")
	eq(t, "an observation older than the last change is ignored", apply(bgp(200, "established", "active")))
	es := apply(bgp(280, "established", "established"))
	eq(t, "back", es, "192.0.2.1 idle→established ok")
	es = apply(bgp(300, "connect", "established"))
	if es[0].Flaps["5m"] != 2 || es[0].Flaps["1h"] != 2 {
		t.Errorf("flaps %v, want 2 in 5m and 1h", es[0].Flaps)
	}
	es = apply(bgp(700, "established", "established"))
	if es[0].Flaps["5m"] != 0 || es[0].Flaps["1h"] != 2 {
		t.Errorf("flaps %v, want 0 in 5m, 2 in 1h", es[0].Flaps)
	}
	if es[0].Labels["peer_address"] != "192.0.2.1" || es[0].Resource.ID != "core1" || es[0].Time != 700 {
		t.Errorf("event %+v", es[0])
	}

	// Complete batches: links appear (announced) and go (removed).
	links := func(at float64, names ...string) Batch {
		b := Batch{Kind: event.KindLink, Resource: router(), At: at, Complete: true, AnnounceAdded: true,
			Gone: Observation{State: "removed", Problem: true}}
		for _, n := range names {
			b.Objects = append(b.Objects, Observation{Object: n, State: "up"})
		}
		return b
	}
	eq(t, "links added", apply(links(100, "a", "b")), "a →up ok", "b →up ok")
	eq(t, "link removed", apply(links(200, "a")), "b up→removed problem")
	eq(t, "still removed", apply(links(300, "a")))
	eq(t, "back", apply(links(400, "a", "b")), "b removed→up ok")

	all := streamEvents(t, js)
	if len(all) != 10 {
		t.Errorf("%d events on the stream, want 10: %q", len(all), states(all))
	}
	ids := map[string]bool{}
	for _, e := range all {
		if ids[e.ID] {
			t.Errorf("duplicate id %s", e.ID)
		}
		ids[e.ID] = true
	}
}

// TestRace: nodes applying the same observations at once record and
// publish each change once.
func TestRace(t *testing.T) {
	js := natstest.JetStream(t, "")
	nodes := []*Tracker{open(t, js), open(t, js), open(t, js), open(t, js)}
	ctx := context.Background()
	var total atomic.Int64
	seq := []Batch{bgp(100, "established"), bgp(110, "idle"), bgp(120, "established"), bgp(130, "active"), bgp(140, "established")}
	for _, b := range seq {
		var wg sync.WaitGroup
		for _, n := range nodes {
			for k := 0; k < 3; k++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					es, err := n.Apply(ctx, b)
					if err != nil {
						t.Error(err)
					}
					total.Add(int64(len(es)))
				}()
			}
		}
		wg.Wait()
	}
	if total.Load() != 4 {
		t.Errorf("%d events returned in all, want 4", total.Load())
	}
	eq(t, "stream", streamEvents(t, js), "192.0.2.1 established→idle problem", "192.0.2.1 idle→established ok",
		"192.0.2.1 established→active problem", "192.0.2.1 active→established ok")
}

// failingJS fails every publish.
type failingJS struct {
	jetstream.JetStream
	fail atomic.Bool
}

func (f *failingJS) PublishMsg(ctx context.Context, m *nats.Msg, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	if f.fail.Load() {
		return nil, errors.New("simulated: the node died before publishing")
	}
	return f.JetStream.PublishMsg(ctx, m, opts...)
}

// TestOutbox: a change recorded but not published (the node died) is
// published by the next node that applies the entry, once; published but
// not cleared, it is published again under the same id and stored once.
func TestOutbox(t *testing.T) {
	js := natstest.JetStream(t, "")
	ctx := context.Background()
	dying := &failingJS{JetStream: js}
	a, b := open(t, dying), open(t, js)
	if _, err := a.Apply(ctx, bgp(100, "established")); err != nil {
		t.Fatal(err)
	}
	dying.fail.Store(true)
	if _, err := a.Apply(ctx, bgp(110, "idle")); err == nil {
		t.Fatal("apply whose publish failed returned no error")
	}
	if n := len(streamEvents(t, js)); n != 0 {
		t.Fatalf("%d events before anyone published", n)
	}
	// The redelivered message goes to b: no new change, the pending event goes out.
	es, err := b.Apply(ctx, bgp(110, "idle"))
	if err != nil || len(es) != 0 {
		t.Fatalf("redelivery: %v %v", states(es), err)
	}
	eq(t, "after redelivery", streamEvents(t, js), "192.0.2.1 established→idle problem")
	if rec, _, _ := b.load(ctx, Key(event.KindBGPSession, router())); len(rec.Pending) != 0 {
		t.Errorf("pending after publish: %v", states(rec.Pending))
	}

	// Published, then the node died before clearing: the entry still holds it.
	e := streamEvents(t, js)[0]
	key := Key(event.KindBGPSession, router())
	rec, rev, _ := b.load(ctx, key)
	rec.Pending = []*event.Event{e}
	data, _ := json.Marshal(rec)
	if _, err := js.Conn().Request("$KV."+Bucket+"."+key, data, time.Second); err != nil {
		t.Fatal(err)
	}
	_ = rev
	if _, err := b.Apply(ctx, bgp(120, "idle")); err != nil {
		t.Fatal(err)
	}
	eq(t, "republished", streamEvents(t, js), "192.0.2.1 established→idle problem")
}

// TestDamagedEntry: an entry that does not decode starts again.
func TestDamagedEntry(t *testing.T) {
	js := natstest.JetStream(t, "")
	tr := open(t, js)
	ctx := context.Background()
	if _, err := tr.kv.Put(ctx, Key(event.KindBGPSession, router()), []byte("{not json")); err != nil {
		t.Fatal(err)
	}
	es, err := tr.Apply(ctx, bgp(100, "active"))
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "after a damaged entry", es, "192.0.2.1 →active problem")
}
