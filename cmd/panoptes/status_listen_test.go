package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/testutil/pki"
)

// A node whose client listener requires listen_users and mutual TLS: a
// poller process joins it through bus.url with its own user and
// certificate, and panoptes status, run with the node's own config, shows
// both. Status with a wrong password or a certificate from another CA
// fails at once naming the keys to check, and no password shows anywhere.
func TestStatusThroughSecuredListener(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs panoptes processes")
	}
	ca, other := pki.New(t), pki.New(t)
	nodeCert, nodeKey := ca.Issue(t, "node")
	pollerCert, pollerKey := ca.Issue(t, "poller")
	otherCert, otherKey := other.Issue(t, "intruder")
	const statusPW, pollerPW, wrong = "status-l1sten", "poller-l1sten", "wr0ng-l1sten"
	dir := t.TempDir()
	listen := freeTCP(t)
	dev := closedUDP(t)
	writeFile(t, filepath.Join(dir, "devices.csv"), fmt.Sprintf("id,endpoint\nsw1,%[1]s\nsw2,%[1]s\nsw3,%[1]s\nsw4,%[1]s\n", dev))
	common := `http: {listen: ""}
discovery:
  sources: [{plugin: csv, path: devices.csv}]
snmp:
  credential: c
  credentials: {c: {version: 2c, community: x}}
polling:
  plugins: [{name: uptime, interval: 1m}]
`
	node := func(extra string) string {
		return fmt.Sprintf(`site: lab
data_dir: node-data
bus:
  listen: %q
  listen_users:
    - {user: status, password: %q}
    - {user: poller, password: %q}
  listen_tls: {cert_file: %q, key_file: %q, ca_file: %q, verify: true}
%scluster: {node_id: secured-node, heartbeat: 500ms}
%s`, listen, statusPW, pollerPW, nodeCert, nodeKey, ca.CAFile, extra, common)
	}
	nodePath := filepath.Join(dir, "node.yaml")
	writeFile(t, nodePath, node(""))
	pollerPath := filepath.Join(dir, "poller.yaml")
	writeFile(t, pollerPath, fmt.Sprintf(`site: lab
data_dir: poller-data
roles: [poller]
bus:
  url: tls://%s
  user: poller
  password: %q
  tls: {ca_file: %q, cert_file: %q, key_file: %q}
cluster: {node_id: secured-poller, heartbeat: 500ms}
%s`, listen, pollerPW, ca.CAFile, pollerCert, pollerKey, common))

	n := startRun(t, nodePath)
	waitFor(t, "the node to lead its site", 30*time.Second, n, func() bool {
		code, stdout, _ := runMain(t, "status", "--config", nodePath)
		return code == 0 && strings.Contains(stdout, "site lab: leader secured-node")
	})
	p := startRun(t, pollerPath)
	var out string
	waitFor(t, "status (with the node's config) to show the poller that joined through the secured listener", 30*time.Second, p, func() bool {
		code, stdout, _ := runMain(t, "status", "--config", nodePath)
		out = stdout
		return code == 0 && strings.Contains(stdout, "secured-poller") && strings.Contains(stdout, "4 resources") &&
			!strings.Contains(stdout, "with no live poller")
	})
	t.Logf("panoptes status through listen_users and listen_tls:\n%s", out)

	for _, c := range []struct{ name, extra, want string }{
		{"wrong password", fmt.Sprintf("  user: status\n  password: %q\n", wrong), "bus.listen_users"},
		{"certificate from another CA", fmt.Sprintf("  tls: {ca_file: %q, cert_file: %q, key_file: %q}\n", ca.CAFile, otherCert, otherKey), "bus.listen_tls"},
		{"node not trusted", fmt.Sprintf("  tls: {ca_file: %q, cert_file: %q, key_file: %q}\n", other.CAFile, pollerCert, pollerKey), "check bus.tls"},
	} {
		t.Run(c.name, func(t *testing.T) {
			bad := filepath.Join(dir, "bad.yaml")
			// The bus keys go under bus:, before cluster:.
			writeFile(t, bad, node(c.extra))
			start := time.Now()
			code, _, stderr := runMain(t, "status", "--config", bad)
			t.Logf("exit %d in %s: %s", code, time.Since(start).Round(time.Millisecond), strings.TrimSpace(stderr))
			if code != 1 || !strings.Contains(stderr, c.want) {
				t.Errorf("status exit %d; want 1 and an error naming %q", code, c.want)
			}
			for _, pw := range []string{statusPW, pollerPW, wrong} {
				if strings.Contains(stderr, pw) {
					t.Errorf("stderr shows a password: %q", stderr)
				}
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("status took %s to fail on a permanent error", d)
			}
		})
	}
	p.stop(t)
	n.stop(t)
	for name, log := range map[string]string{"node": n.log(), "poller": p.log()} {
		for _, pw := range []string{statusPW, pollerPW, wrong} {
			if strings.Contains(log, pw) {
				t.Errorf("the %s's log shows a password", name)
			}
		}
	}
}
