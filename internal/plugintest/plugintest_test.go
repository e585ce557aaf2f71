package plugintest_test

import (
	"context"
	"strings"
	"testing"

	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/discovery"
	"github.com/panoptes-go/panoptes/internal/node"
	"github.com/panoptes-go/panoptes/internal/plugin"
	_ "github.com/panoptes-go/panoptes/internal/plugintest/constcheck"
	_ "github.com/panoptes-go/panoptes/internal/plugintest/memsink"
	_ "github.com/panoptes-go/panoptes/internal/plugintest/staticsource"
	"github.com/panoptes-go/panoptes/internal/poll"
	"github.com/panoptes-go/panoptes/internal/sink"
)

func noEnv(string) (string, bool) { return "", false }

const good = `site: lab
snmp:
  credential: c
  credentials: {c: {version: 2c, community: c}}
discovery:
  sources:
    - name: listed
      plugin: static
      devices:
        - {id: a, endpoint: 127.0.0.1}
        - {id: b, endpoint: 127.0.0.2}
polling:
  plugins:
    - name: answer
      plugin: constant
      interval: 10s
      options: {group: answer, value: 42}
sinks:
  - name: mem
    type: memory
    keep: 10
`

// Three plugins, each one folder registering itself, go through the
// config loader and validation (node.Check: what `panoptes validate` and
// start-up run) like the built-in ones, and work from what they decoded.
func TestThrowawayPlugins(t *testing.T) {
	cfg, err := config.Parse("lab.yaml", []byte(good), noEnv, node.Check)
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Discovery.Sources[0]
	src, err := discovery.Build(s.Plugin, s.Options, discovery.Deps{Name: s.Name, Defaults: discovery.Defaults{Site: "lab"}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := src.Discover(context.Background())
	if err != nil || len(res.Set.Resources) != 2 || res.Set.Resources[1].ID != "b" || res.Set.Resources[0].Plugin != "listed" {
		t.Fatalf("static source: %+v, %v", res, err)
	}

	p := cfg.Polling.Plugins[0]
	check, err := poll.Build(p.Plugin, p.Options)
	if err != nil {
		t.Fatal(err)
	}
	groups, err := check.Poll(context.Background(), &poll.Request{Resource: res.Set.Resources[0], Interval: p.Interval.D()})
	if err != nil || len(groups) != 1 || groups[0].Type != "answer" || groups[0].Metrics[0].Value.Float64() != 42 {
		t.Fatalf("constant plugin: %+v, %v", groups, err)
	}

	c, err := sink.New(cfg.Sinks[0], sink.Deps{})
	if err != nil || c.Name() != "mem" {
		t.Fatalf("memory sink: %v", err)
	}
}

// Their option errors read like every other: file, line, key, reason, all
// of them in one run, beside the core config's own.
func TestThrowawayPluginErrors(t *testing.T) {
	bad := strings.NewReplacer(
		"        - {id: b, endpoint: 127.0.0.2}", "        - {id: \"\", endpoint: 127.0.0.2}",
		"options: {group: answer, value: 42}", "options: {group: status, vlaue: 42}",
		"    keep: 10", "    keep: 0",
		"site: lab", "site: lab.x",
	).Replace(good)
	_, err := config.Parse("bad.yaml", []byte(bad), noEnv, node.Check)
	want := []string{
		"bad.yaml:1: site: \"lab.x\" must not contain spaces, '.', '*' or '>'",
		"bad.yaml:11: discovery.sources[0].devices[1].id: is empty",
		`bad.yaml:17: polling.plugins[0].options.vlaue: unknown key "vlaue" (check its spelling and indentation; known keys here: group, value)`,
		"bad.yaml:21: sinks[0].keep: 0 must be at least 1",
	}
	if err == nil || err.Error() != strings.Join(want, "\n") {
		t.Errorf("errors:\n%v\nwant:\n%s", err, strings.Join(want, "\n"))
	}
	for _, e := range plugin.Flatten(err) {
		if _, ok := e.(*plugin.Error); !ok {
			t.Errorf("%v is not a located *plugin.Error", e)
		}
	}
}
