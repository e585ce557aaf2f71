package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/poll"
	"github.com/panoptes-go/panoptes/internal/testutil/freeport"
)

// Every failed polling status has a hint (no empty reason after
// "polling status 6 (missing_metrics):"), and the README's table lists
// every status 0-8 with its name.
func TestStatusHints(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for s := metric.StatusSuccess; s <= metric.StatusEnrichFailure; s++ {
		if s != metric.StatusSuccess {
			set := &metric.GroupSet{Groups: []*metric.Group{{Type: "status", Metrics: []metric.Metric{
				{Name: "polling_status", Value: metric.Int(int64(s)), Type: metric.Gauge}}}}}
			err := statusError(set)
			prefix := fmt.Sprintf("polling status %d (%s): ", s, metric.StatusName(s))
			if err == nil || !strings.HasPrefix(err.Error(), prefix) || len(strings.TrimSpace(strings.TrimPrefix(err.Error(), prefix))) < 10 {
				t.Errorf("status %d: %v", s, err)
			}
		}
		row := fmt.Sprintf("| %d | `%s` | ", s, metric.StatusName(s))
		if !strings.Contains(string(readme), row) {
			t.Errorf("README.md has no row %q in its polling status table", row)
		}
	}
}

// poll --help lists the plugins --plugin takes.
func TestPollHelpListsPlugins(t *testing.T) {
	_, _, stderr := runMain(t, "poll", "--help")
	for _, name := range append(poll.Names(), "interface", "profile", "uptime") {
		if !strings.Contains(stderr, name) {
			t.Errorf("poll --help does not list plugin %q:\n%s", name, stderr)
		}
	}
}

// An unknown --credential says to pass --config only when none was passed;
// with one, it names the file and the credentials it has.
func TestPollCredentialMessages(t *testing.T) {
	_, _, stderr := runMain(t, "poll", "--endpoint", "127.0.0.1:1", "--credential", "v3lab")
	if !strings.Contains(stderr, "pass --config FILE") {
		t.Errorf("without --config: %s", stderr)
	}
	cfg := filepath.Join(t.TempDir(), "p.yaml")
	if err := os.WriteFile(cfg, []byte("snmp:\n  credential: lab\n  credentials:\n    lab: {version: 2c, community: public}\n    other: {version: 2c, community: x}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, stderr = runMain(t, "poll", "--endpoint", "127.0.0.1:1", "--credential", "v3lab", "--config", cfg)
	if strings.Contains(stderr, "pass --config") || !strings.Contains(stderr, `credential "v3lab" is not in `+cfg+"'s snmp.credentials (it has: lab, other)") {
		t.Errorf("with --config: %s", stderr)
	}
}

// The demo's config defines the credential sim's inventories name by
// default, so `panoptes sim --inventory` output works with it.
func TestDemoConfigMatchesSimInventory(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "panoptes.yaml")
	if err := os.WriteFile(path, []byte(demoConfig(15e9, "127.0.0.1:0")), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	_, _, stderr := runMain(t, "sim", "--help")
	if !strings.Contains(stderr, `(default "`+demoCredential+`")`) {
		t.Errorf("sim's --credential default is not %q:\n%s", demoCredential, stderr)
	}
	if _, ok := cfg.SNMP.Credentials[demoCredential]; !ok || cfg.SNMP.Credential != demoCredential {
		t.Errorf("the demo config's credentials %v, default %q; want %q", cfg.SNMP.Credentials, cfg.SNMP.Credential, demoCredential)
	}
}

// A busy port gets one hint naming the flag that sets it: the demo's --http,
// and --base-port for the simulated devices (said once, not twice).
func TestDemoBusyPorts(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the demo")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	busy := ln.Addr().String()
	code, _, stderr := runMain(t, "demo", "--dir", t.TempDir(), "--devices", "1", "--base-port", strconv.Itoa(freeport.UDP(t)), "--http", busy)
	want := "--http " + busy + `: address already in use; pass --http with a free address, or --http "" to disable`
	if code == 0 || !strings.Contains(stderr, want) || strings.Contains(stderr, "http.listen") {
		t.Errorf("busy --http: code %d, stderr:\n%s\nwant %s", code, stderr, want)
	}

	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	port := strconv.Itoa(udp.LocalAddr().(*net.UDPAddr).Port)
	code, _, stderr = runMain(t, "demo", "--dir", t.TempDir(), "--devices", "1", "--base-port", port, "--http", "")
	if code == 0 || strings.Count(stderr, "--base-port") != 1 {
		t.Errorf("busy --base-port: code %d, want one hint naming --base-port:\n%s", code, stderr)
	}
}
