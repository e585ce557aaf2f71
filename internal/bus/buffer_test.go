package bus_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/panoptes-go/panoptes/internal/bus"
	"github.com/panoptes-go/panoptes/internal/wire"
)

// openServer runs a bus with an embedded server listening on a fixed
// loopback port, standing in for an external NATS server.
func openServer(t testing.TB, dir string, port int) *bus.Bus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := bus.Open(ctx, bus.Options{DataDir: dir, Listen: loopback(port), MaxBytes: 64 << 20, Name: "server"})
	if err != nil {
		t.Fatalf("open server: %v", err)
	}
	return s
}

func gauge(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name {
			return f.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("metric %s not registered", name)
	return 0
}

// TestBufferWhileBusDown: with the server gone, PublishSet returns at once
// and buffers; a full buffer drops and counts; when the server is back the
// buffer is delivered, every message once.
func TestBufferWhileBusDown(t *testing.T) {
	if testing.Short() {
		t.Skip("starts embedded NATS servers")
	}
	srvDir, port := t.TempDir(), freePort(t)
	srv := openServer(t, srvDir, port)
	defer func() { _ = srv.Close() }()

	reg := prometheus.NewRegistry()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	client, err := bus.Open(ctx, bus.Options{
		URL: srv.ClientURL(), MaxBytes: 64 << 20, Registerer: reg,
		PublishTimeout: 300 * time.Millisecond, Buffer: bus.Buffer{MaxMessages: 50},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	set := interfaceSet(testResource("s", "sw1"), 9) // 10 groups in 2 messages (interface, status)
	for i := 0; i < 5; i++ {
		if n, err := client.PublishSet(ctx, set); n != 10 || err != nil {
			t.Fatalf("PublishSet with the bus up = %d, %v", n, err)
		}
	}

	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the client to see the server gone", func() bool { return !client.Health().Connected })
	var slowest time.Duration
	for i := 0; i < 20; i++ {
		start := time.Now()
		n, err := client.PublishSet(ctx, set)
		slowest = max(slowest, time.Since(start))
		if n != 10 || err != nil {
			t.Fatalf("PublishSet with the bus down = %d, %v; want 10 buffered", n, err)
		}
	}
	if slowest > 200*time.Millisecond {
		t.Errorf("PublishSet with the bus down took up to %s; it must not block the scheduler", slowest)
	}
	h := client.Health()
	if h.Buffered != 40 || !strings.Contains(h.Degraded(), "degraded: 40 messages buffered (bus disconnected)") {
		t.Errorf("Health = %+v, Degraded %q; want 40 messages (200 groups) buffered", h, h.Degraded())
	}
	if got := gauge(t, reg, "panoptes_bus_buffered_messages"); got != 40 {
		t.Errorf("buffered_messages = %v, want 40", got)
	}
	// 6 more sets (12 messages, 60 groups): 10 messages fit, 1 set's 10 groups are dropped and counted.
	dropped := 0
	for i := 0; i < 6; i++ {
		n, err := client.PublishSet(ctx, set)
		if err != nil && !errors.Is(err, bus.ErrBufferFull) {
			t.Fatalf("PublishSet error %v does not wrap ErrBufferFull", err)
		}
		dropped += 10 - n
	}
	if dropped != 10 || client.Health().Dropped != 10 || gathered(t, reg, "panoptes_bus_dropped_total") != 10 {
		t.Errorf("dropped %d, Health.Dropped %d, dropped_total %v; want 10 each",
			dropped, client.Health().Dropped, gathered(t, reg, "panoptes_bus_dropped_total"))
	}
	t.Logf("bus down: 260 groups offered, 250 buffered, 10 dropped; slowest PublishSet %s", slowest)

	start := time.Now()
	srv = openServer(t, srvDir, port)
	waitFor(t, 30*time.Second, "the buffer to drain", func() bool { return client.Health().Buffered == 0 })
	t.Logf("buffer of 250 groups delivered %s after the server restarted", time.Since(start).Round(time.Millisecond))
	waitStreamGroups(t, srv, wire.MetricsStream, 50+250)
	if got := gauge(t, reg, "panoptes_bus_buffered_messages"); got != 0 {
		t.Errorf("buffered_messages after delivery = %v, want 0", got)
	}
	if h := client.Health(); h.Degraded() != "" {
		t.Errorf("Degraded after delivery = %q, want \"\"", h.Degraded())
	}
	// Back to direct publishing.
	if n, err := client.PublishSet(ctx, set); n != 10 || err != nil {
		t.Fatalf("PublishSet after recovery = %d, %v", n, err)
	}
	waitStreamGroups(t, srv, wire.MetricsStream, 50+250+10)
}

// TestBufferSpillsAtClose: what is still buffered at Close is written under
// the data dir and delivered by the next Open.
func TestBufferSpillsAtClose(t *testing.T) {
	if testing.Short() {
		t.Skip("starts embedded NATS servers")
	}
	srvDir, port, clientDir := t.TempDir(), freePort(t), t.TempDir()
	srv := openServer(t, srvDir, port)
	url := srv.ClientURL()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	opts := bus.Options{URL: url, DataDir: clientDir, MaxBytes: 64 << 20, PublishTimeout: 300 * time.Millisecond}
	client, err := bus.Open(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the client to see the server gone", func() bool { return !client.Health().Connected })
	set := interfaceSet(testResource("s", "sw1"), 29) // 30 groups
	if n, err := client.PublishSet(ctx, set); n != 30 || err != nil {
		t.Fatalf("PublishSet with the bus down = %d, %v", n, err)
	}
	if err := client.Close(); err != nil {
		t.Errorf("client Close with the bus down: %v", err)
	}
	if _, err := os.Stat(filepath.Join(clientDir, "bus-buffer.spill")); err != nil {
		t.Fatalf("no spill file after Close: %v", err)
	}

	srv = openServer(t, srvDir, port)
	defer srv.Close()
	client, err = bus.Open(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	waitStreamGroups(t, srv, wire.MetricsStream, 30)
	if _, err := os.Stat(filepath.Join(clientDir, "bus-buffer.spill")); !os.IsNotExist(err) {
		t.Errorf("spill file still there after it was loaded: %v", err)
	}
}

// TestOpenWaitsForServer: a server that comes up while Open retries is used.
func TestOpenWaitsForServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts embedded NATS servers")
	}
	port := freePort(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	type result struct {
		b   *bus.Bus
		err error
	}
	done := make(chan result, 1)
	go func() {
		b, err := bus.Open(ctx, bus.Options{URL: "nats://" + loopback(port), MaxBytes: 64 << 20, ConnectRetry: 20 * time.Second})
		done <- result{b, err}
	}()
	time.Sleep(time.Second)
	srv := openServer(t, t.TempDir(), port)
	defer srv.Close()
	r := <-done
	if r.err != nil {
		t.Fatalf("Open while the server starts: %v", r.err)
	}
	defer r.b.Close()
	if err := r.b.Ready(); err != nil {
		t.Fatal(err)
	}
}
