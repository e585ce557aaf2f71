package command

import (
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/discovery/discoverytest"
)

func TestSample(t *testing.T) {
	sample, err := filepath.Abs("sample.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, srcs := discoverytest.LoadSample(t, sample)
	c := srcs["cmdb"].(*Command)
	if want := filepath.Join(filepath.Dir(sample), "cmdb-export.sh"); c.command != want {
		t.Errorf("command %q, want %q: next to the config file", c.command, want)
	}
	if !slices.Equal(c.args, []string{"--site", "dc1"}) || c.format != "csv" || c.timeout != 30*time.Second || c.name != "cmdb" || c.defaults.Site != "dc1" {
		t.Errorf("source = %+v", c)
	}
}

func TestBadOptions(t *testing.T) {
	for _, c := range []struct{ yaml, want string }{
		{"discovery:\n  sources:\n    - plugin: command\n      format: csv\n", "bad.yaml:3: discovery.sources[0].command: is empty; give the program that prints the devices as CSV or JSON"},
		{"discovery:\n  sources:\n    - plugin: command\n      command: /bin/true\n      format: xml\n      timeout: -1s\n",
			"bad.yaml:5: discovery.sources[0].format: \"xml\" is not one of: csv, json\nbad.yaml:6: discovery.sources[0].timeout: -1s must not be negative"},
		{"discovery:\n  sources:\n    - plugin: command\n      command: cmdb-export\n      url: http://x\n",
			`bad.yaml:5: discovery.sources[0].url: unknown key "url" (check its spelling and indentation; known keys here: args, classify, classify_ttl, command, format, min_valid_ratio, name, plugin, timeout)`},
	} {
		_, err := config.Parse("bad.yaml", []byte(c.yaml), func(string) (string, bool) { return "", false }, discoverytest.Check)
		if err == nil || err.Error() != c.want {
			t.Errorf("%q:\n got %v\nwant %s", c.yaml, err, c.want)
		}
	}
	cfg, err := config.Parse("/etc/panoptes/p.yaml", []byte("discovery:\n  sources:\n    - {plugin: command, command: cmdb-export}\n"), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	srcs, err := discoverytest.Build(cfg)
	if err != nil || srcs["command"].(*Command).command != "cmdb-export" {
		t.Errorf("a bare command is left for PATH: %v", err)
	}
}
