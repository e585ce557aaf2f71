package monitor

import (
	"strings"
	"testing"

	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/node"
	_ "github.com/panoptes-go/panoptes/internal/poll/bgp" // the sample's plugins
	_ "github.com/panoptes-go/panoptes/internal/poll/iface"
	_ "github.com/panoptes-go/panoptes/internal/sink/alertmanager" // the sample's sink
)

// TestSample: sample.yaml loads through the real loader and validation
// (what panoptes validate runs).
func TestSample(t *testing.T) {
	cfg, err := config.Load("sample.yaml", node.Check)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Apps) != 1 || cfg.Apps[0].Plugin != "events" || !cfg.HasRole("events") {
		t.Fatalf("apps %+v, roles %v", cfg.Apps, cfg.Roles)
	}
	_, err = config.Parse("bad.yaml", []byte("apps:\n  - plugin: events\n    options: {window: 5m}\n"), func(string) (string, bool) { return "", false }, node.Check)
	if err == nil || !strings.HasPrefix(err.Error(), `bad.yaml:3: apps[0].options.window: unknown key "window"`) {
		t.Errorf("an unknown option: %v", err)
	}
}
