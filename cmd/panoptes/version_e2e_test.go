package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The stamp make build and make release give (see the Makefile's LDFLAGS).
const (
	stampVersion = "v9.8.7-test"
	stampCommit  = "0123456789abcdef0123456789abcdef01234567"
	stampDate    = "2026-01-02T03:04:05Z"
)

// stampedBinary builds panoptes with the linker flags the Makefile uses, so
// a renamed variable that would silently unstamp releases fails here.
func stampedBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "panoptes")
	pkg := "github.com/panoptes-go/panoptes/internal/version"
	ldflags := fmt.Sprintf("-X %[1]s.Version=%[2]s -X %[1]s.Commit=%[3]s -X %[1]s.Date=%[4]s", pkg, stampVersion, stampCommit, stampDate)
	if out, err := exec.Command("go", "build", "-ldflags", ldflags, "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// One version everywhere: `version`, `--version`, the member record that
// `status` prints and panoptes_build_info; and a node under systemd
// (Type=notify) says READY=1 once it runs and STOPPING=1 when it stops.
func TestVersionEverywhereAndSystemdNotify(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs panoptes")
	}
	bin := stampedBinary(t)
	wantLine := fmt.Sprintf("panoptes %s (commit %s, built %s, go", stampVersion, stampCommit, stampDate)
	for _, args := range [][]string{{"version"}, {"--version"}} {
		out, err := exec.Command(bin, args...).Output()
		if err != nil || !strings.HasPrefix(string(out), wantLine) {
			t.Errorf("panoptes %s: %v, printed %q, want %q…", args[0], err, out, wantLine)
		}
	}

	dir := t.TempDir()
	notify := filepath.Join(dir, "notify")
	sd, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: notify, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer sd.Close()
	httpAddr, listen := freeTCP(t), freeTCP(t)
	writeFile(t, filepath.Join(dir, "devices.csv"), fmt.Sprintf("id,endpoint\nsw1,%s\n", closedUDP(t)))
	cfgPath := filepath.Join(dir, "p.yaml")
	writeFile(t, cfgPath, fmt.Sprintf(`site: lab
data_dir: data
http: {listen: %q}
bus: {listen: %q}
cluster: {node_id: version-test, heartbeat: 500ms}
discovery:
  sources: [{plugin: csv, path: devices.csv}]
snmp:
  credential: c
  credentials: {c: {version: 2c, community: x}}
polling:
  plugins: [{name: uptime, interval: 1m}]
`, httpAddr, listen))

	p := &proc{done: make(chan struct{})}
	p.cmd = exec.Command(bin, "run", "--config", cfgPath)
	p.cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+notify)
	p.cmd.Stdout, p.cmd.Stderr = &p.output, &p.output
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("panoptes run log:\n%s", p.log())
		}
	})

	if msg := readNotify(t, sd, 30*time.Second); !strings.HasPrefix(msg, "READY=1\n") {
		t.Fatalf("first notification %q, want READY=1", msg)
	}
	// Ready means ready: /readyz answers 200 by the time systemd hears it.
	if code, body := httpGet("http://" + httpAddr + "/readyz"); code != 200 {
		t.Errorf("/readyz after READY=1: %d %s", code, body)
	}
	_, metrics := httpGet("http://" + httpAddr + "/metrics")
	wantMetric := fmt.Sprintf(`panoptes_build_info{commit=%q,date=%q,goversion="go`, stampCommit, stampDate)
	if !strings.Contains(metrics, wantMetric) || !strings.Contains(metrics, fmt.Sprintf(`version=%q} 1`, stampVersion)) {
		t.Errorf("/metrics lacks %s…,version=%q} 1", wantMetric, stampVersion)
	}

	var status string
	waitFor(t, "status to list the node", 20*time.Second, p, func() bool {
		out, err := exec.Command(bin, "status", "--config", cfgPath).Output()
		status = string(out)
		return err == nil && strings.Contains(status, "version-test")
	})
	for l := range strings.Lines(status) {
		if strings.HasPrefix(l, "version-test") && !strings.Contains(l, " "+stampVersion+" ") {
			t.Errorf("status row %q does not show version %s:\n%s", l, stampVersion, status)
		}
	}

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if msg := readNotify(t, sd, 10*time.Second); !strings.HasPrefix(msg, "STOPPING=1\n") {
		t.Errorf("notification after SIGTERM %q, want STOPPING=1", msg)
	}
	select {
	case <-p.done:
		if p.err != nil {
			t.Errorf("panoptes run exited with %v after SIGTERM", p.err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("panoptes run did not stop within 30s of SIGTERM")
	}
}

func readNotify(t *testing.T, c *net.UnixConn, d time.Duration) string {
	t.Helper()
	buf := make([]byte, 4096)
	_ = c.SetReadDeadline(time.Now().Add(d))
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("no systemd notification within %s: %v", d, err)
	}
	return string(buf[:n])
}
