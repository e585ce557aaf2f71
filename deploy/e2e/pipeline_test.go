// Package e2e runs the real pipeline into real stores and executes every
// query of the Grafana dashboards under deploy/grafana against them, as
// Grafana would: a panel whose query returns no series fails the test.
// Under CI=true a missing InfluxDB or Prometheus fails it too.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/testutil/freeport"
	"github.com/panoptes-go/panoptes/internal/testutil/logbuf"
)

// pipeline is a panoptes sim process serving the devices and a panoptes
// run process polling them into the sinks. Both are the real binary: the
// test depends on its configuration file and flags only.
type pipeline struct {
	HTTP       string // the node's /metrics, host:port
	Exposition string // the prometheus sink's endpoint, host:port
	dir        string
}

// stores are where the pipeline writes.
type stores struct {
	InfluxURL, InfluxDB string
	RemoteWriteURL      string
}

// buildPanoptes builds the binary once per test process.
var buildPanoptes = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "panoptes-e2e-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "panoptes")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/panoptes-go/panoptes/cmd/panoptes").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// startPipeline starts the simulator (a Cisco 2960-X from the built-in
// template and an edge router recording with BGP, environment, CPU and
// memory) and a node polling them, plus a device that does not answer,
// every 2 s with the interface, uptime, profile and bgp plugins, rates on.
func startPipeline(t *testing.T, st stores, httpAddr, exposition string) *pipeline {
	t.Helper()
	bin, err := buildPanoptes()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	rec, err := filepath.Abs(filepath.Join("testdata", "edge-router.snmprec"))
	if err != nil {
		t.Fatal(err)
	}
	simCSV := filepath.Join(dir, "sim.csv")
	startProcess(t, "sim", dir, bin, "sim", "--devices", "2", "--base-port", "0",
		"--template", "switch48", "--template", rec, "--inventory", simCSV)
	inventory := waitInventory(t, simCSV, 3)
	// A device nobody answers for: its checks fail (network failure), which
	// the failure panels and the status tables need to show something.
	// Columns as sim writes them: id,endpoint,subclass,type,snmp_credential,model.
	if !strings.HasPrefix(inventory, "id,endpoint,subclass,type,snmp_credential,model\n") {
		t.Fatalf("the simulator's inventory has other columns:\n%s", inventory)
	}
	inventory += fmt.Sprintf("dead-0003,127.0.0.1:%d,switch,cisco,sim,dead\n", freeport.UDP(t))
	writeFile(t, filepath.Join(dir, "devices.csv"), inventory)

	p := &pipeline{HTTP: httpAddr, Exposition: exposition, dir: dir}
	writeFile(t, filepath.Join(dir, "panoptes.yaml"), fmt.Sprintf(`site: lab
data_dir: bus
http: {listen: %q}
log: {level: warn}
discovery:
  interval: 1m
  sources: [{plugin: csv, path: devices.csv}]
snmp:
  timeout: 1s
  retries: 0
  credential: sim
  credentials: {sim: {version: 2c, community: public}}
polling:
  plugins:
    - {name: interface, interval: 2s, rates: all}
    - {name: uptime, interval: 2s}
    - {name: device-health, plugin: profile, interval: 2s}
    - {name: bgp, interval: 2s, rates: all, filter: 'resource_metadata.model = "edge-router"'}
sinks:
  - {name: influx, type: influxdb, batch_timeout: 200ms, influxdb: {url: %q, database: %q}}
  - {name: prometheus, type: prometheus, prometheus: {listen: %q}}
  - {name: remote-write, type: prometheus_remote_write, batch_timeout: 200ms, prometheus: {url: %q}}
`, p.HTTP, st.InfluxURL, st.InfluxDB, p.Exposition, st.RemoteWriteURL))
	startProcess(t, "run", dir, bin, "run", "--config", filepath.Join(dir, "panoptes.yaml"))
	return p
}

// startProcess runs bin with args in dir until the test ends (SIGTERM,
// then SIGKILL after 15 s); its output is logged when the test fails.
func startProcess(t *testing.T, name, dir, bin string, args ...string) {
	t.Helper()
	var out logbuf.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start panoptes %s: %v", name, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("panoptes %s output (tail):\n%s", name, tail(out.String(), 6000))
		}
	})
	select {
	case <-done:
		t.Fatalf("panoptes %s exited at once:\n%s", name, tail(out.String(), 4000))
	case <-time.After(200 * time.Millisecond):
	}
}

// waitInventory waits until the simulator wrote an inventory of n lines
// (header included) and returns it.
func waitInventory(t *testing.T, path string, n int) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, err := os.ReadFile(path)
		if err == nil && bytes.Count(b, []byte("\n")) >= n {
			return string(b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the simulator wrote no inventory of %d lines to %s within 30s (%v)", n, path, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// tail is the last n bytes of s, from a line start.
func tail(s string, n int) string {
	if len(s) > n {
		s = s[len(s)-n:]
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			s = s[i+1:]
		}
	}
	return s
}
