package main

import (
	"crypto/tls"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/panoptes-go/panoptes/internal/testutil/pki"
)

// startSecureNATS runs an external JetStream server that requires TLS and
// a user and password, as a production cluster would.
func startSecureNATS(t *testing.T, user, password string) (url, caFile string) {
	t.Helper()
	ca := pki.New(t)
	certFile, keyFile := ca.Issue(t, "nats")
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: server.RANDOM_PORT, NoSigs: true,
		JetStream: true, StoreDir: t.TempDir(),
		Users: []*server.User{{Username: user, Password: password}},
		TLS:   true, TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		TLSTimeout: 5,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("NATS server not ready")
	}
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	return "tls://" + srv.Addr().String(), ca.CAFile
}

// panoptes status reaches a node whose bus is an external cluster with TLS
// and a password, with the node's own config; with a wrong password or
// without the CA it fails at once saying which keys to fix, and never
// shows the password.
func TestStatusOverTLSWithAuth(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs panoptes against a NATS server")
	}
	const password, wrong = "status-s3cret", "status-wr0ng"
	url, caFile := startSecureNATS(t, "panoptes", password)
	dir := t.TempDir()
	dev := closedUDP(t)
	writeFile(t, filepath.Join(dir, "devices.csv"), fmt.Sprintf("id,endpoint\nsw1,%[1]s\nsw2,%[1]s\n", dev))
	config := func(password, tlsSection string) string {
		return fmt.Sprintf(`site: lab
data_dir: data
http: {listen: ""}
bus:
  url: %s
  user: panoptes
  password: %s
  %s
cluster: {node_id: tls-node, heartbeat: 500ms}
discovery:
  sources: [{plugin: csv, path: devices.csv}]
snmp:
  credential: c
  credentials: {c: {version: 2c, community: x}}
polling:
  plugins: [{name: uptime, interval: 1m}]
`, url, password, tlsSection)
	}
	withCA := fmt.Sprintf("tls: {ca_file: %q}", caFile)
	cfgPath := filepath.Join(dir, "node.yaml")
	writeFile(t, cfgPath, config(password, withCA))
	p := startRun(t, cfgPath)
	var out string
	waitFor(t, "status over TLS to show the node leading and owning 2 resources", 30*time.Second, p, func() bool {
		code, stdout, _ := runMain(t, "status", "--config", cfgPath)
		out = stdout
		return code == 0 && strings.Contains(stdout, "site lab: leader tls-node") && strings.Contains(stdout, "2 resources")
	})
	t.Logf("panoptes status over TLS with a password:\n%s", out)

	for _, c := range []struct {
		name, password, tls, want string
	}{
		{"wrong password", wrong, withCA, "check bus.user/bus.password"},
		{"no CA", password, "", "check bus.tls"},
	} {
		t.Run(c.name, func(t *testing.T) {
			bad := filepath.Join(dir, "bad.yaml")
			writeFile(t, bad, config(c.password, c.tls))
			start := time.Now()
			code, _, stderr := runMain(t, "status", "--config", bad)
			t.Logf("%s: exit %d in %s: %s", c.name, code, time.Since(start).Round(time.Millisecond), strings.TrimSpace(stderr))
			if code != 1 || !strings.Contains(stderr, c.want) {
				t.Errorf("status exit %d, stderr %q; want 1 and %q", code, stderr, c.want)
			}
			if strings.Contains(stderr, password) || strings.Contains(stderr, wrong) {
				t.Errorf("stderr shows the password: %q", stderr)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("status took %s to fail on a permanent error", d)
			}
		})
	}
	p.stop(t)
	if log := p.log(); strings.Contains(log, password) {
		t.Errorf("the node's log shows the bus password")
	}
}
