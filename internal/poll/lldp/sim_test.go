package lldp

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/poll"
	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/sim"
	"github.com/panoptes-go/panoptes/internal/snmp"
)

// simPoller polls the devices of a simulated network with the plugin.
type simPoller struct {
	t      *testing.T
	farm   *sim.Farm
	runner *poll.Runner
	plugin poll.Plugin
}

func newSimPoller(t *testing.T, devices int, templates ...string) *simPoller {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: serves simulated devices over UDP")
	}
	farm, err := sim.Start(context.Background(), sim.Options{Devices: devices, Templates: templates, Topology: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = farm.Close() })
	pool := snmp.NewPool(snmp.PoolOptions{})
	t.Cleanup(func() { _ = pool.Close() })
	runner := poll.NewRunner(poll.RunnerOptions{Pool: pool, SNMP: poll.SNMPOptions{
		Timeout: 2 * time.Second, Retries: 2, Credential: "sim",
		Credentials: map[string]*snmp.Credential{"sim": {Version: "2c", Community: sim.DefaultCommunity}}}})
	p, err := poll.New("lldp", nil)
	if err != nil {
		t.Fatal(err)
	}
	return &simPoller{t: t, farm: farm, runner: runner, plugin: p}
}

// poll returns the neighbour groups of device d.
func (s *simPoller) poll(d *sim.Device) []*metric.Group {
	res := &resource.Resource{Site: "sim", Class: "network", Subclass: "switch", Type: "generic", ID: d.Name, Endpoint: d.Addr}
	set := s.runner.Run(context.Background(), "lldp", s.plugin, res, time.Minute)
	last := set.Groups[len(set.Groups)-1]
	if st, _ := last.Metric("polling_status"); st.Value.Int64() != metric.StatusSuccess {
		s.t.Fatalf("%s: polling_status %d (%s)", d.Name, st.Value.Int64(), last.Dimension("error"))
	}
	return set.Groups[:len(set.Groups)-1]
}

// seen is what the polls say: "device/local port → neighbour/port".
func (s *simPoller) seen() (links []string, chassis map[string]string) {
	chassis = map[string]string{}
	for _, d := range s.farm.Devices() {
		for _, g := range s.poll(d) {
			chassis[d.Name] = g.Dimension(DimLocalChassisID)
			if g.Dimension(DimLocalSystemName) != d.Name {
				s.t.Errorf("%s: local_system_name %q", d.Name, g.Dimension(DimLocalSystemName))
			}
			if m, _ := g.Metric(MetricPresent); m.Value.Int64() == 1 {
				links = append(links, fmt.Sprintf("%s/%s → %s/%s %s", d.Name, g.Dimension(DimLocalInterface),
					g.Dimension(DimName), g.Dimension(DimPort), g.Dimension(DimChassisID)))
			}
		}
	}
	sort.Strings(links)
	return links, chassis
}

// truth is what the network says, in the same form.
func truth(n sim.Network) []string {
	var out []string
	for _, l := range n.Links {
		if !l.Up {
			continue
		}
		out = append(out,
			fmt.Sprintf("%s/%s → %s/%s %s", l.A.Device, l.A.Port, l.B.Device, l.B.Port, n.Chassis[l.B.Device]),
			fmt.Sprintf("%s/%s → %s/%s %s", l.B.Device, l.B.Port, l.A.Device, l.A.Port, n.Chassis[l.A.Device]))
	}
	for _, e := range n.External {
		port := map[string]string{"phone": "SW PORT", "transit": "et-0/0/1"}[e.Kind]
		out = append(out, fmt.Sprintf("%s/%s → %s/%s %s", e.Port.Device, e.Port.Port, e.SysName, port, e.ChassisID))
	}
	sort.Strings(out)
	return out
}

// TestSimulatedNetwork: polling every device of a simulated network gives
// exactly its links (both ends), its neighbours outside the farm and each
// device's chassis id; a link taken down disappears from both ends' groups.
func TestSimulatedNetwork(t *testing.T) {
	s := newSimPoller(t, 12, "switch48", "switch48", "router400")
	n, _ := s.farm.Network()
	got, chassis := s.seen()
	if want := truth(n); !reflect.DeepEqual(got, want) {
		t.Fatalf("neighbours:\n%s\nwant:\n%s", join(got), join(want))
	}
	if !reflect.DeepEqual(chassis, n.Chassis) {
		t.Errorf("chassis ids %v, want %v", chassis, n.Chassis)
	}

	l := n.Links[len(n.Links)-1]
	if err := s.farm.SetInterface(l.A.Device, l.A.Port, false); err != nil {
		t.Fatal(err)
	}
	n, _ = s.farm.Network()
	got, _ = s.seen()
	if want := truth(n); !reflect.DeepEqual(got, want) {
		t.Fatalf("after %s/%s went down:\n%s\nwant:\n%s", l.A.Device, l.A.Port, join(got), join(want))
	}
	for _, end := range []sim.Port{l.A, l.B} {
		var d *sim.Device
		for _, x := range s.farm.Devices() {
			if x.Name == end.Device {
				d = x
			}
		}
		found := false
		for _, g := range s.poll(d) {
			if g.Dimension(DimLocalInterface) == end.Port {
				m, _ := g.Metric(MetricPresent)
				found = m.Value.Int64() == 0 && g.Dimension(DimName) == ""
			}
		}
		if !found {
			t.Errorf("%s/%s: no neighbor_present 0 group after its link went down", end.Device, end.Port)
		}
	}
}

func join(l []string) string {
	out := ""
	for _, s := range l {
		out += "  " + s + "\n"
	}
	return out
}
