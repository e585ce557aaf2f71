package mapping_test

import (
	"context"
	"testing"
	"time"

	pb "github.com/openconfig/gnmi/proto/gnmi"

	"github.com/panoptes-go/panoptes/gnmimaps"
	"github.com/panoptes-go/panoptes/internal/gnmi"
	"github.com/panoptes-go/panoptes/internal/gnmi/mapping"
	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/sim"
	"github.com/panoptes-go/panoptes/internal/sim/gnmisim"
)

func shipped(t testing.TB) *mapping.Set {
	t.Helper()
	maps, err := mapping.LoadFS(gnmimaps.FS, ".")
	if err != nil {
		t.Fatal(err)
	}
	return mapping.NewSet(maps...)
}

// startFarm serves one device of the template over SNMP and gNMI.
func startFarm(t *testing.T, template string, every time.Duration) (*sim.Device, *gnmisim.Target) {
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
	srv, err := gnmisim.Start(ctx, farm.Devices(), gnmisim.Options{UpdateInterval: every})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return farm.Devices()[0], srv.Targets()[0]
}

var testResource = &resource.Resource{Site: "dc1", Class: "network", Subclass: "switch", Type: "sim", ID: "dev1", Endpoint: "dev1",
	Metadata: map[string]string{}}

// once reads the set's paths with Subscribe ONCE into a fresh State and
// builds every row.
func once(t *testing.T, set *mapping.Set, addr string, enc pb.Encoding) ([]*metric.Group, *mapping.State) {
	t.Helper()
	c, err := gnmi.Dial(gnmi.Config{Address: addr, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ns, err := c.Once(context.Background(), &gnmi.Request{Encoding: enc, Subscriptions: set.Subscriptions(10 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	st := set.NewState(mapping.Options{Name: addr})
	for _, n := range ns {
		st.Notification(n)
	}
	return st.Build(testResource, 10*time.Second, time.Now(), true), st
}

func byType(gs []*metric.Group, typ string) []*metric.Group {
	var out []*metric.Group
	for _, g := range gs {
		if g.Type == typ {
			out = append(out, g)
		}
	}
	return out
}

func byDim(gs []*metric.Group, dim string) map[string]*metric.Group {
	out := map[string]*metric.Group{}
	for _, g := range gs {
		out[g.Dimension(dim)] = g
	}
	return out
}

func metricOf(t *testing.T, g *metric.Group, name string) metric.Metric {
	t.Helper()
	m, ok := g.Metric(name)
	if !ok {
		t.Fatalf("group %s %v has no metric %s", g.Type, g.Dimensions, name)
	}
	return m
}
