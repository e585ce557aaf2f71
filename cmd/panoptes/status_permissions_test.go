package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// lockedDownPermissions is the subject list docs/TOPOLOGY.md ("NATS
// permissions") gives a node's user on a locked-down NATS cluster; keep
// the two in step.
var lockedDownPermissions = &server.Permissions{
	Publish: &server.SubjectPermission{Allow: []string{
		"panoptes.metrics.>", "panoptes.deadletter.>", "panoptes.cluster.heartbeat", "panoptes.api.>",
		"$JS.API.>", "$JS.ACK.>", "$JS.FC.>",
		"$KV.panoptes_inventory.>", "$KV.panoptes_members.>", "$KV.panoptes_leaders.>",
		"$KV.panoptes_rate_state.>", "$KV.panoptes_enrichment.>",
	}},
	Subscribe: &server.SubjectPermission{Allow: []string{"panoptes.cluster.heartbeat", "panoptes.api.>", "_INBOX.>"}},
	// The status page's answers (in parts) to the requests a node received.
	Response: &server.ResponsePermission{MaxMsgs: -1, Expires: time.Minute},
}

// A node and panoptes status work on an external NATS server whose user
// has only the documented permissions: the node leads its site, owns the
// inventory and its sink writes; nothing is refused (the server logs every
// permissions violation, and the node's log would show the async error).
func TestStatusWithDocumentedPermissions(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs panoptes against a NATS server")
	}
	const password = "perm-s3cret"
	violations := &violationLog{}
	srv, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: server.RANDOM_PORT, NoSigs: true, JetStream: true, StoreDir: t.TempDir(),
		Users: []*server.User{{Username: "node", Password: password, Permissions: lockedDownPermissions}},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.SetLoggerV2(violations, false, false, false)
	srv.Start()
	defer func() { srv.Shutdown(); srv.WaitForShutdown() }()
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("NATS server not ready")
	}
	dir := t.TempDir()
	dev := closedUDP(t)
	writeFile(t, filepath.Join(dir, "devices.csv"), fmt.Sprintf("id,endpoint\nsw1,%[1]s\nsw2,%[1]s\n", dev))
	sinkPath := filepath.Join(dir, "metrics.jsonl")
	cfgPath := filepath.Join(dir, "node.yaml")
	writeFile(t, cfgPath, fmt.Sprintf(`site: lab
data_dir: data
http: {listen: ""}
bus: {url: %q, user: node, password: %q}
cluster: {node_id: perm-node, heartbeat: 500ms}
discovery:
  sources: [{plugin: csv, path: devices.csv}]
snmp:
  credential: c
  credentials: {c: {version: 2c, community: x}}
  timeout: 200ms
  retries: 0
polling:
  plugins: [{name: uptime, interval: 2s}]
sinks:
  - {type: file, path: %q, batch_timeout: 200ms}
`, srv.ClientURL(), password, sinkPath))
	p := startRun(t, cfgPath)
	var out string
	waitFor(t, "status to show the node leading and owning 2 resources, and its sink writing", 30*time.Second, p, func() bool {
		code, stdout, _ := runMain(t, "status", "--config", cfgPath)
		out = stdout
		b, _ := os.ReadFile(sinkPath)
		return code == 0 && strings.Contains(stdout, "site lab: leader perm-node") && strings.Contains(stdout, "2 resources") &&
			strings.Count(string(b), "\n") >= 4
	})
	t.Logf("panoptes status with the documented permissions:\n%s", out)
	// A status page request, as another node asks it: the node answers.
	nc, err := nats.Connect(srv.ClientURL(), nats.UserInfo("node", password))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	answer, err := nc.Request("panoptes.api.lab.states", []byte(`{}`), 10*time.Second)
	if err != nil || answer.Header.Get("Panoptes-Node") != "perm-node" || !strings.Contains(string(answer.Data), `"states"`) {
		t.Errorf("the node's answer to a status page request: %v %+v", err, answer)
	}
	time.Sleep(2 * time.Second) // a few more heartbeats and polls
	p.stop(t)
	if v := violations.String(); v != "" {
		t.Errorf("the server refused subjects the documented permissions lack:\n%s", v)
	}
	if log := p.log(); strings.Contains(strings.ToLower(log), "permissions violation") {
		t.Errorf("the node saw a permissions violation:\n%s", log)
	}
}

// violationLog keeps the server's errors about permissions ("Publish
// Violation", "Subscription Violation", ...).
type violationLog struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (l *violationLog) Noticef(string, ...any) {}
func (l *violationLog) Warnf(string, ...any)   {}
func (l *violationLog) Debugf(string, ...any)  {}
func (l *violationLog) Tracef(string, ...any)  {}
func (l *violationLog) Fatalf(f string, a ...any) {
	l.Errorf(f, a...)
}

func (l *violationLog) Errorf(f string, a ...any) {
	msg := fmt.Sprintf(f, a...)
	if low := strings.ToLower(msg); !strings.Contains(low, "permission") && !strings.Contains(low, "violation") {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.WriteString(msg + "\n")
}

func (l *violationLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
