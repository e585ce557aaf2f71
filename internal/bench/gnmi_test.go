package bench

import (
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/input"
	_ "github.com/panoptes-go/panoptes/internal/input/gnmi" // the harness's input
	"github.com/panoptes-go/panoptes/internal/node"
)

// The gNMI harness's generated configuration must load with the real
// loader and the node's checks, with its encoding and mappings reaching
// the gnmi input.
func TestGNMIConfigYAMLLoads(t *testing.T) {
	o := GNMIOptions{Options: Options{Interval: 10 * time.Second}, Encoding: "json_ietf", Mappings: []string{"openconfig-interfaces", "openconfig-platform"},
		Flush: 250 * time.Millisecond}
	cfg, err := config.Parse("bench.yaml", []byte(gnmiConfigYAML(o)), func(string) (string, bool) { return "", false }, node.Check)
	if err != nil {
		t.Fatalf("generated config does not load: %v", err)
	}
	if len(cfg.Inputs) != 1 || cfg.Inputs[0].Plugin != "gnmi" || cfg.Inputs[0].Interval.D() != 10*time.Second || len(cfg.Polling.Plugins) != 0 {
		t.Fatalf("inputs %+v, polling plugins %d", cfg.Inputs, len(cfg.Polling.Plugins))
	}
	var opts struct {
		Encoding string   `yaml:"encoding"`
		Mappings []string `yaml:"mappings"`
		Flush    string   `yaml:"flush"`
	}
	if err := cfg.Inputs[0].Options.Decode(&opts); err != nil || opts.Encoding != "json_ietf" || len(opts.Mappings) != 2 || opts.Flush != "250ms" {
		t.Errorf("options %+v (%v)", opts, err)
	}
	if _, err := input.Build("gnmi", cfg.Inputs[0].Options, input.Deps{Name: "gnmi", Interval: 10 * time.Second}); err != nil {
		t.Errorf("the input does not build: %v", err)
	}
}
