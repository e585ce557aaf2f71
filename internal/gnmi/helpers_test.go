package gnmi_test

import (
	"context"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/sim"
	"github.com/panoptes-go/panoptes/internal/sim/gnmisim"
)

// startTarget serves one simulated device of the template over gNMI
// (and SNMP: the farm it comes from).
func startTarget(t *testing.T, template string, opts gnmisim.Options) (*gnmisim.Target, *sim.Farm) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	farm, err := sim.Start(ctx, sim.Options{Devices: 1, Templates: []string{template}, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = farm.Close() })
	if opts.UpdateInterval == 0 {
		opts.UpdateInterval = 100 * time.Millisecond
	}
	srv, err := gnmisim.Start(ctx, farm.Devices(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv.Targets()[0], farm
}
