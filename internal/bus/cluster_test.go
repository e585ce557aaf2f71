package bus_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/panoptes-go/panoptes/internal/bus"
	"github.com/panoptes-go/panoptes/internal/inventory"
	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/wire"
)

// clusterNode is one panoptes process's bus in a 3-server embedded cluster.
type clusterNode struct {
	opts bus.Options
	b    *bus.Bus
}

// startCluster opens three embedded servers routed on loopback, each with
// its own store, and an R3 metrics stream.
func startCluster(t testing.TB) []*clusterNode {
	t.Helper()
	ports := []int{freePort(t), freePort(t), freePort(t)}
	var routes []string
	for _, p := range ports {
		routes = append(routes, "nats-route://"+loopback(p))
	}
	nodes := make([]*clusterNode, 3)
	errs := make(chan error, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	for i := range nodes {
		nodes[i] = &clusterNode{opts: bus.Options{
			DataDir: t.TempDir(), Replicas: 3, MaxBytes: 64 << 20, Name: fmt.Sprintf("node%d", i),
			Cluster:        bus.Cluster{Name: "panoptes-test", Listen: loopback(ports[i]), Routes: routes},
			ConnectRetry:   40 * time.Second,
			PublishTimeout: 500 * time.Millisecond,
		}}
		go func() {
			var err error
			nodes[i].b, err = bus.Open(ctx, nodes[i].opts)
			errs <- err
		}()
	}
	for range nodes {
		if err := <-errs; err != nil {
			t.Fatalf("open cluster node: %v", err)
		}
	}
	t.Cleanup(func() {
		for _, n := range nodes {
			if n.b != nil {
				_ = n.b.Close()
			}
		}
	})
	return nodes
}

// TestClusterServerRestart: three embedded servers form a JetStream cluster
// with an R3 stream and KV bucket; the stream leader's server is shut down
// while another node publishes, then restarted. Publishing never stops and
// every message is in the stream exactly once.
func TestClusterServerRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-server NATS cluster")
	}
	start := time.Now()
	nodes := startCluster(t)
	t.Logf("3-server cluster with an R3 stream up in %s", time.Since(start).Round(time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	info, err := nodes[0].b.JetStream().Stream(ctx, wire.MetricsStream)
	if err != nil {
		t.Fatal(err)
	}
	ci := info.CachedInfo()
	if ci.Config.Replicas != 3 || ci.Cluster == nil || len(ci.Cluster.Replicas) != 2 {
		t.Fatalf("stream replicas %d, cluster %+v; want R3 with 2 followers", ci.Config.Replicas, ci.Cluster)
	}
	inv, err := inventory.Open(ctx, nodes[0].b.JetStream(), nodes[0].b.Replicas())
	if err != nil {
		t.Fatal(err)
	}
	if err := inv.Put(ctx, testResource("site1", "sw1")); err != nil {
		t.Fatal(err)
	}
	kvs, err := nodes[1].b.JetStream().KeyValue(ctx, "panoptes_inventory")
	if err != nil {
		t.Fatalf("inventory bucket from another node: %v", err)
	}
	if st, err := kvs.Status(ctx); err != nil || st.(*jetstream.KeyValueBucketStatus).StreamInfo().Config.Replicas != 3 {
		t.Fatalf("inventory bucket status %v, %v; want R3", st, err)
	}

	// The victim is the stream leader's node; another node publishes.
	victim, pub := -1, -1
	for i, n := range nodes {
		if n.b.Conn().ConnectedServerName() == ci.Cluster.Leader {
			victim = i
		}
	}
	if victim < 0 {
		t.Fatalf("stream leader %q is none of the nodes", ci.Cluster.Leader)
	}
	pub = (victim + 1) % 3
	p := nodes[pub].b

	var (
		sets, maxBuffered atomic.Int64
		slowest           atomic.Int64
		stop              = make(chan struct{})
		wg                sync.WaitGroup
		pubErr            error
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for k := 0; ; k++ {
			select {
			case <-stop:
				return
			default:
			}
			set := interfaceSet(testResource("site1", fmt.Sprintf("sw%d", k)), 4) // 5 groups
			t0 := time.Now()
			n, err := p.PublishSet(ctx, set)
			if d := int64(time.Since(t0)); d > slowest.Load() {
				slowest.Store(d)
			}
			if err != nil || n != 5 {
				pubErr = fmt.Errorf("set %d: PublishSet = %d, %v", k, n, err)
				return
			}
			sets.Add(1)
			if b := int64(p.Health().Buffered); b > maxBuffered.Load() {
				maxBuffered.Store(b)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()

	time.Sleep(500 * time.Millisecond)
	killedAt := time.Now()
	if err := nodes[victim].b.Close(); err != nil {
		t.Logf("close victim: %v", err)
	}
	nodes[victim].b = nil
	t.Logf("stopped the stream leader's server (%s) after %d sets", ci.Cluster.Leader, sets.Load())
	time.Sleep(3 * time.Second)
	duringOutage := sets.Load()

	octx, ocancel := context.WithTimeout(ctx, 45*time.Second)
	nodes[victim].b, err = bus.Open(octx, nodes[victim].opts)
	ocancel()
	if err != nil {
		t.Fatalf("restart victim: %v", err)
	}
	t.Logf("victim back after %s", time.Since(killedAt).Round(time.Millisecond))
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()
	if pubErr != nil {
		t.Fatal(pubErr)
	}
	total := sets.Load() * 5
	waitFor(t, 30*time.Second, "the publisher's buffer to drain", func() bool { return p.Health().Buffered == 0 })
	t.Logf("published %d sets (%d groups), %d during the outage window; slowest PublishSet %s; peak buffer %d messages",
		sets.Load(), total, duringOutage, time.Duration(slowest.Load()).Round(time.Millisecond), maxBuffered.Load())
	if time.Duration(slowest.Load()) > 2*time.Second {
		t.Errorf("a PublishSet took %s; the scheduler must not block that long", time.Duration(slowest.Load()))
	}
	if h := p.Health(); h.Dropped != 0 {
		t.Errorf("%d messages dropped", h.Dropped)
	}

	// The restarted server's replica catches up; every message is in the
	// stream exactly once.
	waitStreamGroups(t, p, wire.MetricsStream, uint64(total))
	waitFor(t, 30*time.Second, "every replica to be current", func() bool {
		s, err := p.JetStream().Stream(ctx, wire.MetricsStream)
		if err != nil || s.CachedInfo().Cluster == nil || len(s.CachedInfo().Cluster.Replicas) != 2 {
			return false
		}
		for _, r := range s.CachedInfo().Cluster.Replicas {
			if !r.Current || r.Offline {
				return false
			}
		}
		return true
	})
	seen := readAllGroups(t, p, wire.MetricsStream, int(total))
	for k := 0; k < int(sets.Load()); k++ {
		for _, typ := range []string{"interface", "status"} {
			want := 4
			if typ == "status" {
				want = 1
			}
			if got := seen[fmt.Sprintf("sw%d/%s", k, typ)]; got != want {
				t.Fatalf("set %d: %d %s groups in the stream, want %d", k, got, typ, want)
			}
		}
	}
}

// readAllGroups reads n groups of stream through an ordered consumer and
// counts them per "resource id/type".
func readAllGroups(t *testing.T, b *bus.Bus, stream string, n int) map[string]int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cons, err := b.JetStream().OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for i := 0; i < n; {
		batch, err := cons.Fetch(min(n-i, 500), jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		for m := range batch.Messages() {
			for data := range wire.Groups(m.Data()) {
				g, err := metric.Decode(data)
				if err != nil {
					t.Fatal(err)
				}
				seen[g.Resource.ID+"/"+g.Type]++
				i++
			}
		}
		if ctx.Err() != nil {
			t.Fatalf("read %d of %d groups", i, n)
		}
	}
	return seen
}
