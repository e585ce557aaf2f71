// Package archtest checks the import rules that keep the layers apart, so
// they stay true: a package listed here may not depend, directly or
// through others, on the packages it must not know.
package archtest

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/panoptes-go/panoptes/internal/"

// rules: package → packages it must not depend on (transitively).
var rules = map[string][]string{
	// The SNMP client knows OIDs and varbinds, not the data model.
	"snmp": {"config", "metric", "resource"},
	// Polling gets its settings from its caller, not from the config file.
	"poll": {"config", "node", "bus"},
	// Enrichment is asked for what to collect; it does not schedule.
	"enrich": {"schedule", "node"},
	// The pipeline works through its own small interfaces: no bus, no
	// cluster, no config, no node.
	"collector": {"bus", "cluster", "config", "node", "inventory"},
	// The plugin kinds' families know neither the node nor each other's
	// plugins.
	"input": {"node", "bus", "cluster"},
	"apps":  {"node", "cluster"},
	// What a node is made of knows neither the node nor the bus engine:
	// the node wires them (and declares their order).
	"parts":       {"node", "bus", "cluster"},
	"poller":      {"node", "bus"},
	"devicestate": {"node", "bus"},
	// Leaf packages.
	"plugin":  {"config", "node"},
	"service": {"config", "node", "bus"},
	"httpd":   {"config", "node", "bus"},
}

// deps lists, for each of pkgs, every package it depends on (.Deps is
// transitive), in one go list run.
func deps(t *testing.T, pkgs ...string) map[string][]string {
	t.Helper()
	args := []string{"list", "-f", "{{.ImportPath}} {{join .Deps \" \"}}"}
	for _, p := range pkgs {
		args = append(args, module+p)
	}
	out, err := exec.Command("go", args...).Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	m := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		m[strings.TrimPrefix(f[0], module)] = f[1:]
	}
	return m
}

func TestImportRules(t *testing.T) {
	var pkgs []string
	for p := range rules {
		pkgs = append(pkgs, p)
	}
	all := deps(t, pkgs...)
	if len(all) != len(rules) {
		t.Fatalf("go list answered for %d packages, want %d", len(all), len(rules))
	}
	for pkg, banned := range rules {
		for _, b := range banned {
			if slices.Contains(all[pkg], module+b) {
				t.Errorf("internal/%s depends on internal/%s (go list -deps ./internal/%s); it must not", pkg, b, pkg)
			}
		}
	}
	// The check sees through packages: a known dependency is found.
	if !slices.Contains(all["collector"], module+"metric") {
		t.Error("go list does not show internal/metric among internal/collector's dependencies")
	}
}
