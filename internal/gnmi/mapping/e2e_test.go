package mapping_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	pb "github.com/openconfig/gnmi/proto/gnmi"

	"github.com/panoptes-go/panoptes/gnmimaps"
	"github.com/panoptes-go/panoptes/internal/gnmi"
	"github.com/panoptes-go/panoptes/internal/gnmi/mapping"
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

func startTarget(t *testing.T, template string) *gnmisim.Target {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	farm, err := sim.Start(ctx, sim.Options{Devices: 1, Templates: []string{template}, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = farm.Close() })
	srv, err := gnmisim.Start(ctx, farm.Devices(), gnmisim.Options{UpdateInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv.Targets()[0]
}

func TestExplore(t *testing.T) {
	set := shipped(t)
	tg := startTarget(t, "router400")
	c, err := gnmi.Dial(gnmi.Config{Address: tg.Addr})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, enc := range []pb.Encoding{pb.Encoding_PROTO, pb.Encoding_JSON_IETF} {
		ns, err := c.Once(context.Background(), &gnmi.Request{Encoding: enc, Subscriptions: set.Subscriptions(10 * time.Second)})
		if err != nil {
			t.Fatal(err)
		}
		st := set.NewState(mapping.Options{Name: "x"})
		for _, n := range ns {
			st.Notification(n)
		}
		res := &resource.Resource{ID: "r"}
		gs := st.Build(res, 10*time.Second, time.Now(), true)
		counts := map[string]int{}
		for _, g := range gs {
			counts[g.Type]++
		}
		t.Logf("%v: %d notifications, %d groups %v missing %v", enc, len(ns), len(gs), counts, st.Missing())
		for _, g := range gs {
			if g.Type != "interface" || counts[g.Type] < 0 {
				b, _ := json.Marshal(struct{ M, D any }{g.Metrics, g.Dimensions})
				t.Logf("%s %s", g.Type, b)
				counts[g.Type] = -1
			}
		}
		b, _ := json.Marshal(gs[100].Dimensions)
		t.Logf("%s %v", b, gs[100].Metrics)
	}
	ns, err := c.Get(context.Background(), "", []string{"/interfaces/interface[name=xe-0/0/1]"}, pb.Encoding_JSON_IETF)
	if err != nil {
		t.Fatal(err)
	}
	st := set.NewState(mapping.Options{Name: "x"})
	for _, n := range ns {
		st.Notification(n)
	}
	gs := st.Build(&resource.Resource{ID: "r"}, 10*time.Second, time.Now(), true)
	b, _ := json.Marshal(gs)
	t.Logf("get json: %s", b)
}
