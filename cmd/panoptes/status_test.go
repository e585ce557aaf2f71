package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// panoptes status reaches a running node through its bus.listen and shows
// it as its site's live leader owning every resource.
func TestStatusShowsRunningNode(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs panoptes")
	}
	dir := t.TempDir()
	listen := freeTCP(t)
	dev := closedUDP(t)
	writeFile(t, filepath.Join(dir, "devices.csv"), fmt.Sprintf("id,endpoint\nsw1,%[1]s\nsw2,%[1]s\nsw3,%[1]s\n", dev))
	cfgPath := filepath.Join(dir, "p.yaml")
	writeFile(t, cfgPath, fmt.Sprintf(`site: lab
data_dir: data
http: {listen: ""}
bus: {listen: %q}
cluster: {node_id: status-test, heartbeat: 500ms}
discovery:
  sources: [{plugin: csv, path: devices.csv}]
snmp:
  credential: c
  credentials: {c: {version: 2c, community: x}}
polling:
  plugins: [{name: uptime, interval: 1m}]
`, listen))
	p := startRun(t, cfgPath)
	var out string
	waitFor(t, "status to show the node leading and owning 3 resources", 20*time.Second, p, func() bool {
		code, stdout, _ := runMain(t, "status", "--config", cfgPath)
		out = stdout
		return code == 0 && strings.Contains(stdout, "site lab: leader status-test") && strings.Contains(stdout, "3 resources")
	})
	t.Logf("panoptes status:\n%s", out)
	for _, want := range []string{"NODE", "status-test", "live,leader", " all "} {
		if !strings.Contains(out, want) {
			t.Errorf("status output lacks %q:\n%s", want, out)
		}
	}
	var row string
	for l := range strings.Lines(out) {
		if strings.HasPrefix(l, "status-test") {
			row = l
		}
	}
	if f := strings.Fields(row); len(f) < 7 || f[6] != "3" {
		t.Errorf("the node's row %q does not own 3 resources:\n%s", row, out)
	}
	p.stop(t)
}

func TestStatusNeedsABus(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "p.yaml")
	writeFile(t, cfgPath, "site: lab\n")
	code, _, stderr := runMain(t, "status", "--config", cfgPath)
	if code != 1 || !strings.Contains(stderr, "neither bus.url nor bus.listen") {
		t.Errorf("status without a bus: code %d, stderr %q", code, stderr)
	}
	writeFile(t, cfgPath, fmt.Sprintf("site: lab\nbus: {url: %q}\n", "nats://"+freeTCP(t)))
	code, _, stderr = runMain(t, "status", "--config", cfgPath)
	if code != 1 || !strings.Contains(stderr, "connect to the bus") {
		t.Errorf("status with nothing listening: code %d, stderr %q", code, stderr)
	}
}

func TestRunRejectsBadRoles(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "p.yaml")
	writeFile(t, cfgPath, "site: lab\n")
	code, _, stderr := runMain(t, "run", "--config", cfgPath, "--roles", "poller,pollster")
	if code != 1 || !strings.Contains(stderr, `"pollster" is not a role`) {
		t.Errorf("run --roles with a bad role: code %d, stderr %q", code, stderr)
	}
}
