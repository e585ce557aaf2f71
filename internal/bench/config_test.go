package bench

import (
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/config"
)

// The harness's generated configuration must load with the real loader,
// and --enrichment must reach the interface plugin's options.
func TestConfigYAMLLoads(t *testing.T) {
	for _, enrich := range []bool{false, true} {
		o := Options{Plugin: "interface", ChecksPerDevice: 2, Interval: time.Minute, MaxConcurrent: 64, Enrichment: enrich}
		cfg, err := config.Parse("bench.yaml", []byte(configYAML(o)), func(string) (string, bool) { return "", false })
		if err != nil {
			t.Fatalf("enrichment=%v: generated config does not load: %v", enrich, err)
		}
		if got := len(cfg.Polling.Plugins); got != 2 {
			t.Fatalf("enrichment=%v: %d plugins, want 2", enrich, got)
		}
		for _, p := range cfg.Polling.Plugins {
			if got, _ := p.Options["enrichment"].(bool); got != enrich {
				t.Errorf("enrichment=%v: plugin %s has options %v", enrich, p.Name, p.Options)
			}
		}
	}
}
