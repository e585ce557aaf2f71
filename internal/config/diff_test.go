package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const reloadBase = `site: dc1
data_dir: /var/lib/panoptes
discovery:
  sources:
    - name: lab
      plugin: csv
      path: devices.csv
snmp:
  credentials:
    default: {version: 2c, community: public}
polling:
  plugins:
    - name: interface
      plugin: interface
      interval: 30s
    - name: uptime
      plugin: uptime
      interval: 60s
sinks:
  - name: out
    type: file
    path: out.jsonl
`

func parseIn(t *testing.T, dir, text string) *Config {
	t.Helper()
	cfg, err := Parse(filepath.Join(dir, "panoptes.yaml"), []byte(text), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestCompare(t *testing.T) {
	dir := t.TempDir()
	base := parseIn(t, dir, reloadBase)
	edit := func(old, new string) string {
		t.Helper()
		if !strings.Contains(reloadBase, old) {
			t.Fatalf("%q is not in the base config", old)
		}
		return strings.Replace(reloadBase, old, new, 1)
	}
	cases := []struct {
		name, text string
		check      func(d Diff) bool
		want       string // Diff.String()
	}{
		{"same", "# a comment\n" + reloadBase, func(d Diff) bool { return d.Empty() && d.Err() == nil }, "no change"},
		{"interval", edit("interval: 30s", "interval: 10s"),
			func(d Diff) bool { return slices.Equal(d.Plugins.Changed, []string{"interface"}) && d.Err() == nil },
			"polling.plugins: changed interface"},
		{"plugin options", edit("interval: 60s", "interval: 60s\n      options: {x: 1}"),
			func(d Diff) bool { return slices.Equal(d.Plugins.Changed, []string{"uptime"}) },
			"polling.plugins: changed uptime"},
		{"sink added and one removed", edit("  - name: out\n", "  - name: two\n    type: file\n    path: two.jsonl\n  - name: out\n") + "  - name: three\n    type: file\n    path: three.jsonl\n",
			func(d Diff) bool {
				return slices.Equal(d.Sinks.Added, []string{"three", "two"}) && d.Sinks.Changed == nil && d.Err() == nil
			}, "sinks: added three, two"},
		{"sink path", edit("path: out.jsonl", "path: other.jsonl"),
			func(d Diff) bool { return slices.Equal(d.Sinks.Changed, []string{"out"}) }, "sinks: changed out"},
		{"plugin removed", strings.Replace(reloadBase, "    - name: uptime\n      plugin: uptime\n      interval: 60s\n", "", 1),
			func(d Diff) bool { return slices.Equal(d.Plugins.Removed, []string{"uptime"}) }, "polling.plugins: removed uptime"},
		{"defaults change sources", edit("discovery:\n", "discovery:\n  defaults: {class: server}\n"),
			func(d Diff) bool { return slices.Equal(d.Sources.Changed, []string{"lab"}) && d.Err() == nil },
			"discovery.sources: changed lab"},
		{"log level", reloadBase + "log: {level: debug}\n",
			func(d Diff) bool { return slices.Equal(d.Live, []string{"log.level"}) && d.Err() == nil }, "log.level"},
		{"restart", edit("site: dc1", "site: dc2\nbus: {url: \"nats://h:4222\"}\nhttp: {listen: \"127.0.0.1:9999\"}\nroles: [poller]"),
			func(d Diff) bool {
				return slices.Equal(d.Restart, []string{"site", "http.listen", "bus.url", "roles"})
			}, "discovery.sources: changed lab; restart needed for site, http.listen, bus.url, roles"},
		{"snmp community", edit("community: public", "community: private"),
			func(d Diff) bool {
				return slices.Equal(d.Live, []string{"snmp.credentials.default.community"}) && d.LiveChanged("snmp") && !d.LiveChanged("log.level") && d.Err() == nil
			}, "snmp.credentials.default.community"},
		{"checks at once", edit("polling:\n", "polling:\n  max_concurrent_checks: 64\n"),
			func(d Diff) bool { return d.Err() == nil && d.LiveChanged("polling.max_concurrent_checks") }, "polling.max_concurrent_checks"},
		{"discovery interval", edit("discovery:\n", "discovery:\n  interval: 90s\n"),
			func(d Diff) bool { return d.Err() == nil && slices.Equal(d.Live, []string{"discovery.interval"}) }, "discovery.interval"},
		{"snmp transport", edit("snmp:\n", "snmp:\n  transport: connected\n"),
			func(d Diff) bool { return slices.Equal(d.Restart, []string{"snmp.transport"}) }, "restart needed for snmp.transport"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := Compare(base, parseIn(t, dir, c.text))
			if !c.check(d) {
				t.Errorf("diff %+v", d)
			}
			if c.want != "" && d.String() != c.want {
				t.Errorf("String() = %q, want %q", d.String(), c.want)
			}
			if len(d.Restart) > 0 {
				err := d.Err()
				if err == nil || !strings.Contains(err.Error(), "restart needed for "+d.Restart[0]) {
					t.Errorf("Err() = %v, want 'restart needed for %s'", err, d.Restart[0])
				}
				if strings.Contains(err.Error(), "private") {
					t.Errorf("Err() shows a secret: %v", err)
				}
			}
		})
	}
}

// A secret file rewritten between two loads of the same text is a change
// of the instance that names it.
func TestCompareSecretFile(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "token")
	if err := os.WriteFile(secret, []byte("one\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	text := reloadBase + "  - name: hook\n    type: webhook\n    url: http://127.0.0.1:1/\n    token_file: token\n"
	before := parseIn(t, dir, text)
	if d := Compare(before, parseIn(t, dir, text)); !d.Empty() {
		t.Fatalf("same text, same file: %v", d)
	}
	if err := os.WriteFile(secret, []byte("two\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d := Compare(before, parseIn(t, dir, text))
	if !slices.Equal(d.Sinks.Changed, []string{"hook"}) || len(d.Restart) > 0 {
		t.Errorf("rewritten secret file: %+v, want sinks changed: hook", d)
	}
}
