package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runMain(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestUsageAndHelp(t *testing.T) {
	if code, _, stderr := runMain(t); code != 2 || !strings.Contains(stderr, "Commands:") {
		t.Errorf("no args: code %d, stderr %q", code, stderr)
	}
	if code, _, stderr := runMain(t, "frobnicate"); code != 2 || !strings.Contains(stderr, `unknown command "frobnicate"`) {
		t.Errorf("unknown command: code %d, stderr %q", code, stderr)
	}
	for name := range commands {
		code, _, stderr := runMain(t, name, "--help")
		if code != 0 || !strings.Contains(stderr, "Usage: panoptes "+name) {
			t.Errorf("%s --help: code %d, stderr %q", name, code, stderr)
		}
	}
	if code, _, _ := runMain(t, "validate", "--nope"); code != 2 {
		t.Errorf("bad flag: code %d, want 2", code)
	}
	if code, stdout, _ := runMain(t, "version"); code != 0 || !strings.HasPrefix(stdout, "panoptes ") {
		t.Errorf("version: code %d, stdout %q", code, stdout)
	}
}

func TestValidateExampleConfig(t *testing.T) {
	code, stdout, stderr := runMain(t, "validate", "--config", "../../examples/panoptes.yaml")
	if code != 0 || !strings.Contains(stdout, "ok (1 discovery sources, 2 polling plugins, 1 sinks)") {
		t.Fatalf("example config: code %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
}

func TestValidateRejectsBadConfig(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "bad.yaml")
	bad := "site: dc1\nsnmp:\n  credentials:\n    lab: {version: 2c, community: x}\n  credential: lab\npolling:\n  plugins:\n    - name: interface\n      options:\n        frobnicate: true\n    - name: bogus\n      interval: 1m\n"
	if err := os.WriteFile(p, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runMain(t, "validate", "--config", p)
	if code != 1 {
		t.Fatalf("code %d, want 1; stderr %s", code, stderr)
	}
	// A plugin's option is named at its own line and key (the plugin
	// decodes its block strictly).
	for _, want := range []string{p + `:10: polling.plugins[0].options.frobnicate: unknown key "frobnicate"`,
		p + `:11: polling.plugins[1].plugin: unknown polling plugin "bogus" (registered: `} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr %q does not contain %q", stderr, want)
		}
	}
}

// A config with four different problems prints four lines in one run, each
// file:line: key: reason: a bad duration does not hide an unknown key, an
// out-of-range value or a plugin option's typo.
func TestValidateReportsEveryProblem(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "four.yaml")
	bad := `site: dc1
snmp:
  timeout: fast
  retries: 99
  credentials:
    lab: {version: 2c, community: x}
  credential: lab
polling:
  plugins:
    - name: interface
      intervall: 1m
      options:
        frobnicate: true
`
	if err := os.WriteFile(p, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runMain(t, "validate", "--config", p)
	if code != 1 {
		t.Fatalf("code %d, want 1; stderr %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(strings.TrimPrefix(stderr, "panoptes validate: ")), "\n")
	want := []string{
		p + `:3: snmp.timeout: "fast" is not a duration`,
		p + ":4: snmp.retries: 99 is out of range 0..10",
		p + `:11: polling.plugins[0].intervall: unknown key "intervall"`,
		p + `:13: polling.plugins[0].options.frobnicate: unknown key "frobnicate" (check its spelling and indentation; known keys here: enrichment, exclude, include_dot3)`,
	}
	if len(lines) != 4 {
		t.Fatalf("%d lines, want 4:\n%s", len(lines), stderr)
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("line %d = %q, want it to start with %q", i+1, lines[i], w)
		}
	}
}
