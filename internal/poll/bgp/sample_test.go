package bgp

import (
	"testing"

	"github.com/panoptes-go/panoptes/internal/poll/polltest"
)

func TestSample(t *testing.T) {
	cfg, plugins := polltest.Load(t, "sample.yaml")
	b, ok := plugins["bgp"].(*BGP)
	if !ok || b.vendorTables || cfg.Polling.Plugins[0].Filter != `resource_subclass = "router"` {
		t.Fatalf("bgp = %#v, want the sample's options", plugins["bgp"])
	}
}

func TestBadOptions(t *testing.T) {
	polltest.BadOptions(t, map[string]string{
		"polling:\n  plugins:\n    - plugin: bgp\n      options:\n        vendor_table: false\n": `bad.yaml:6: polling.plugins[0].options.vendor_table: unknown key "vendor_table" (check its spelling and indentation; known keys here: vendor_tables)`,
	})
}
