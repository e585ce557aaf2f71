package lldp

import (
	"strings"
	"testing"

	"github.com/panoptes-go/panoptes/internal/config"
	_ "github.com/panoptes-go/panoptes/internal/discovery/csv" // the sample's source
	"github.com/panoptes-go/panoptes/internal/node"
	"github.com/panoptes-go/panoptes/internal/poll"
)

// TestSample: sample.yaml loads through the real loader and validation
// (what panoptes validate runs) and its lldp instance builds.
func TestSample(t *testing.T) {
	cfg, err := config.Load("sample.yaml", node.Check)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, pc := range cfg.Polling.Plugins {
		if pc.Plugin != "lldp" {
			continue
		}
		n++
		p, err := poll.Build(pc.Plugin, pc.Options)
		if err != nil {
			t.Fatalf("%s: %v", pc.Name, err)
		}
		if pl := p.(*Plugin); !pl.cdp || !pl.emptyPorts {
			t.Errorf("sample options not applied: %+v", pl)
		}
	}
	if n != 1 {
		t.Fatalf("%d lldp instances in sample.yaml, want 1", n)
	}
}

// TestBadOptions: option errors name file, line and key.
func TestBadOptions(t *testing.T) {
	for _, c := range []struct{ yaml, want string }{
		{"polling:\n  plugins:\n    - plugin: lldp\n      options:\n        cpd: true\n", `bad.yaml:6: polling.plugins[0].options.cpd: unknown key "cpd" (check its spelling and indentation; known keys here: cdp, empty_ports)`},
		{"polling:\n  plugins:\n    - plugin: lldp\n      options:\n        cdp: maybe\n", `bad.yaml:6: polling.plugins[0].options.cdp: "maybe" is a string, want true or false`},
	} {
		_, err := config.Parse("bad.yaml", []byte("snmp: {credential: a, credentials: {a: {version: 2c, community: c}}}\n"+c.yaml),
			func(string) (string, bool) { return "", false }, node.Check)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%q:\n got %v\nwant %s...", c.yaml, err, c.want)
		}
	}
}
