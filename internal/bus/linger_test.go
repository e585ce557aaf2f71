package bus_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/panoptes-go/panoptes/internal/bus"
	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/wire"
)

// lightSet is what a light check produces: an uptime group and a status group.
func lightSet(id string, seq int) *metric.GroupSet {
	r := testResource("s", id)
	now := 1535497112.075 + float64(seq)
	return &metric.GroupSet{Groups: []*metric.Group{
		{Resource: r, Type: "uptime", Interval: 1, CreationTimestamp: now, SchemaVersion: metric.SchemaVersion,
			Dimensions: []metric.Dimension{{Name: "seq", Value: fmt.Sprint(seq)}},
			Metrics:    []metric.Metric{{Name: "uptime", Value: metric.Uint(uint64(seq)), Type: metric.Gauge, Timestamp: now}}},
		{Resource: r, Type: "status", Interval: 1, CreationTimestamp: now, SchemaVersion: metric.SchemaVersion,
			Dimensions: []metric.Dimension{{Name: "seq", Value: fmt.Sprint(seq)}},
			Metrics:    []metric.Metric{{Name: "polling_status", Value: metric.Int(metric.StatusSuccess), Type: metric.Gauge, Timestamp: now}}},
	}}
}

// TestLingerCoalesces: light checks published concurrently become few bus
// messages; every group is stored exactly once, every caller is told its
// groups were published, and a large set still goes alone.
func TestLingerCoalesces(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded NATS server")
	}
	reg := prometheus.NewRegistry()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b, err := bus.Open(ctx, bus.Options{DataDir: t.TempDir(), Linger: 20 * time.Millisecond, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	const checks = 2000
	var wg sync.WaitGroup
	errs := make(chan error, checks)
	start := time.Now()
	for i := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if n, err := b.PublishSet(ctx, lightSet(fmt.Sprintf("sw%d", i%50), i)); n != 2 || err != nil {
				errs <- fmt.Errorf("check %d: PublishSet = %d, %v; want 2, nil", i, n, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	took := time.Since(start)
	if n, err := b.PublishSet(ctx, interfaceSet(testResource("s", "big"), 48)); n != 49 || err != nil {
		t.Fatalf("interface set: %d, %v", n, err)
	}
	// On a loaded machine an ack can come after the publish timeout: that
	// batch went to the buffer, which publishes it shortly.
	if h := b.Health(); h.Buffered > 0 {
		t.Logf("%d messages buffered after the publishes (acks slower than the publish timeout)", h.Buffered)
		waitFor(t, 30*time.Second, "the buffer to drain", func() bool { return b.Health().Buffered == 0 })
	}

	stream, err := b.JetStream().Stream(ctx, wire.MetricsStream)
	if err != nil {
		t.Fatal(err)
	}
	state := stream.CachedInfo().State
	seen := map[string]int{}
	bigAlone := false
	for seq := state.FirstSeq; seq <= state.LastSeq; seq++ {
		raw, err := stream.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for data := range wire.Groups(raw.Data) {
			g, err := metric.Decode(data)
			if err != nil {
				t.Fatalf("message %d: %v", seq, err)
			}
			if g.Resource.ID == "big" {
				bigAlone = bigAlone || g.Type == "interface" && wire.GroupCount(raw.Data) == 48
				continue
			}
			seen[g.Type+"/"+g.Dimensions[0].Value]++
			n++
		}
	}
	for i := range checks {
		for _, typ := range []string{"uptime", "status"} {
			if c := seen[fmt.Sprintf("%s/%d", typ, i)]; c != 1 {
				t.Fatalf("%s group of check %d stored %d times, want once", typ, i, c)
			}
		}
	}
	msgs := state.Msgs
	t.Logf("%d light checks (%d groups) published in %s as %d messages (+2 for the interface set)", checks, 2*checks, took, msgs)
	if msgs > checks/5 {
		t.Errorf("%d messages for %d concurrent light checks; want them coalesced (≤ %d)", msgs, checks, checks/5)
	}
	if !bigAlone {
		t.Error("the 48 interface groups were not one message of their own")
	}
	if got := gathered(t, reg, "panoptes_bus_published_total"); got != 2*checks+49 {
		t.Errorf("published_total = %v, want %d", got, 2*checks+49)
	}
}

// TestLingerBusDown: while the bus is down, checks are still coalesced
// and their batches go to the buffer (PublishSet returns within the
// linger), and arrive once when it is back; a batch still open at Close is sent before the bus closes.
func TestLingerBusDown(t *testing.T) {
	if testing.Short() {
		t.Skip("starts embedded NATS servers")
	}
	srvDir, port := t.TempDir(), freePort(t)
	srv := openServer(t, srvDir, port)
	defer func() { _ = srv.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	client, err := bus.Open(ctx, bus.Options{
		URL: srv.ClientURL(), MaxBytes: 64 << 20, PublishTimeout: 300 * time.Millisecond, Linger: 10 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	publish := func(from, to int) {
		t.Helper()
		var wg sync.WaitGroup
		for i := from; i < to; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if n, err := client.PublishSet(ctx, lightSet("sw", i)); n != 2 || err != nil {
					t.Errorf("check %d: PublishSet = %d, %v", i, n, err)
				}
			}()
		}
		wg.Wait()
	}
	publish(0, 100)
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the client to see the server gone", func() bool { return !client.Health().Connected })
	start := time.Now()
	publish(100, 300)
	if took := time.Since(start); took > time.Second {
		t.Errorf("200 checks with the bus down took %s to publish; want the buffer at once", took)
	}
	if h := client.Health(); h.Buffered == 0 || h.Buffered > 40 {
		t.Fatalf("%d messages buffered for 200 checks (400 groups) with the bus down; want some, coalesced (≤ 40)", h.Buffered)
	}
	srv = openServer(t, srvDir, port)
	waitFor(t, 30*time.Second, "the buffer to drain", func() bool { return client.Health().Buffered == 0 })
	waitStreamGroups(t, srv, wire.MetricsStream, 600)

	// Close with a batch open: a long linger would hold it, Close sends it.
	// (A caller waits for its batch, which is sent by the caller's publish
	// deadline: this one's ctx is cancelled before.)
	slow, err := bus.Open(ctx, bus.Options{URL: srv.ClientURL(), Linger: 5 * time.Second, PublishTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	cctx, ccancel := context.WithCancel(ctx)
	time.AfterFunc(50*time.Millisecond, ccancel)
	start = time.Now()
	if n, err := slow.PublishSet(cctx, lightSet("late", 999)); n != 2 || err != nil {
		t.Fatalf("PublishSet = %d, %v", n, err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("a cancelled PublishSet returned after %s, its batch's linger is 5s", took)
	}
	if err := slow.Close(); err != nil {
		t.Fatal(err)
	}
	waitStreamGroups(t, srv, wire.MetricsStream, 602)
}

// TestLingerRefused: a coalesced message the client refuses outright
// (here: larger than the server's max_payload) is reported to every caller
// as not published, with the client's reason, and is not left in the
// buffer, where it would be retried forever and hold everything behind it.
func TestLingerRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a NATS server")
	}
	srv, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: server.RANDOM_PORT, NoSigs: true,
		JetStream: true, StoreDir: t.TempDir(), MaxPayload: 4 << 10,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	defer func() { srv.Shutdown(); srv.WaitForShutdown() }()
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("server not ready")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := bus.Open(ctx, bus.Options{URL: srv.ClientURL(), Linger: 50 * time.Millisecond, Compression: bus.CompressionNone})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var wg sync.WaitGroup
	refused := make(chan error, 20)
	for i := range 20 { // 20 × 2 groups of ~600 bytes: over 4 KiB together, each set alone under
		wg.Add(1)
		go func() {
			defer wg.Done()
			if n, err := b.PublishSet(ctx, lightSet("sw", i)); err != nil {
				if n != 0 {
					t.Errorf("check %d: %d accepted with error %v", i, n, err)
				}
				refused <- err
			}
		}()
	}
	wg.Wait()
	close(refused)
	n := 0
	for err := range refused {
		n++
		if !strings.Contains(err.Error(), "maximum payload") {
			t.Errorf("error %q does not give the client's reason", err)
		}
	}
	if n == 0 {
		t.Fatal("no caller was told its groups were refused")
	}
	if h := b.Health(); h.Buffered != 0 {
		t.Errorf("%d messages left in the buffer; a refused message must not be retried", h.Buffered)
	}
}
