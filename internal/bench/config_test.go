package bench

import (
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/config"
)

// The harness's generated configuration must load with the real loader,
// and --enrichment, --rates and --snmp-transport must reach the config.
func TestConfigYAMLLoads(t *testing.T) {
	for i, enrich := range []bool{false, true} {
		transport := []string{config.SNMPTransportShared, config.SNMPTransportConnected}[i]
		o := Options{Plugin: "interface", ChecksPerDevice: 2, Interval: time.Minute, MaxConcurrent: 64, Enrichment: enrich, Rates: enrich, SNMPTransport: transport, SinkBatchTimeout: time.Second}
		cfg, err := config.Parse("bench.yaml", []byte(configYAML(o, "")), func(string) (string, bool) { return "", false })
		if err != nil {
			t.Fatalf("enrichment=%v: generated config does not load: %v", enrich, err)
		}
		if got := time.Duration(cfg.Sinks[0].BatchTimeout); got != time.Second {
			t.Fatalf("the file sink's batch_timeout %v, want the option's 1s", got)
		}
		if cfg.SNMP.Transport != transport {
			t.Fatalf("snmp.transport %q, want %q", cfg.SNMP.Transport, transport)
		}
		if got := len(cfg.Polling.Plugins); got != 2 {
			t.Fatalf("enrichment=%v: %d plugins, want 2", enrich, got)
		}
		for _, p := range cfg.Polling.Plugins {
			var o struct {
				Enrichment bool `yaml:"enrichment"`
			}
			if err := p.Options.Decode(&o); err != nil || o.Enrichment != enrich {
				t.Errorf("enrichment=%v: plugin %s has options %+v (%v)", enrich, p.Name, o, err)
			}
			if rates := p.Rates == "all"; rates != enrich {
				t.Errorf("rates=%v: plugin %s has rates %v", enrich, p.Name, p.Rates)
			}
		}
	}
}

// With --bus-process the pipeline's config points at the bus process, whose
// own config must load and serve the bus on the chosen address.
func TestBusProcessConfigsLoad(t *testing.T) {
	env := func(string) (string, bool) { return "", false }
	o := Options{Plugin: "uptime", ChecksPerDevice: 1, Interval: time.Second, MaxConcurrent: 64, SNMPTransport: config.SNMPTransportShared}
	cfg, err := config.Parse("bench.yaml", []byte(configYAML(o, "nats://127.0.0.1:14222")), env)
	if err != nil {
		t.Fatalf("pipeline config with a bus url does not load: %v", err)
	}
	if cfg.Bus.URL != "nats://127.0.0.1:14222" || cfg.Bus.Compression != "s2" {
		t.Fatalf("bus.url %q, compression %q (want the default, s2)", cfg.Bus.URL, cfg.Bus.Compression)
	}
	o.Compression = "zstd" // --compression, beside the url
	if cfg, err = config.Parse("bench.yaml", []byte(configYAML(o, "nats://127.0.0.1:14222")), env); err != nil {
		t.Fatalf("--compression zstd: %v", err)
	}
	if cfg.Bus.Compression != "zstd" || cfg.Bus.URL == "" {
		t.Fatalf("--compression zstd: compression %q, url %q", cfg.Bus.Compression, cfg.Bus.URL)
	}
	bus, err := config.Parse("bus.yaml", []byte(busConfigYAML("127.0.0.1:14222", "/tmp/x/data")), env)
	if err != nil {
		t.Fatalf("bus config does not load: %v", err)
	}
	if bus.Bus.Listen != "127.0.0.1:14222" || bus.DataDir != "/tmp/x/data" || bus.Bus.URL != "" {
		t.Fatalf("bus config: listen %q, data_dir %q, url %q", bus.Bus.Listen, bus.DataDir, bus.Bus.URL)
	}
	if bus.HasRole(config.RolePoller) || bus.HasRole(config.RoleConsumer) {
		t.Fatalf("bus process runs roles %v; want only the bus", bus.Roles)
	}
}
