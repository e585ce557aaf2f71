package profile

import (
	"testing"

	"github.com/panoptes-go/panoptes/internal/poll/polltest"
	engine "github.com/panoptes-go/panoptes/internal/profile"
)

// The sample loads through the real loader, its directory relative to the
// file, and restricts the groups.
func TestSample(t *testing.T) {
	_, plugins := polltest.Load(t, "sample.yaml")
	if _, ok := plugins["device-health"].(*engine.Plugin); !ok {
		t.Fatalf("device-health is a %T", plugins["device-health"])
	}
}

func TestBadOptions(t *testing.T) {
	polltest.BadOptions(t, map[string]string{
		"polling:\n  plugins:\n    - plugin: profile\n      options:\n        dir: [x]\n":       `bad.yaml:6: polling.plugins[0].options.dir: unknown key "dir" (check its spelling and indentation; known keys here: dirs, groups)`,
		"polling:\n  plugins:\n    - plugin: profile\n      options:\n        groups: [cpux]\n": `bad.yaml:6: polling.plugins[0].options.groups: no loaded profile defines group type "cpux"`,
	})
}
