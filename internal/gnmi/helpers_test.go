package gnmi_test

import (
	"context"
	"strings"
	"testing"
	"time"

	pb "github.com/openconfig/gnmi/proto/gnmi"

	"github.com/panoptes-go/panoptes/internal/gnmi"
	"github.com/panoptes-go/panoptes/internal/sim"
	"github.com/panoptes-go/panoptes/internal/sim/gnmisim"
)

// startTarget serves one simulated device of the template over gNMI (the
// reference target implementation of package gnmisim).
func startTarget(t *testing.T, template string, opts gnmisim.Options) *gnmisim.Target {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test (a simulated gNMI target): not with -short")
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	farm, err := sim.Start(ctx, sim.Options{Devices: 1, Templates: []string{template}, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = farm.Close() })
	if opts.UpdateInterval == 0 {
		opts.UpdateInterval = 200 * time.Millisecond
	}
	srv, err := gnmisim.Start(ctx, farm.Devices(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv.Targets()[0]
}

func dial(t *testing.T, cfg gnmi.Config) *gnmi.Client {
	t.Helper()
	c, err := gnmi.Dial(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// leafPath is a notification's one update's full path.
func leafPath(n *pb.Notification) string {
	if len(n.GetUpdate()) == 0 {
		return ""
	}
	return gnmi.Join(n.GetPrefix(), n.GetUpdate()[0].GetPath())
}

// leaves maps full paths to decoded scalar values.
func leaves(t *testing.T, ns []*pb.Notification) map[string]any {
	t.Helper()
	out := map[string]any{}
	for _, n := range ns {
		for _, u := range n.GetUpdate() {
			v, err := gnmi.Scalar(u.GetVal())
			if err != nil {
				t.Fatalf("%s: %v", gnmi.Join(n.GetPrefix(), u.GetPath()), err)
			}
			out[gnmi.Join(n.GetPrefix(), u.GetPath())] = v
		}
	}
	return out
}

func countPrefix(m map[string]any, prefix string) int {
	n := 0
	for k := range m {
		if strings.HasPrefix(k, prefix) {
			n++
		}
	}
	return n
}
