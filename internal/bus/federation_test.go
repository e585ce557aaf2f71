package bus_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/panoptes-go/panoptes/internal/bus"
	"github.com/panoptes-go/panoptes/internal/inventory"
	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/testutil/tcpproxy"
	"github.com/panoptes-go/panoptes/internal/wire"
)

// edgeRound is what an edge node publishes for one poll of its devices:
// per device an interface set of 2 groups and a status group, each stamped
// with the round.
func edgeRound(round int) *metric.GroupSet {
	set := &metric.GroupSet{}
	for d := 0; d < 3; d++ {
		s := interfaceSet(testResource("site2", fmt.Sprintf("edge-sw%d", d)), 2)
		for _, g := range s.Groups {
			g.CreationTimestamp = float64(round)
		}
		set.Groups = append(set.Groups, s.Groups...)
	}
	return set
}

// TestFederationLeafOutage: an edge site's embedded server (domain
// edge-site2) is a leaf node of the hub (domain hub), whose metrics stream
// sources the edge's stream. The link (a TCP proxy) is cut while the edge
// keeps publishing into its local stream, then restored: the hub's stream
// ends with every message exactly once and in order per subject.
func TestFederationLeafOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("starts embedded NATS servers")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	// The edge reaches the hub only through link, which the hub advertises
	// (else the edge would learn the hub's own address and bypass it). The
	// edge starts first, as at a site whose hub is not reachable yet.
	leafPort := freePort(t)
	link := tcpproxy.Start(t, loopback(leafPort))
	edge, err := bus.Open(ctx, bus.Options{
		DataDir: t.TempDir(), MaxBytes: 64 << 20, Name: "edge",
		Domain: "edge-site2", Leaf: bus.Leaf{Remotes: []string{"nats-leaf://" + link.Addr()}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer edge.Close()
	hub, err := bus.Open(ctx, bus.Options{
		DataDir: t.TempDir(), MaxBytes: 64 << 20, Name: "hub",
		Domain: "hub", LeafListen: loopback(leafPort), LeafAdvertise: link.Addr(), SourceDomains: []string{"edge-site2"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer hub.Close()
	waitFor(t, 10*time.Second, "the leaf connection", func() bool { return edge.LeafConnections() == 1 })

	const perRound = 9
	publish := func(from, to int) {
		t.Helper()
		for r := from; r < to; r++ {
			start := time.Now()
			if n, err := edge.PublishSet(ctx, edgeRound(r)); n != perRound || err != nil {
				t.Fatalf("edge round %d: PublishSet = %d, %v", r, n, err)
			}
			if d := time.Since(start); d > time.Second {
				t.Fatalf("edge round %d took %s", r, d)
			}
		}
	}
	publish(0, 20)
	start := time.Now()
	waitStreamGroups(t, hub, wire.MetricsStream, 20*perRound)
	t.Logf("hub sourced the first %d edge groups in %s", 20*perRound, time.Since(start).Round(time.Millisecond))

	// The edge's inventory stays the edge's: KV writes do not cross the leaf.
	edgeInv, err := inventory.Open(ctx, edge.JetStream(), 1)
	if err != nil {
		t.Fatal(err)
	}
	hubInv, err := inventory.Open(ctx, hub.JetStream(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := edgeInv.Put(ctx, testResource("site2", "edge-sw0")); err != nil {
		t.Fatal(err)
	}

	link.Cut()
	cutAt := time.Now()
	waitFor(t, 10*time.Second, "the edge to see the link down", func() bool { return edge.LeafConnections() == 0 })
	publish(20, 70) // the edge keeps polling: its own stream takes them
	waitStreamGroups(t, edge, wire.MetricsStream, 70*perRound)
	time.Sleep(2 * time.Second) // an outage longer than the leaf's reconnect interval
	if n := streamGroups(t, hub, wire.MetricsStream, nil); n != 20*perRound {
		t.Fatalf("hub stream during the outage holds %d groups, want %d (the link is cut)", n, 20*perRound)
	}
	if h := edge.Health(); h.Degraded() != "" || h.LeafLinks != 0 {
		t.Errorf("edge Health during the outage = %+v; want publishing locally, no leaf link", h)
	}

	if err := link.Restore(); err != nil {
		t.Fatal(err)
	}
	restoredAt := time.Now()
	waitFor(t, 15*time.Second, "the leaf to reconnect", func() bool { return edge.LeafConnections() == 1 })
	publish(70, 80)
	waitStreamGroups(t, hub, wire.MetricsStream, 80*perRound)
	t.Logf("link cut for %s; hub caught up with %d edge groups %s after the link was restored",
		restoredAt.Sub(cutAt).Round(time.Millisecond), 60*perRound, time.Since(restoredAt).Round(time.Millisecond))

	// Exactly once and in order per subject on the hub.
	cons, err := hub.JetStream().OrderedConsumer(ctx, wire.MetricsStream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	last := map[string]float64{} // subject+resource+dimension -> last round
	count := map[float64]int{}
	for read := 0; read < 80*perRound; {
		batch, err := cons.Fetch(500, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		for m := range batch.Messages() {
			for data := range wire.Groups(m.Data()) {
				read++
				g, err := metric.Decode(data)
				if err != nil {
					t.Fatal(err)
				}
				key := m.Subject() + "|" + g.Resource.ID
				for _, d := range g.Dimensions {
					key += "|" + d.Value
				}
				if prev, ok := last[key]; ok && g.CreationTimestamp != prev+1 {
					t.Fatalf("%s: round %v after round %v (out of order or missing)", key, g.CreationTimestamp, prev)
				}
				last[key] = g.CreationTimestamp
				count[g.CreationTimestamp]++
			}
		}
		if ctx.Err() != nil {
			t.Fatalf("read %d hub groups", read)
		}
	}
	for r := 0; r < 80; r++ {
		if count[float64(r)] != perRound {
			t.Errorf("round %d: %d messages on the hub, want %d", r, count[float64(r)], perRound)
		}
	}
	if l, err := hubInv.List(ctx); err != nil || len(l) != 0 {
		t.Errorf("hub inventory = %v, %v; want empty (the edge's KV writes must not cross the leaf)", l, err)
	}
}

// TestFederationIntoPartitions: a partitioned hub (3 partitions) sources
// each edge's one stream into one partition, chosen by the edge's domain.
// While the edges keep publishing the hub changes to 5 partitions: the
// sources move to the new generation where the retired streams stopped, so
// that reading the generations in order gives every edge group once, in
// order.
func TestFederationIntoPartitions(t *testing.T) {
	if testing.Short() {
		t.Skip("starts embedded NATS servers")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	domains := []string{"edge-a", "edge-b"}
	leaf, listen := loopback(freePort(t)), loopback(freePort(t))
	hub, err := bus.Open(ctx, bus.Options{
		DataDir: t.TempDir(), MaxBytes: 256 << 20, Name: "hub", Listen: listen, Partitions: 3,
		Domain: "hub", LeafListen: leaf, SourceDomains: domains, LayoutTick: 100 * time.Millisecond, RetireAfter: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer hub.Close()
	var edges []*bus.Bus
	for _, d := range domains {
		e, err := bus.Open(ctx, bus.Options{
			DataDir: t.TempDir(), MaxBytes: 64 << 20, Name: d, Domain: d, Leaf: bus.Leaf{Remotes: []string{"nats-leaf://" + leaf}},
		})
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		edges = append(edges, e)
	}
	publish := func(from, to int) {
		t.Helper()
		for r := from; r < to; r++ {
			for i, e := range edges {
				set := &metric.GroupSet{}
				for d := range 3 {
					s := interfaceSet(testResource(domains[i], fmt.Sprintf("sw%d", d)), 2)
					for _, g := range s.Groups {
						g.CreationTimestamp = float64(r)
					}
					set.Groups = append(set.Groups, s.Groups...)
				}
				if n, err := e.PublishSet(ctx, set); n != 9 || err != nil {
					t.Fatalf("%s round %d: PublishSet = %d, %v", domains[i], r, n, err)
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	l := hub.Layout()
	waitFor(t, 20*time.Second, "both edges sourced", func() bool {
		ds, err := hub.SourcedDomains(ctx)
		return err == nil && len(ds) == 2
	})
	publish(0, 20)
	for i, d := range domains {
		want := l.Partition(d)
		waitFor(t, 20*time.Second, d+"'s groups on the hub", func() bool {
			return streamGroups(t, hub, l.Stream(want), nil) >= uint64(20*9*(1+btoi(l.Partition(domains[1-i]) == want)))
		})
		for p, name := range l.Streams() {
			for _, m := range readStream(t, hub.JetStream(), name) {
				if m.groups[0].Resource.Site == d && p != want {
					t.Fatalf("%s's groups in partition %d, want %d", d, p, want)
				}
			}
		}
	}

	done := make(chan struct{})
	go func() { defer close(done); publish(20, 80) }()
	switcher, err := bus.Open(ctx, bus.Options{URL: hub.ClientURL(), Name: "switcher", Partitions: 5, LayoutTick: 100 * time.Millisecond, RetireAfter: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	_ = switcher.Close()
	waitFor(t, 20*time.Second, "generation 1 retired", func() bool {
		g, ok := readLayout(t, hub.JetStream()).Find(1)
		return ok && g.Retired()
	})
	<-done
	next := wire.Layout{Gen: 2, N: 5}
	waitFor(t, 30*time.Second, "every edge group on the hub", func() bool {
		n := uint64(0)
		for _, name := range append(l.Streams(), next.Streams()...) {
			n += streamGroups(t, hub, name, nil)
		}
		return n >= 2*80*9
	})
	rounds := map[string][]float64{} // group key → rounds, generations in order
	ids := map[string]bool{}
	dups := 0
	for _, g := range readLayout(t, hub.JetStream()).Gens {
		for _, s := range g.Streams {
			for _, m := range readStream(t, hub.JetStream(), s.Name) {
				if ids[m.id] {
					dups++
					continue
				}
				ids[m.id] = true
				for _, gr := range m.groups {
					key := gr.Resource.Site + "|" + gr.Resource.ID + "|" + gr.Type + "|" + gr.Dimension("interface_name")
					rounds[key] = append(rounds[key], gr.CreationTimestamp)
				}
			}
		}
	}
	if len(rounds) != 2*3*3 {
		t.Fatalf("%d series on the hub, want %d", len(rounds), 2*3*3)
	}
	for key, rs := range rounds {
		for i, r := range rs {
			if r != float64(i) {
				t.Fatalf("%s: rounds %v, want 0..79 once each in order", key, rs)
			}
		}
		if len(rs) != 80 {
			t.Fatalf("%s: %d rounds, want 80", key, len(rs))
		}
	}
	t.Logf("%d messages sourced twice across the change (at least once), none lost or out of order", dups)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
