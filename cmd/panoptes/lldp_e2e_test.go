package main

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/sim"
	"github.com/panoptes-go/panoptes/internal/testutil/lldplab"
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

// TestPollLLDPD: panoptes poll --plugin lldp against the snmpd of a
// network namespace whose lldpd (AgentX subagent) hears real LLDP frames
// from two neighbours (a chain n0 - n1 - n2): the middle node's groups
// name both, with their chassis ids and management addresses.
func TestPollLLDPD(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: network namespaces, lldpd, snmpd")
	}
	lab := lldplab.Start(t, 3, [][2]int{{0, 1}, {1, 2}})
	mid := lab.Nodes[1]
	want := map[string]string{mid.Ports[0]: "n0 " + lab.Nodes[0].Addr, mid.Ports[1]: "n2 " + lab.Nodes[2].Addr}
	var got map[string]string
	var stdout, stderr string
	var code int
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		code, stdout, stderr = runMain(t, "poll", "--endpoint", mid.Addr, "--community", lldplab.Community, "--plugin", "lldp", "--timeout", "1s")
		var set struct {
			Groups []*metric.Group `json:"metrics_group_set"`
		}
		got = map[string]string{}
		if code == 0 && json.Unmarshal([]byte(stdout), &set) == nil {
			for _, g := range set.Groups {
				if g.Type == "neighbor" && g.Dimension("neighbor_name") != "" {
					if g.Dimension("neighbor_chassis_id_type") != "MAC_ADDRESS" || len(g.Dimension("neighbor_chassis_id")) != 17 ||
						g.Dimension("local_system_name") != mid.Name {
						t.Errorf("neighbour group %v", g.Dimensions)
					}
					got[g.Dimension("local_interface")] = g.Dimension("neighbor_name") + " " + g.Dimension("neighbor_address")
				}
			}
		}
		if len(got) == len(want) && got[mid.Ports[0]] == want[mid.Ports[0]] && got[mid.Ports[1]] == want[mid.Ports[1]] {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("neighbours %v, want %v (code %d)\n%s\n%.2000s", got, want, code, stderr, stdout)
		}
	}
}
