package bench

import (
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/config"
)

// The harness's generated configuration must load with the real loader,
// and --enrichment and --snmp-transport must reach the config.
func TestConfigYAMLLoads(t *testing.T) {
	for i, enrich := range []bool{false, true} {
		transport := []string{config.SNMPTransportShared, config.SNMPTransportConnected}[i]
		o := Options{Plugin: "interface", ChecksPerDevice: 2, Interval: time.Minute, MaxConcurrent: 64, Enrichment: enrich, SNMPTransport: transport}
		cfg, err := config.Parse("bench.yaml", []byte(configYAML(o)), func(string) (string, bool) { return "", false })
		if err != nil {
			t.Fatalf("enrichment=%v: generated config does not load: %v", enrich, err)
		}
		if cfg.SNMP.Transport != transport {
			t.Fatalf("snmp.transport %q, want %q", cfg.SNMP.Transport, transport)
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
