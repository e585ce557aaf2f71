package iface

import (
	"slices"
	"testing"

	"github.com/panoptes-go/panoptes/internal/poll/polltest"
)

func TestSample(t *testing.T) {
	_, plugins := polltest.Load(t, "sample.yaml")
	p, ok := plugins["interface"].(*Interface)
	if !ok || p.opts.includeDot3 || !p.opts.enrichment || !slices.Equal(p.opts.exclude, []string{"Vl*", "Null*"}) {
		t.Fatalf("interface = %#v, want the sample's options", plugins["interface"])
	}
}

func TestBadOptions(t *testing.T) {
	polltest.BadOptions(t, map[string]string{
		"polling:\n  plugins:\n    - plugin: interface\n      options:\n        exclude: [\"[a\"]\n": `bad.yaml:6: polling.plugins[0].options.exclude[0]: "[a" is not a valid glob (use *, ? and [...])`,
		"polling:\n  plugins:\n    - plugin: interface\n      options:\n        include_dot: true\n": `bad.yaml:6: polling.plugins[0].options.include_dot: unknown key "include_dot" (check its spelling and indentation; known keys here: enrichment, exclude, include_dot3)`,
	})
}
