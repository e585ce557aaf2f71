package bus_test

import (
	"context"
	"crypto/tls"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"github.com/panoptes-go/panoptes/internal/bus"
	"github.com/panoptes-go/panoptes/internal/wire"
)

// startTLSServer runs a JetStream server that requires TLS and either a
// user/password or an NKey, like a production cluster would.
func startTLSServer(t *testing.T, certFile, keyFile, nkeyPub string) *server.Server {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	opts := &server.Options{
		Host: "127.0.0.1", Port: server.RANDOM_PORT, NoSigs: true,
		JetStream: true, StoreDir: t.TempDir(),
		Users: []*server.User{{Username: "panoptes", Password: "s3cret-pw"}},
		Nkeys: []*server.NkeyUser{{Nkey: nkeyPub}},
		TLS:   true, TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		TLSTimeout: 2,
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("TLS server not ready")
	}
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	return srv
}

// TestExternalTLSAndAuth connects to an external server over TLS with
// user/password and with an NKey seed file, and checks that wrong
// credentials or an unknown CA fail fast with an error that says what to fix
// and does not show the password.
func TestExternalTLSAndAuth(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a NATS server")
	}
	caFile, certFile, keyFile := testPKI(t)
	user, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := user.PublicKey()
	seed, _ := user.Seed()
	seedFile := filepath.Join(t.TempDir(), "user.nk")
	if err := os.WriteFile(seedFile, seed, 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startTLSServer(t, certFile, keyFile, pub)
	url := "tls://" + srv.Addr().String()

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for name, opts := range map[string]bus.Options{
		"user/password": {User: "panoptes", Password: "s3cret-pw"},
		"nkey":          {NKeySeedFile: seedFile},
	} {
		t.Run(name, func(t *testing.T) {
			opts.URL = "nats://127.0.0.1:1," + url // the first URL is down: the client moves on
			opts.TLS = bus.TLS{CAFile: caFile}
			opts.MaxBytes = 64 << 20
			b, err := bus.Open(ctx, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			if n, err := b.PublishSet(ctx, interfaceSet(testResource("s", "sw1"), 4)); n != 5 || err != nil {
				t.Fatalf("PublishSet over TLS = %d, %v", n, err)
			}
			if err := b.Ready(); err != nil {
				t.Fatal(err)
			}
		})
	}

	for _, tc := range []struct {
		name string
		opts bus.Options
		want string
	}{
		{"wrong password", bus.Options{User: "panoptes", Password: "wrong-pw", TLS: bus.TLS{CAFile: caFile}}, "check bus.user"},
		{"unknown CA", bus.Options{User: "panoptes", Password: "s3cret-pw"}, "check bus.tls"},
		{"no TLS", bus.Options{URL: strings.Replace(url, "tls://", "nats://", 1), User: "panoptes", Password: "s3cret-pw"}, "check bus.tls"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.opts.URL == "" {
				tc.opts.URL = url
			}
			start := time.Now()
			b, err := bus.Open(ctx, tc.opts)
			if err == nil {
				b.Close()
				t.Fatal("Open succeeded")
			}
			t.Logf("%s: %v", tc.name, err)
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "pw") {
				t.Errorf("error %q shows the password", err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("Open took %s to report a permanent error; it must not retry", d)
			}
		})
	}
	// InsecureSkipVerify (tests only) accepts the unknown CA.
	b, err := bus.Open(ctx, bus.Options{URL: url, User: "panoptes", Password: "s3cret-pw", TLS: bus.TLS{InsecureSkipVerify: true}, MaxBytes: 64 << 20})
	if err != nil {
		t.Fatalf("Open with insecure_skip_verify: %v", err)
	}
	b.Close()
}

// TestConnect: the stream-free connection for tools uses the same
// credentials and TLS as Open, creates nothing on the server, and fails at
// once with what to fix (and without the password) on bad credentials.
func TestConnect(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a NATS server")
	}
	caFile, certFile, keyFile := testPKI(t)
	user, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := user.PublicKey()
	srv := startTLSServer(t, certFile, keyFile, pub)
	url := "tls://" + srv.Addr().String()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	nc, err := bus.Connect(ctx, bus.Options{URL: url, User: "panoptes", Password: "s3cret-pw", TLS: bus.TLS{CAFile: caFile}, Name: "tool"})
	if err != nil {
		t.Fatal(err)
	}
	if !nc.IsConnected() || !nc.TLSRequired() {
		t.Errorf("connection: connected %v, TLS %v", nc.IsConnected(), nc.TLSRequired())
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.Stream(ctx, wire.MetricsStream); !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Errorf("stream %s after Connect: %v; Connect must create no stream", wire.MetricsStream, err)
	}
	nc.Close()

	for _, tc := range []struct {
		name string
		opts bus.Options
		want string
	}{
		{"wrong password", bus.Options{URL: url, User: "panoptes", Password: "wrong-pw", TLS: bus.TLS{CAFile: caFile}}, "check bus.user/bus.password"},
		{"unknown CA", bus.Options{URL: url, User: "panoptes", Password: "s3cret-pw"}, "check bus.tls"},
		{"no URL", bus.Options{User: "panoptes", Password: "s3cret-pw"}, "no URL"},
		{"two kinds of credentials", bus.Options{URL: url, User: "panoptes", Password: "s3cret-pw", CredsFile: "/x.creds"}, "one kind of credentials"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			nc, err := bus.Connect(ctx, tc.opts)
			if err == nil {
				nc.Close()
				t.Fatal("Connect succeeded")
			}
			t.Logf("%v", err)
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "pw") {
				t.Errorf("error %q shows the password", err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("Connect took %s to report a permanent error; it must not retry", d)
			}
		})
	}
}
