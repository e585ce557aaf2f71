package uptime

import (
	"testing"

	"github.com/panoptes-go/panoptes/internal/poll/polltest"
)

func TestSample(t *testing.T) {
	cfg, plugins := polltest.Load(t, "sample.yaml")
	if _, ok := plugins["uptime"].(*Uptime); !ok || cfg.Polling.Plugins[0].Interval.D().Seconds() != 10 {
		t.Fatalf("uptime is a %T every %s", plugins["uptime"], cfg.Polling.Plugins[0].Interval.D())
	}
}

func TestBadOptions(t *testing.T) {
	polltest.BadOptions(t, map[string]string{
		"polling:\n  plugins:\n    - plugin: uptime\n      options:\n        oid: x\n": `bad.yaml:6: polling.plugins[0].options.oid: unknown key "oid" (check its spelling and indentation; known keys here: )`,
	})
}
