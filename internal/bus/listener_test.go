package bus_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/bus"
	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/testutil/logbuf"
	"github.com/panoptes-go/panoptes/internal/testutil/pki"
	"github.com/panoptes-go/panoptes/internal/wire"
)

// TestListenAuthAndTLS: a node's client listener requires a user from
// listen_users and mutual TLS. The node's own (in-process) connection
// works; another process with the right user, password and certificate
// publishes through it; a tool with the node's config (ListenClient)
// reaches it; wrong credentials or certificates are refused at once with
// an error naming the keys to check, and the node logs why. No password
// reaches a log or an error.
func TestListenAuthAndTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("starts embedded NATS servers")
	}
	ca, other := pki.New(t), pki.New(t)
	nodeCert, nodeKey := ca.Issue(t, "node")
	pollerCert, pollerKey := ca.Issue(t, "poller")
	otherCert, otherKey := other.Issue(t, "intruder")
	const pw, statusPW, wrongPW = "listen-s3cret", "status-s3cret", "listen-wr0ng"
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	cfg := config.Bus{
		Listen:      loopback(freePort(t)),
		ListenUsers: []config.BusUser{{User: "poller", Password: pw}, {User: "status", Password: statusPW}},
		ListenTLS:   config.BusServerTLS{CertFile: nodeCert, KeyFile: nodeKey, CAFile: ca.CAFile, Verify: true},
	}
	nodeLog := &logbuf.Buffer{}
	opts := bus.FromConfig(cfg, t.TempDir())
	opts.MaxBytes, opts.Name, opts.Logger = 64<<20, "node", nodeLog.Logger(slog.LevelDebug)
	node, err := bus.Open(ctx, opts)
	if err != nil {
		t.Fatalf("open a node whose listener needs users and TLS: %v", err)
	}
	defer node.Close()
	// The node's own connection is in-process: no password nor certificate.
	if n, err := node.PublishSet(ctx, interfaceSet(testResource("s", "sw1"), 4)); n != 5 || err != nil {
		t.Fatalf("node PublishSet = %d, %v", n, err)
	}
	url := node.ClientURL()
	if !strings.HasPrefix(url, "tls://") {
		t.Fatalf("ClientURL = %q, want a tls:// URL", url)
	}

	// Another process (a poller with bus.url) publishes through the listener.
	pollerTLS := bus.TLS{CAFile: ca.CAFile, CertFile: pollerCert, KeyFile: pollerKey}
	poller, err := bus.Open(ctx, bus.Options{URL: url, User: "poller", Password: pw, TLS: pollerTLS, Name: "poller", ConnectRetry: 5 * time.Second})
	if err != nil {
		t.Fatalf("a poller with the right user and certificate: %v", err)
	}
	defer poller.Close()
	if n, err := poller.PublishSet(ctx, interfaceSet(testResource("s", "sw2"), 4)); n != 5 || err != nil {
		t.Fatalf("poller PublishSet = %d, %v", n, err)
	}
	waitStreamGroups(t, node, wire.MetricsStream, 10)

	// A tool with the node's own config: first listen user, the
	// listener's CA and certificate.
	tool := bus.ListenClient(cfg, url)
	tool.ConnectRetry = 3 * time.Second
	nc, err := bus.Connect(ctx, tool)
	if err != nil {
		t.Fatalf("connect with the node's config (ListenClient): %v", err)
	}
	nc.Close()

	for _, c := range []struct {
		name     string
		opts     bus.Options
		want     string   // in the error
		nodeLogs []string // in the node's log
	}{
		{"wrong password", bus.Options{User: "poller", Password: wrongPW, TLS: pollerTLS},
			"bus.listen_users", []string{`hint="a client's credentials are not in bus.listen_users`}},
		{"unknown user", bus.Options{User: "intruder", Password: pw, TLS: pollerTLS}, "bus.listen_users", nil},
		{"no credentials", bus.Options{TLS: pollerTLS}, "check bus.user/bus.password", nil},
		{"no client certificate", bus.Options{User: "poller", Password: pw, TLS: bus.TLS{CAFile: ca.CAFile}},
			"bus.listen_tls", []string{"client didn't provide a certificate\" component=nats-server hint=\"a client's TLS was refused: check bus.listen_tls"}},
		{"certificate from another CA", bus.Options{User: "poller", Password: pw, TLS: bus.TLS{CAFile: ca.CAFile, CertFile: otherCert, KeyFile: otherKey}},
			"bus.listen_tls", []string{"certificate signed by unknown authority"}},
		{"server not trusted", bus.Options{User: "poller", Password: pw, TLS: bus.TLS{CAFile: other.CAFile, CertFile: pollerCert, KeyFile: pollerKey}},
			"check bus.tls", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.opts.URL, c.opts.ConnectRetry = url, 5*time.Second
			clientLog := &logbuf.Buffer{}
			c.opts.Logger = clientLog.Logger(slog.LevelDebug)
			defer func() { t.Logf("client log:\n%s", clientLog) }()
			start := time.Now()
			nc, err := bus.Connect(ctx, c.opts)
			if err == nil {
				nc.Close()
				t.Fatal("connected; the listener must refuse")
			}
			t.Logf("refused in %s: %v", time.Since(start).Round(time.Millisecond), err)
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error does not say %q", c.want)
			}
			if d := time.Since(start); d > 4*time.Second {
				t.Errorf("a permanent refusal took %s (retried?)", d)
			}
			noSecret(t, "error", err.Error(), pw, statusPW, wrongPW)
			if len(c.nodeLogs) > 0 {
				t.Logf("node: %s", waitLog(t, nodeLog, "the node to log why", c.nodeLogs...))
			}
		})
	}
	// The listener still serves the good poller.
	if n, err := poller.PublishSet(ctx, interfaceSet(testResource("s", "sw3"), 4)); n != 5 || err != nil {
		t.Fatalf("poller PublishSet after the refusals = %d, %v", n, err)
	}
	waitStreamGroups(t, node, wire.MetricsStream, 15)
	noSecret(t, "node", nodeLog.String(), pw, statusPW, wrongPW)
	if t.Failed() {
		t.Logf("node log:\n%s", nodeLog)
	}
}

// TestListenTLSOnly: a listener with TLS and no users takes any client
// that trusts its certificate, and refuses a plain-text one.
func TestListenTLSOnly(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded NATS server")
	}
	caFile, certFile, keyFile := testPKI(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	node, err := bus.Open(ctx, bus.Options{
		DataDir: t.TempDir(), MaxBytes: 64 << 20, Listen: loopback(freePort(t)),
		ListenTLS: bus.ServerTLS{CertFile: certFile, KeyFile: keyFile},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer node.Close()
	url := node.ClientURL()
	nc, err := bus.Connect(ctx, bus.Options{URL: url, TLS: bus.TLS{CAFile: caFile}, ConnectRetry: 3 * time.Second})
	if err != nil {
		t.Fatalf("TLS client: %v", err)
	}
	nc.Close()
	// nats:// without a CA: the client follows the server to TLS and cannot
	// verify it.
	_, err = bus.Connect(ctx, bus.Options{URL: strings.Replace(url, "tls://", "nats://", 1), ConnectRetry: 3 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "check bus.tls") {
		t.Errorf("client without the CA: %v; want a refusal naming bus.tls", err)
	}
}
