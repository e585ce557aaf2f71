package topology

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/resource"
)

func res(id, endpoint string, meta ...string) *resource.Resource {
	r := &resource.Resource{Site: "dc1", Class: "network", Subclass: "switch", Type: "generic", ID: id, Endpoint: endpoint, Metadata: map[string]string{}}
	for i := 0; i+1 < len(meta); i += 2 {
		r.Metadata[meta[i]] = meta[i+1]
	}
	return r
}

// nb is a neighbor group: dims as "name=value" pairs.
func nb(r *resource.Resource, at float64, port string, kv ...string) *metric.Group {
	g := &metric.Group{Resource: r, Type: GroupType, Interval: 60, CreationTimestamp: at, SchemaVersion: metric.SchemaVersion,
		Dimensions: []metric.Dimension{{Name: dimLocalInterface, Value: port}}}
	present := int64(0)
	for _, p := range kv {
		name, value, _ := strings.Cut(p, "=")
		g.Dimensions = append(g.Dimensions, metric.Dimension{Name: name, Value: value})
		if strings.HasPrefix(name, "neighbor_") {
			present = 1
		}
	}
	g.Metrics = []metric.Metric{{Name: metricPresent, Value: metric.Int(present), Type: metric.Gauge, Timestamp: at}}
	return g
}

func record(groups ...*metric.Group) *Record {
	r := &Record{}
	r.apply(groups)
	return r
}

func linkStrings(g *Graph) []string {
	var out []string
	for _, l := range g.Links {
		seen := "both"
		if l.AView == nil {
			seen = "b"
		} else if l.BView == nil {
			seen = "a"
		}
		out = append(out, fmt.Sprintf("%s:%s -- %s:%s (%s)", l.A.Device, l.A.Port, l.B.Device, l.B.Port, seen))
	}
	sort.Strings(out)
	return out
}

func problemKinds(g *Graph) []string {
	var out []string
	for _, p := range g.Problems {
		out = append(out, p.Kind+"@"+p.Device+":"+p.Port)
	}
	sort.Strings(out)
	return out
}

func TestBuild(t *testing.T) {
	sw1, sw2 := res("sw1", "10.0.0.1"), res("sw2", "10.0.0.2")
	core := res("core1.dc1", "10.0.0.10:161", "sys_name", "core1.dc1.example.net")
	unpolled := res("dist9", "10.0.0.9")
	dupA, dupB := res("dupA", "10.0.0.20", "sys_name", "twin"), res("dupB", "10.0.0.21", "sys_name", "twin")
	inv := []*resource.Resource{sw1, sw2, core, unpolled, dupA, dupB}
	const at = 1000
	recs := []*Record{
		record(
			nb(sw1, at, "Gi1/0/49", "local_chassis_id=02:00:00:00:00:01", "local_system_name=sw1",
				"neighbor_name=core1.dc1.example.net", "neighbor_chassis_id=02:00:00:00:00:10", "neighbor_chassis_id_type=MAC_ADDRESS",
				"neighbor_port=xe-0/0/3", "neighbor_protocol=lldp"),
			// CDP names the far port in full: still sw2's Gi1/0/50
			nb(sw1, at, "Gi1/0/50", "neighbor_name=sw2", "neighbor_port=GigabitEthernet1/0/50", "neighbor_protocol=cdp"),
			nb(sw1, at, "Gi1/0/1", "neighbor_name=SEP001B54000001", "neighbor_chassis_id=00:1b:54:00:00:01",
				"neighbor_chassis_id_type=MAC_ADDRESS", "neighbor_port=Port 1", "neighbor_address=10.200.0.1"),
			// seen by address only: the unpolled distribution switch
			nb(sw1, at, "Gi1/0/48", "neighbor_chassis_id=0a1b", "neighbor_chassis_id_type=LOCAL", "neighbor_address=10.0.0.9",
				"neighbor_port=Te1/1/1"),
			nb(sw1, at, "Gi1/0/2", "neighbor_chassis_id=aa:bb:cc", "neighbor_chassis_id_type=MAC_ADDRESS", "neighbor_name=broken"),
			nb(sw1, at, "Gi1/0/3", "neighbor_chassis_id=02:00:00:00:00:01", "neighbor_chassis_id_type=MAC_ADDRESS", "neighbor_name=echo"),
			nb(sw1, at, "Gi1/0/4", "neighbor_name=twin"),
			nb(sw1, at, "Gi1/0/5", "neighbor_protocol=lldp"),
			nb(sw1, at-500, "Gi1/0/6", "neighbor_name=sw2", "neighbor_port=Gi1/0/6"), // aged out
			nb(sw1, at, "Gi1/0/7"),                                                   // no neighbour
		),
		record(
			nb(sw2, at, "Gi1/0/50", "local_chassis_id=02:00:00:00:00:02", "local_system_name=sw2",
				"neighbor_name=sw1", "neighbor_port=Gi1/0/50", "neighbor_chassis_id=02:00:00:00:00:01", "neighbor_chassis_id_type=MAC_ADDRESS"),
			nb(sw2, at, "Gi1/0/1", "neighbor_name=SEP001B54000002", "neighbor_chassis_id=00:1b:54:00:00:02", "neighbor_chassis_id_type=MAC_ADDRESS"),
		),
		record(
			// the core sees sw1 by chassis id only, on its port by another name
			nb(core, at, "xe-0/0/3", "local_chassis_id=02:00:00:00:00:10", "local_system_name=core1.dc1.example.net",
				"neighbor_chassis_id=02:00:00:00:00:01", "neighbor_chassis_id_type=MAC_ADDRESS", "neighbor_port=Gi1/0/49"),
			// and sw2 by its host name, one-sided: sw2 does not report it
			nb(core, at, "xe-0/0/4", "neighbor_name=SW2.example.net", "neighbor_port=gi1/0/51"),
		),
	}
	g := Build(recs, inv, at+10)
	want := []string{
		"core1.dc1:xe-0/0/3 -- sw1:Gi1/0/49 (both)",
		"core1.dc1:xe-0/0/4 -- sw2:gi1/0/51 (a)",
		"dist9:Te1/1/1 -- sw1:Gi1/0/48 (b)",
		"sw1:Gi1/0/50 -- sw2:Gi1/0/50 (both)",
	}
	if got := linkStrings(g); !reflect.DeepEqual(got, want) {
		t.Errorf("links:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	wantProblems := []string{
		"duplicate_system_name@:", // twin claimed by dupA and dupB
		"duplicate_system_name@sw1:Gi1/0/4",
		"malformed_chassis_id@sw1:Gi1/0/2",
		"neighbor_is_itself@sw1:Gi1/0/3",
		"unidentified_neighbor@sw1:Gi1/0/5",
	}
	if got := problemKinds(g); !reflect.DeepEqual(got, wantProblems) {
		t.Errorf("problems %q, want %q", got, wantProblems)
	}
	if len(g.Candidates) != 2 || g.Candidates[0].Name != "SEP001B54000001" || g.Candidates[0].Address != "10.200.0.1" ||
		g.Candidates[1].SeenFrom[0].Device != "sw2" {
		t.Errorf("candidates %+v", g.Candidates)
	}
	for _, l := range g.Links {
		if l.A.Device == "core1.dc1" && l.A.Port == "xe-0/0/3" {
			if l.AView.RemotePort != "Gi1/0/49" || l.BView.RemotePort != "xe-0/0/3" || l.FirstSeen != at || l.LastSeen != at {
				t.Errorf("both views: %+v %+v %+v", l, l.AView, l.BView)
			}
		}
	}
	if len(g.Devices) != 6 {
		t.Errorf("%d devices", len(g.Devices))
	}

	// Without an inventory, devices match among the polled ones only.
	g = Build(recs, nil, at+10)
	if got := linkStrings(g); len(got) != 3 {
		t.Errorf("without inventory: %q", got)
	}
}

func TestNormPort(t *testing.T) {
	for in, want := range map[string]string{
		"GigabitEthernet1/0/49": "gi1/0/49", "Gi1/0/49": "gi1/0/49", "TenGigabitEthernet1/1/1": "te1/1/1",
		"Port-channel1": "po1", "Po1": "po1", "xe-0/0/3": "xe0/0/3", "Ethernet1/1": "et1/1", "Eth1/1": "et1/1",
		"eth0": "et0", "veth1": "ve1", "Port 1": "po 1", "1/0/5": "1/0/5", "mgmt": "mgmt",
	} {
		if got := NormPort(in); got != want {
			t.Errorf("NormPort(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRecordApply(t *testing.T) {
	sw := res("sw1", "10.0.0.1")
	r := record(nb(sw, 100, "p1", "neighbor_name=a", "neighbor_port=x"))
	if !r.apply([]*metric.Group{nb(sw, 160, "p1", "neighbor_name=a", "neighbor_port=x"), nb(sw, 160, "p1", "neighbor_name=b")}) {
		t.Fatal("no change")
	}
	pv := r.Ports["p1"]
	if len(pv.Neighbors) != 2 || pv.Neighbors[0].FirstSeen != 100 || pv.Neighbors[0].LastSeen != 160 || pv.Neighbors[1].FirstSeen != 160 {
		t.Errorf("same neighbour keeps first_seen, the new one starts: %+v", pv.Neighbors)
	}
	if r.apply([]*metric.Group{nb(sw, 120, "p1", "neighbor_name=c")}) {
		t.Error("an older poll changed the record")
	}
	if r.apply([]*metric.Group{nb(sw, 160, "p1", "neighbor_name=a", "neighbor_port=x")}) {
		t.Error("a repeat changed the record")
	}
	r.apply([]*metric.Group{nb(sw, 220, "p1")})
	if len(r.Ports["p1"].Neighbors) != 0 || r.Polled != 220 {
		t.Errorf("a port without neighbour: %+v", r.Ports["p1"])
	}
	r.apply([]*metric.Group{nb(sw, 220+forgetPorts+1, "p2", "neighbor_name=z")})
	if _, ok := r.Ports["p1"]; ok {
		t.Error("a port unreported for a day is kept")
	}
	if r.apply([]*metric.Group{{Resource: sw, Type: "interface"}}) {
		t.Error("another group type changed the record")
	}
}

func TestDOT(t *testing.T) {
	a, b := res("a", "10.0.0.1"), res("b\"x", "10.0.0.2")
	g := Build([]*Record{record(
		nb(a, 10, "p1", "neighbor_name=b\"x", "neighbor_port=q1"),
		nb(a, 10, "p2", "neighbor_name=phone", "neighbor_chassis_id=00:1b:54:00:00:01", "neighbor_chassis_id_type=MAC_ADDRESS"),
	)}, []*resource.Resource{a, b}, 20)
	var sb strings.Builder
	if err := g.WriteDOT(&sb); err != nil {
		t.Fatal(err)
	}
	want := `graph topology {
  node [shape=box];
  "dc1/a" [label="a"];
  "dc1/b\"x" [label="b\"x"];
  "dc1/a" -- "dc1/b\"x" [taillabel="p1", headlabel="q1", style=dashed];
  "candidate 1" [label="phone", style=dashed, color=grey];
  "dc1/a" -- "candidate 1" [taillabel="p2", style=dashed, color=grey];
}
`
	if sb.String() != want {
		t.Errorf("DOT:\n%s\nwant:\n%s", sb.String(), want)
	}
}
