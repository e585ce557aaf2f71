package topology

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/bus"
	"github.com/panoptes-go/panoptes/internal/event"
	"github.com/panoptes-go/panoptes/internal/inventory"
	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/sink"
	"github.com/panoptes-go/panoptes/internal/testutil/natstest"
)

// TestRun: the app as a node runs it: the inventory from its bucket, the
// neighbour groups from the metrics stream (its consumer starting at what
// is published once it runs), the graph on the mounted handler, and the
// new link as an event on the events stream.
func TestRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded NATS server")
	}
	ctx := context.Background()
	b, err := bus.Open(ctx, bus.Options{DataDir: t.TempDir(), MaxBytes: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	js := b.JetStream()
	inv, err := inventory.Open(ctx, js, 1)
	if err != nil {
		t.Fatal(err)
	}
	sw1, sw2 := res("sw1", "10.0.0.1"), res("sw2", "10.0.0.2")
	if err := inv.Put(ctx, sw1); err != nil {
		t.Fatal(err)
	}
	if err := inv.Put(ctx, sw2); err != nil {
		t.Fatal(err)
	}
	old := &metric.GroupSet{Groups: []*metric.Group{nb(sw1, 1, "Gi0/9", "neighbor_name=old-history", "neighbor_chassis_id=00:00:5e:00:53:99", "neighbor_chassis_id_type=MAC_ADDRESS")}}
	if _, err := b.PublishSet(ctx, old); err != nil {
		t.Fatal(err)
	}

	mux := http.NewServeMux()
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- Run(runCtx, js, RunOptions{Name: "topology", Replicas: 1, Handle: mux.Handle, ReconcileInterval: 100 * time.Millisecond})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	eventually(t, "the app's consumer", func() bool {
		_, err := js.Consumer(ctx, "PANOPTES_METRICS", sink.DurableName("app_topology"))
		return err == nil
	})
	now := float64(time.Now().Unix())
	set := &metric.GroupSet{Groups: []*metric.Group{
		nb(sw1, now, "Gi0/1", "neighbor_name=sw2", "neighbor_port=Gi0/2"),
		nb(sw2, now, "Gi0/2", "neighbor_name=sw1", "neighbor_port=Gi0/1"),
	}}
	if _, err := b.PublishSet(ctx, set); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	var g Graph
	eventually(t, "the link on GET /api/v1/topology", func() bool {
		resp, err := http.Get(srv.URL + "/api/v1/topology")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		g = Graph{}
		return json.Unmarshal(body, &g) == nil && len(g.Links) == 1
	})
	if l := g.Links[0]; l.A.Device != "sw1" || l.A.Port != "Gi0/1" || l.B.Device != "sw2" || l.B.Port != "Gi0/2" || len(g.Candidates) != 0 {
		t.Errorf("graph %+v: want sw1:Gi0/1 -- sw2:Gi0/2 and no candidate (the group published before the app ran is not read)", g)
	}
	resp, err := http.Get(srv.URL + "/api/v1/topology.dot")
	if err != nil {
		t.Fatal(err)
	}
	dot, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(dot), `"sw1"`) || !strings.HasPrefix(string(dot), "graph") {
		t.Errorf("DOT:\n%s", dot)
	}
	var e *event.Event
	eventually(t, "the link added event", func() bool {
		s, err := js.Stream(ctx, event.Stream)
		if err != nil {
			return false
		}
		m, err := s.GetLastMsgForSubject(ctx, "panoptes.events.dc1.link")
		if err != nil {
			return false
		}
		e, err = event.Decode(m.Data)
		return err == nil
	})
	if e.OldState != "" || e.NewState != "up" || e.Status != event.StatusOK || e.Labels["a_device"] != "sw1" { // added
		t.Errorf("event %+v", e)
	}
}

// TestLease: one node holds the reconciler lease and renews it; another
// takes it only once it expired, and the first then knows it lost it.
func TestLease(t *testing.T) {
	js := natstest.JetStream(t, "")
	st, err := openStore(context.Background(), js, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	clk := &clock{t: time.Unix(1764057600, 0)}
	a, b := newLease(st.kv, time.Minute, clk.Now), newLease(st.kv, time.Minute, clk.Now)
	step := func(what string, l *lease, want bool) {
		t.Helper()
		if got, err := l.acquire(ctx); err != nil || got != want {
			t.Fatalf("%s: acquire = %v, %v; want %v", what, got, err, want)
		}
	}
	step("a takes it", a, true)
	step("b while a holds it", b, false)
	clk.Set(clk.Now().Add(50 * time.Second))
	step("a renews", a, true)
	clk.Set(clk.Now().Add(50 * time.Second))
	step("b before a's renewal expired", b, false)
	clk.Set(clk.Now().Add(20 * time.Second))
	step("b after it expired", b, true)
	step("a after b took it", a, false)
}
