package main

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/sim"
)

// TestPollLLDP: panoptes poll --plugin lldp against a device of the
// simulated network prints its neighbours as neighbor groups.
func TestPollLLDP(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: serves simulated devices")
	}
	farm, err := sim.Start(context.Background(), sim.Options{Devices: 3, Templates: []string{"switch48", "router400", "router400"}, Topology: true})
	if err != nil {
		t.Fatal(err)
	}
	defer farm.Close()
	sw := farm.Devices()[0]
	code, stdout, stderr := runMain(t, "poll", "--endpoint", sw.Addr, "--community", "public", "--plugin", "lldp")
	if code != 0 {
		t.Fatalf("poll: code %d\n%s", code, stderr)
	}
	var set struct {
		Groups []*metric.Group `json:"metrics_group_set"`
	}
	if err := json.Unmarshal([]byte(stdout), &set); err != nil {
		t.Fatalf("poll output is not a metrics group set: %v\n%.500s", err, stdout)
	}
	net, _ := farm.Network()
	want := map[string]string{}
	for _, l := range net.Links {
		if l.A.Device == sw.Name {
			want[l.A.Port] = l.B.Device
		}
	}
	for _, e := range net.External {
		if e.Port.Device == sw.Name {
			want[e.Port.Port] = e.SysName
		}
	}
	got := map[string]string{}
	for _, g := range set.Groups {
		if g.Type == "neighbor" && g.Dimension("neighbor_name") != "" {
			got[g.Dimension("local_interface")] = g.Dimension("neighbor_name")
		}
	}
	if len(got) != len(want) || len(want) != 3 {
		t.Fatalf("neighbours %v, want %v", got, want)
	}
	for p, n := range want {
		if got[p] != n {
			t.Errorf("%s: neighbour %q, want %q", p, got[p], n)
		}
	}
	if st := statusOf(set.Groups)[sw.Addr]; st != metric.StatusSuccess {
		t.Errorf("polling_status = %d", st)
	}
}
