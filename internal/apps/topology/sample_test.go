package topology

import (
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/apps"
	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/node"
	_ "github.com/panoptes-go/panoptes/internal/poll/lldp" // the sample's plugin
)

// TestSample: sample.yaml loads through the real loader and validation
// (what panoptes validate runs) and its app builds with its options.
func TestSample(t *testing.T) {
	cfg, err := config.Load("sample.yaml", node.Check)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Apps) != 1 || cfg.Apps[0].Plugin != "topology" || !cfg.HasRole("topology") {
		t.Fatalf("apps %+v, roles %v", cfg.Apps, cfg.Roles)
	}
	a, err := apps.Build("topology", cfg.Apps[0].Options, apps.Deps{Name: "topology"})
	if err != nil {
		t.Fatal(err)
	}
	if a.(*nodeApp).interval != 30*time.Second {
		t.Errorf("reconcile_interval not applied: %+v", a)
	}
}

// TestBadOptions: option errors name file, line and key.
func TestBadOptions(t *testing.T) {
	for _, c := range []struct{ yaml, want string }{
		{"apps:\n  - plugin: topology\n    options:\n      reconcile_interval: 10ms\n", "bad.yaml:4: apps[0].options.reconcile_interval: 10ms is too short"},
		{"apps:\n  - plugin: topology\n    options:\n      interval: 1m\n", `bad.yaml:4: apps[0].options.interval: unknown key "interval"`},
	} {
		_, err := config.Parse("bad.yaml", []byte(c.yaml), func(string) (string, bool) { return "", false }, node.Check)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("got  %v\nwant %s", err, c.want)
		}
	}
}

// TestTwoInstancesMount: a second instance on the node leaves the paths to
// the first instead of crashing the node (the mux panics on a pattern
// registered twice).
func TestTwoInstancesMount(t *testing.T) {
	mux := http.NewServeMux()
	env := &apps.Env{Name: "a", Handle: mux.Handle, Logger: slog.New(slog.DiscardHandler)}
	h := http.NotFoundHandler()
	for range 2 {
		for _, p := range Paths {
			mount(env, p, h)
		}
	}
}
