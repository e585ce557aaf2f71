package bus_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/panoptes-go/panoptes/internal/bus"
	"github.com/panoptes-go/panoptes/internal/testutil/logbuf"
	"github.com/panoptes-go/panoptes/internal/testutil/pki"
	"github.com/panoptes-go/panoptes/internal/wire"
)

// noSecret fails when a log holds one of the secrets.
func noSecret(t *testing.T, what, log string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(log, s) {
			t.Errorf("the %s log shows the secret %q:\n%s", what, s, log)
		}
	}
}

// waitLog waits until a line of log holds one of the words
// (case-insensitive) and returns that line.
func waitLog(t *testing.T, l *logbuf.Buffer, what string, words ...string) string {
	t.Helper()
	var found string
	waitFor(t, 15*time.Second, what, func() bool {
		for line := range strings.Lines(l.String()) {
			for _, w := range words {
				if strings.Contains(strings.ToLower(line), strings.ToLower(w)) {
					found = strings.TrimSpace(line)
					return true
				}
			}
		}
		return false
	})
	return found
}

// TestRouteAuthAndTLS: three embedded servers whose routes require a
// user, a password and mutual TLS form a JetStream cluster with an R3
// stream; a fourth with the wrong route password, and a fifth whose
// certificate comes from another CA, are refused and never join.
func TestRouteAuthAndTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("starts embedded NATS servers")
	}
	ca, other := pki.New(t), pki.New(t)
	ports := []int{freePort(t), freePort(t), freePort(t), freePort(t), freePort(t)}
	var routes []string
	for _, p := range ports[:3] {
		routes = append(routes, "nats-route://"+loopback(p))
	}
	const pw, wrongPW = "route-s3cret", "route-wr0ng"
	node := func(i int, c *pki.CA, password string, logs *logbuf.Buffer) bus.Options {
		cert, key := c.Issue(t, fmt.Sprintf("route%d", i))
		return bus.Options{
			DataDir: t.TempDir(), Replicas: 3, MaxBytes: 64 << 20, Name: fmt.Sprintf("node%d", i),
			Cluster: bus.Cluster{
				Name: "secure", Listen: loopback(ports[i]), Routes: slices.Clone(routes),
				User: "route", Password: password,
				TLS: bus.ServerTLS{CertFile: cert, KeyFile: key, CAFile: c.CAFile, Verify: true},
			},
			ConnectRetry: 40 * time.Second, Logger: logs.Logger(slog.LevelDebug),
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	logs := []*logbuf.Buffer{{}, {}, {}, {}, {}}
	good := make([]*bus.Bus, 3)
	errs := make(chan error, len(good))
	start := time.Now()
	for i := range good {
		go func() {
			var err error
			good[i], err = bus.Open(ctx, node(i, ca, pw, logs[i]))
			errs <- err
		}()
	}
	for range good {
		if err := <-errs; err != nil {
			t.Fatalf("open a server of the secure cluster: %v\nserver 0 log:\n%s", err, logs[0])
		}
	}
	for _, b := range good {
		defer b.Close()
	}
	t.Logf("3 servers with route auth and mutual TLS formed a cluster with an R3 stream in %s", time.Since(start).Round(time.Millisecond))
	if n, err := good[0].PublishSet(ctx, interfaceSet(testResource("s", "sw1"), 4)); n != 5 || err != nil {
		t.Fatalf("PublishSet on the secure cluster = %d, %v", n, err)
	}
	waitStreamGroups(t, good[1], wire.MetricsStream, 5)

	// The intruders dial the good servers' routes; they are refused, so
	// they never see a JetStream leader and give up after ConnectRetry.
	t.Run("intruders", func(t *testing.T) {
		for _, c := range []struct {
			name  string
			i     int
			ca    *pki.CA
			pw    string
			words []string
		}{
			{"wrong route password", 3, ca, wrongPW, []string{"hint=\"another server refused this server's route: bus.cluster.user"}},
			{"certificate from another CA", 4, other, pw, []string{"hint=\"check bus.cluster.tls"}},
		} {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				opts := node(c.i, c.ca, c.pw, logs[c.i])
				opts.Replicas, opts.ConnectRetry = 1, 4*time.Second
				b, err := bus.Open(ctx, opts)
				if err == nil {
					b.Close()
					t.Fatal("a server with bad route credentials opened its bus: it joined the cluster")
				}
				t.Logf("refused as expected: %v", err)
				t.Logf("why: %s", waitLog(t, logs[c.i], "the refused server to log why", c.words...))
			})
		}
	})
	// The cluster still has its three servers and takes publishes.
	if n, err := good[1].PublishSet(ctx, interfaceSet(testResource("s", "sw2"), 4)); n != 5 || err != nil {
		t.Fatalf("PublishSet after the intruders = %d, %v", n, err)
	}
	waitStreamGroups(t, good[0], wire.MetricsStream, 10)
	for i, l := range logs {
		noSecret(t, fmt.Sprintf("server %d", i), l.String(), pw, wrongPW)
	}
}

// TestLeafAuthAndTLS: the hub's leaf listener requires TLS with client
// certificates and a user per edge. An edge with its user, password and
// certificate connects and its metrics are sourced; edges with a wrong
// password, no client certificate or no TLS are refused.
func TestLeafAuthAndTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("starts embedded NATS servers")
	}
	ca, other := pki.New(t), pki.New(t)
	hubCert, hubKey := ca.Issue(t, "hub")
	edgeCert, edgeKey := ca.Issue(t, "edge")
	otherCert, otherKey := other.Issue(t, "intruder")
	const pw, wrongPW = "leaf-s3cret", "leaf-wr0ng"
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	leafPort := freePort(t)
	hubLog := &logbuf.Buffer{}
	hub, err := bus.Open(ctx, bus.Options{
		DataDir: t.TempDir(), MaxBytes: 64 << 20, Name: "hub", Logger: hubLog.Logger(slog.LevelDebug),
		Domain: "hub", LeafListen: loopback(leafPort), SourceDomains: []string{"edge-ams"},
		LeafUsers: []bus.User{{User: "ams", Password: pw}, {User: "sfo", Password: "other-edge-pw"}},
		LeafTLS:   bus.ServerTLS{CertFile: hubCert, KeyFile: hubKey, CAFile: ca.CAFile, Verify: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer hub.Close()
	remote := []string{"nats-leaf://" + loopback(leafPort)}
	edgeTLS := bus.TLS{CAFile: ca.CAFile, CertFile: edgeCert, KeyFile: edgeKey}

	type edgeCase struct {
		name, domain string
		leaf         bus.Leaf
		words        []string // in the edge's log when refused
		hubWords     []string // in the hub's log when refused (the edge may not see why)
		logs         *logbuf.Buffer
		b            *bus.Bus
	}
	cases := []*edgeCase{
		{name: "right credentials", domain: "edge-ams", leaf: bus.Leaf{User: "ams", Password: pw, TLS: edgeTLS}},
		{name: "wrong password", domain: "edge-bad1", leaf: bus.Leaf{User: "ams", Password: wrongPW, TLS: edgeTLS}, words: []string{"hint=\"the hub refused this edge's credentials: check bus.leaf.user"}},
		{name: "no user", domain: "edge-bad2", leaf: bus.Leaf{TLS: edgeTLS}, words: []string{"Authorization Violation"}},
		{name: "certificate from another CA", domain: "edge-bad3", leaf: bus.Leaf{User: "ams", Password: pw,
			TLS: bus.TLS{CAFile: ca.CAFile, CertFile: otherCert, KeyFile: otherKey}}, hubWords: []string{"certificate signed by unknown authority"}},
		{name: "no TLS", domain: "edge-bad4", leaf: bus.Leaf{User: "ams", Password: pw}, words: []string{"hint=\"check bus.leaf.tls"}},
	}
	for _, c := range cases {
		c.logs = &logbuf.Buffer{}
		c.leaf.Remotes = remote
		c.b, err = bus.Open(ctx, bus.Options{
			DataDir: t.TempDir(), MaxBytes: 64 << 20, Name: c.domain, Logger: c.logs.Logger(slog.LevelDebug),
			Domain: c.domain, Leaf: c.leaf,
		})
		if err != nil {
			t.Fatalf("%s: open the edge (it must start even when the hub refuses it): %v", c.name, err)
		}
		defer c.b.Close()
	}
	good := cases[0]
	waitFor(t, 15*time.Second, "the edge with the right credentials to connect", func() bool { return good.b.LeafConnections() == 1 })
	if n, err := good.b.PublishSet(ctx, edgeRound(1)); n != 9 || err != nil {
		t.Fatalf("edge PublishSet = %d, %v", n, err)
	}
	waitStreamGroups(t, hub, wire.MetricsStream, 9)

	for _, c := range cases[1:] {
		t.Run(c.name, func(t *testing.T) {
			if len(c.hubWords) > 0 {
				t.Logf("hub: %s", waitLog(t, hubLog, "the hub to log why it refused the edge", c.hubWords...))
			} else {
				t.Logf("edge: %s", waitLog(t, c.logs, "the refused edge to log why", c.words...))
			}
			if n := c.b.LeafConnections(); n != 0 {
				t.Errorf("the edge has %d leaf connections; the hub must refuse it", n)
			}
			// Every edge polls into its own stream whatever the link does.
			if n, err := c.b.PublishSet(ctx, edgeRound(1)); n != 9 || err != nil {
				t.Errorf("refused edge PublishSet = %d, %v", n, err)
			}
		})
	}
	if n := hub.LeafConnections(); n != 1 {
		t.Errorf("the hub has %d leaf connections, want only the good edge's", n)
	}
	noSecret(t, "hub", hubLog.String(), pw, wrongPW, "other-edge-pw")
	for _, c := range cases {
		noSecret(t, c.name+" edge", c.logs.String(), pw, wrongPW)
	}
	if t.Failed() {
		t.Logf("hub log:\n%s", hubLog)
		for _, c := range cases {
			t.Logf("%s edge log:\n%s", c.name, c.logs)
		}
	}
}

// TestClusterLoopbackListenerNeedsAuth: a clustered server without
// bus.listen opens a client listener on loopback (NATS routes only once it
// listens); no local process may use it without credentials, while the
// node's own in-process connection works.
func TestClusterLoopbackListenerNeedsAuth(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-server NATS cluster")
	}
	nodes := startCluster(t)
	url := nodes[0].b.ClientURL()
	if !strings.Contains(url, "127.0.0.1:") {
		t.Fatalf("client URL %q, want a loopback listener", url)
	}
	nc, err := nats.Connect(url, nats.Timeout(5*time.Second), nats.MaxReconnects(0))
	if err == nil {
		nc.Close()
		t.Fatal("an anonymous client connected to the loopback listener of a clustered server")
	}
	if !strings.Contains(strings.ToLower(err.Error()), "authorization") {
		t.Errorf("anonymous client: %v, want an authorization violation", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if n, err := nodes[0].b.PublishSet(ctx, interfaceSet(testResource("s", "sw1"), 2)); n != 3 || err != nil {
		t.Fatalf("the node's own connection: PublishSet = %d, %v", n, err)
	}
}
