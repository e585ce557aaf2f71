package bus_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/panoptes-go/panoptes/internal/bus"
	"github.com/panoptes-go/panoptes/internal/inventory"
	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/wire"
)

// TestPublishReadBack publishes a set and reads every message back from the
// stream: subjects, and groups equal to what was published, with a counter
// above 2^53 intact.
func TestPublishReadBack(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded NATS server")
	}
	reg := prometheus.NewRegistry()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := bus.Open(ctx, bus.Options{DataDir: t.TempDir(), MaxBytes: 64 << 20, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.Ready(); err != nil {
		t.Fatalf("Ready: %v", err)
	}

	set := interfaceSet(testResource("dc1.ams", "sw1"), 3)
	const big = uint64(1)<<60 + 1 // not representable in float64
	set.Groups[0].Metrics[0].Value = metric.Uint(big)
	n, err := b.PublishSet(ctx, set)
	if err != nil || n != len(set.Groups) {
		t.Fatalf("PublishSet = %d, %v; want %d, nil", n, err, len(set.Groups))
	}
	if got := gathered(t, reg, "panoptes_bus_published_total"); got != float64(n) {
		t.Errorf("published_total = %v, want %d", got, n)
	}

	stream, err := b.JetStream().Stream(ctx, wire.MetricsStream)
	if err != nil {
		t.Fatal(err)
	}
	// One message per group type, holding that type's groups in order.
	var got []*metric.Group
	for seq := uint64(1); seq <= stream.CachedInfo().State.LastSeq; seq++ {
		raw, err := stream.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("get message %d: %v", seq, err)
		}
		for data := range wire.Groups(raw.Data) {
			g, err := metric.Decode(data)
			if err != nil {
				t.Fatalf("decode message %d: %v", seq, err)
			}
			if wantSubj := "panoptes.metrics.dc1_ams." + g.Type; raw.Subject != wantSubj {
				t.Errorf("message %d: %s group on subject %q, want %q", seq, g.Type, raw.Subject, wantSubj)
			}
			got = append(got, g)
		}
	}
	if len(got) != len(set.Groups) {
		t.Fatalf("stream holds %d groups, want %d", len(got), len(set.Groups))
	}
	for _, want := range set.Groups {
		found := false
		for _, g := range got {
			if string(metric.AppendJSON(nil, g)) == string(metric.AppendJSON(nil, want)) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("group not in the stream: %s", metric.AppendJSON(nil, want))
		}
	}
	g := got[0]
	if m, _ := g.Metric("bits_in"); !m.Value.IsInteger() || m.Value.Uint64() != big {
		t.Errorf("counter read back as %v, want %d", m.Value, big)
	}
}

func TestPublishSetErrors(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded NATS server")
	}
	reg := prometheus.NewRegistry()
	ctx := context.Background()
	b, err := bus.Open(ctx, bus.Options{DataDir: t.TempDir(), MaxBytes: 64 << 20, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	if n, err := b.PublishSet(ctx, nil); n != 0 || err != nil {
		t.Errorf("PublishSet(nil) = %d, %v; want 0, nil", n, err)
	}

	// A group without a resource fails alone; the others are acked.
	set := interfaceSet(testResource("s", "sw1"), 2)
	set.Groups[1].Resource = nil
	n, err := b.PublishSet(ctx, set)
	if n != 2 || err == nil || !strings.Contains(err.Error(), "1 of 3") {
		t.Errorf("PublishSet with a bad group = %d, %v; want 2 and a '1 of 3' error", n, err)
	}

	// A cancelled ctx does not wait for acks: the set is accepted, what
	// was not acknowledged is buffered and reaches the stream afterwards.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	n, err = b.PublishSet(cancelled, interfaceSet(testResource("s", "sw1"), 4))
	if n != 5 || err != nil {
		t.Errorf("PublishSet with a cancelled ctx = %d, %v; want 5, nil", n, err)
	}
	waitStreamGroups(t, b, wire.MetricsStream, 2+5)
	if got := gathered(t, reg, "panoptes_bus_publish_errors_total"); got != 1 {
		t.Errorf("publish_errors_total = %v, want 1", got)
	}
	if got := gathered(t, reg, "panoptes_bus_published_total"); got != 2+5 {
		t.Errorf("published_total = %v, want 7", got)
	}
	if h := b.Health(); h.Degraded() != "" || h.Buffered != 0 {
		t.Errorf("Health after delivery = %+v (%q), want ok", h, h.Degraded())
	}
}

// TestRestartKeepsState closes the embedded server and opens it again on the
// same data dir: unconsumed messages, consumer positions and the inventory
// bucket survive.
func TestRestartKeepsState(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded NATS server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dir := t.TempDir()

	b := openEmbedded(t, dir)
	name := b.Conn().ConnectedServerName()
	// 10 groups published one per set: 10 messages.
	for _, g := range interfaceSet(testResource("site1", "sw1"), 9).Groups {
		if n, err := b.PublishSet(ctx, &metric.GroupSet{Groups: []*metric.Group{g}}); err != nil || n != 1 {
			t.Fatalf("PublishSet = %d, %v", n, err)
		}
	}
	cons, err := b.JetStream().CreateOrUpdateConsumer(ctx, wire.MetricsStream, jetstream.ConsumerConfig{
		Durable: "restart_test", AckPolicy: jetstream.AckExplicitPolicy,
	})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := cons.Fetch(4, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	acked := 0
	for m := range batch.Messages() {
		if err := m.DoubleAck(ctx); err != nil {
			t.Fatal(err)
		}
		acked++
	}
	if acked != 4 {
		t.Fatalf("fetched and acked %d messages, want 4", acked)
	}
	inv, err := inventory.Open(ctx, b.JetStream(), b.Replicas())
	if err != nil {
		t.Fatal(err)
	}
	r := testResource("site1", "sw1")
	if err := inv.Put(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	b2 := openEmbedded(t, dir)
	if got := b2.Conn().ConnectedServerName(); got != name || !strings.HasPrefix(got, "panoptes-") {
		t.Errorf("server name after restart %q, want %q", got, name)
	}
	if n := streamGroups(t, b2, wire.MetricsStream, nil); n != 10 {
		t.Errorf("stream holds %d groups after restart, want 10", n)
	}
	cons2, err := b2.JetStream().Consumer(ctx, wire.MetricsStream, "restart_test")
	if err != nil {
		t.Fatalf("durable consumer lost in restart: %v", err)
	}
	if pending := cons2.CachedInfo().NumPending; pending != 6 {
		t.Errorf("consumer has %d messages pending after restart, want 6", pending)
	}
	inv2, err := inventory.Open(ctx, b2.JetStream(), b2.Replicas())
	if err != nil {
		t.Fatal(err)
	}
	list, err := inv2.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := list[r.Key()]; got == nil || !got.SameContent(r) {
		t.Errorf("inventory after restart = %v, want %s", list, r.Key())
	}
}

// TestExternalURL connects to a second embedded server through its TCP port,
// as another process would.
func TestExternalURL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded NATS server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv, err := bus.Open(ctx, bus.Options{DataDir: t.TempDir(), Listen: "127.0.0.1:0", MaxBytes: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	url := srv.ClientURL()
	if !strings.HasPrefix(url, "nats://127.0.0.1:") || strings.HasSuffix(url, ":0") || strings.HasSuffix(url, ":-1") {
		t.Fatalf("ClientURL = %q, want nats://127.0.0.1:<port>", url)
	}

	client, err := bus.Open(ctx, bus.Options{URL: url, MaxBytes: 64 << 20, Name: "external-test"})
	if err != nil {
		t.Fatal(err)
	}
	if client.ClientURL() != "" {
		t.Errorf("client ClientURL = %q, want empty (no embedded server)", client.ClientURL())
	}
	if err := client.Ready(); err != nil {
		t.Fatalf("client Ready: %v", err)
	}
	if n, err := client.PublishSet(ctx, interfaceSet(testResource("s", "sw1"), 4)); err != nil || n != 5 {
		t.Fatalf("PublishSet over TCP = %d, %v", n, err)
	}
	if err := client.Close(); err != nil {
		t.Fatalf("client Close: %v", err)
	}
	// The server outlives its client and holds what it published.
	if err := srv.Ready(); err != nil {
		t.Fatalf("server Ready after client Close: %v", err)
	}
	if n := streamGroups(t, srv, wire.MetricsStream, nil); n != 5 {
		t.Errorf("stream holds %d groups, want 5", n)
	}
}

func TestOpenErrors(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded NATS server")
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		opts bus.Options
		want string
	}{
		{"no data dir", bus.Options{}, "data_dir is empty"},
		{"data dir under a file", bus.Options{DataDir: filepath.Join(file, "data")}, "create data dir"},
		{"replicas on one server", bus.Options{DataDir: t.TempDir(), Replicas: 3}, "needs a NATS cluster"},
		{"replicas out of range", bus.Options{URL: "nats://127.0.0.1:1", Replicas: 7}, "out of range"},
		{"bad listen", bus.Options{DataDir: t.TempDir(), Listen: "4222"}, "listen \"4222\""},
		{"listen with url", bus.Options{URL: "nats://127.0.0.1:1", Listen: ":4222"}, "are for the embedded server"},
		{"unreachable url", bus.Options{URL: "nats://user:secret@127.0.0.1:1", ConnectRetry: time.Second}, "connect to nats://***@127.0.0.1:1"},
		{"leaf without domain", bus.Options{DataDir: t.TempDir(), Leaf: bus.Leaf{Remotes: []string{"nats-leaf://127.0.0.1:1"}}}, "need a JetStream domain"},
		{"two kinds of credentials", bus.Options{URL: "nats://127.0.0.1:1", User: "u", CredsFile: "x"}, "one kind of credentials"},
		{"cluster without routes", bus.Options{DataDir: t.TempDir(), Cluster: bus.Cluster{Listen: "127.0.0.1:0"}}, "needs both listen"},
		{"bad route", bus.Options{DataDir: t.TempDir(), Cluster: bus.Cluster{Listen: "127.0.0.1:0", Routes: []string{"http://x:1"}}}, "not a URL like nats-route://"},
		{"bad domain", bus.Options{DataDir: t.TempDir(), Domain: "edge.1"}, "may not contain"},
		{"missing ca file", bus.Options{URL: "tls://127.0.0.1:1", TLS: bus.TLS{CAFile: "/nonexistent/ca.pem"}}, "bus.tls.ca_file: open /nonexistent/ca.pem"},
		{"route user without password", bus.Options{DataDir: t.TempDir(), Cluster: bus.Cluster{Listen: "127.0.0.1:0", Routes: []string{"nats-route://127.0.0.1:1"}, User: "r"}}, "cluster user and password go together"},
		{"route tls without cert", bus.Options{DataDir: t.TempDir(), Cluster: bus.Cluster{Listen: "127.0.0.1:0", Routes: []string{"nats-route://127.0.0.1:1"}, TLS: bus.ServerTLS{CAFile: "/ca.pem"}}}, "bus.cluster.tls: cert_file and key_file are required"},
		{"route verify without ca", bus.Options{DataDir: t.TempDir(), Cluster: bus.Cluster{Listen: "127.0.0.1:0", Routes: []string{"nats-route://127.0.0.1:1"}, TLS: bus.ServerTLS{CertFile: "/c.pem", KeyFile: "/k.pem", Verify: true}}}, "bus.cluster.tls: verify needs ca_file"},
		{"leaf tls cert missing", bus.Options{DataDir: t.TempDir(), LeafListen: "127.0.0.1:0", LeafTLS: bus.ServerTLS{CertFile: "/nonexistent/c.pem", KeyFile: "/nonexistent/k.pem"}}, "bus.leaf_tls: certificate: open /nonexistent/c.pem"},
		{"leaf users without listener", bus.Options{DataDir: t.TempDir(), LeafUsers: []bus.User{{User: "a", Password: "p"}}}, "set leaf_listen"},
		{"leaf user without password", bus.Options{DataDir: t.TempDir(), LeafListen: "127.0.0.1:0", LeafUsers: []bus.User{{User: "a"}}}, "leaf_users[0]: user and password are both required"},
		{"listen users without listener", bus.Options{DataDir: t.TempDir(), ListenUsers: []bus.User{{User: "a", Password: "p"}}}, "set listen"},
		{"listen tls without listener", bus.Options{DataDir: t.TempDir(), ListenTLS: bus.ServerTLS{CertFile: "/c.pem", KeyFile: "/k.pem"}}, "set listen"},
		{"listen user without password", bus.Options{DataDir: t.TempDir(), Listen: "127.0.0.1:0", ListenUsers: []bus.User{{User: "a"}}}, "listen_users[0]: user and password are both required"},
		{"listen users with url", bus.Options{URL: "nats://127.0.0.1:1", ListenUsers: []bus.User{{User: "a", Password: "secret"}}}, "are for the embedded server"},
		{"listen users without leaf users", bus.Options{DataDir: t.TempDir(), Listen: "127.0.0.1:0", LeafListen: "127.0.0.1:0", ListenUsers: []bus.User{{User: "a", Password: "secret"}}}, "needs leaf_users too"},
		{"listen tls cert missing", bus.Options{DataDir: t.TempDir(), Listen: "127.0.0.1:0", ListenTLS: bus.ServerTLS{CertFile: "/nonexistent/c.pem", KeyFile: "/nonexistent/k.pem"}}, "bus.listen_tls: certificate: open /nonexistent/c.pem"},
		{"edge user and creds", bus.Options{DataDir: t.TempDir(), Domain: "e", Leaf: bus.Leaf{Remotes: []string{"nats-leaf://127.0.0.1:1"}, User: "a", Password: "p", CredsFile: "/x"}}, "one kind of credentials"},
		{"edge ca missing", bus.Options{DataDir: t.TempDir(), Domain: "e", Leaf: bus.Leaf{Remotes: []string{"nats-leaf://127.0.0.1:1"}, TLS: bus.TLS{CAFile: "/nonexistent/ca.pem"}}}, "bus.leaf.tls.ca_file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			b, err := bus.Open(ctx, tc.opts)
			if err == nil {
				b.Close()
				t.Fatalf("Open succeeded, want error containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q leaks the password", err)
			}
		})
	}
}

func TestCloseTwice(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded NATS server")
	}
	b := openEmbedded(t, t.TempDir())
	if err := b.Close(); err != nil {
		t.Fatalf("first Close: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := b.Ready(); err == nil {
		t.Error("Ready after Close = nil, want an error")
	}
}

// gathered returns the value of the single counter named name in reg.
func gathered(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name {
			return f.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("metric %s not registered", name)
	return 0
}

// TestPublishConcurrent: sets published at once from several goroutines,
// one of them larger than the per-set window, all land in the stream.
func TestPublishConcurrent(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded NATS server")
	}
	b := openEmbedded(t, t.TempDir())
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	errs := make(chan error, 9)
	for w := 0; w < 8; w++ {
		go func() {
			set := interfaceSet(testResource("site1", "sw"+strconv.Itoa(w)), 48)
			for i := 0; i < 10; i++ {
				if n, err := b.PublishSet(ctx, set); err != nil || n != 49 {
					errs <- fmt.Errorf("worker %d: PublishSet = %d, %v", w, n, err)
					return
				}
			}
			errs <- nil
		}()
	}
	go func() {
		big := interfaceSet(testResource("site2", "big"), 1500)
		n, err := b.PublishSet(ctx, big)
		if err == nil && n != 1501 {
			err = fmt.Errorf("acked %d of 1501", n)
		}
		errs <- err
	}()
	for i := 0; i < 9; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	// Accepted includes buffered: on a loaded machine some acks come after
	// the publish timeout and the buffer publishes those groups shortly after.
	waitStreamGroups(t, b, wire.MetricsStream, 8*10*49+1501)
}
