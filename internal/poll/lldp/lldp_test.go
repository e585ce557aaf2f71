package lldp

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/poll"
	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/snmp"
)

// fakeAgent answers walks from a sorted list of varbinds, and GETs.
type fakeAgent struct {
	vbs   []snmp.Varbind
	fail  map[string]error // walk root → error
	walks []string
}

func (a *fakeAgent) add(oid string, typ gosnmp.Asn1BER, v any) {
	a.vbs = append(a.vbs, snmp.Varbind{Name: oid, Type: typ, Value: v})
}

func (a *fakeAgent) Walk(_ context.Context, _ snmp.Target, root string) ([]snmp.Varbind, error) {
	a.walks = append(a.walks, root)
	if err := a.fail[root]; err != nil {
		return nil, err
	}
	var out []snmp.Varbind
	for _, vb := range a.vbs {
		if strings.HasPrefix(vb.Name, root+".") {
			out = append(out, vb)
		}
	}
	return out, nil
}

func (a *fakeAgent) Get(_ context.Context, _ snmp.Target, oids []string) ([]snmp.Varbind, error) {
	var out []snmp.Varbind
	for _, o := range oids {
		vb := snmp.Varbind{Name: o, Type: gosnmp.NoSuchInstance}
		for _, x := range a.vbs {
			if x.Name == o {
				vb = x
			}
		}
		out = append(out, vb)
	}
	return out, nil
}

func str(s string) []byte { return []byte(s) }

// ciscoSwitch is a Catalyst with two LLDP neighbours and a CDP phone, one
// of the LLDP neighbours also seen over CDP, and a port with no neighbour.
func ciscoSwitch() *fakeAgent {
	a := &fakeAgent{}
	l := ".1.0.8802.1.1.2.1"
	a.add(l+".3.1.0", gosnmp.Integer, 4)
	a.add(l+".3.2.0", gosnmp.OctetString, []byte{0x00, 0x1e, 0xf6, 0, 0, 1})
	a.add(l+".3.3.0", gosnmp.OctetString, str("sw1.example.net"))
	for _, p := range []struct {
		n    int
		name string
	}{{10101, "Gi1/0/1"}, {10149, "Gi1/0/49"}, {10150, "Gi1/0/50"}, {10151, "Gi1/0/51"}} {
		a.add(fmt.Sprintf("%s.3.7.1.2.%d", l, p.n), gosnmp.Integer, 5)
		a.add(fmt.Sprintf("%s.3.7.1.3.%d", l, p.n), gosnmp.OctetString, str(p.name))
		a.add(fmt.Sprintf("%s.3.7.1.4.%d", l, p.n), gosnmp.OctetString, str("GigabitEthernet"+p.name[2:]))
	}
	rem := func(col, port, idx int, typ gosnmp.Asn1BER, v any) {
		a.add(fmt.Sprintf("%s.4.1.1.%d.0.%d.%d", l, col, port, idx), typ, v)
	}
	// core1 on Gi1/0/49: MAC chassis, interface-name port id
	rem(4, 10149, 1, gosnmp.Integer, 4)
	rem(5, 10149, 1, gosnmp.OctetString, []byte{0x02, 0, 0, 0, 0, 0x07})
	rem(6, 10149, 1, gosnmp.Integer, 7)
	rem(7, 10149, 1, gosnmp.OctetString, str("523"))
	rem(8, 10149, 1, gosnmp.OctetString, str("xe-0/0/3"))
	rem(9, 10149, 1, gosnmp.OctetString, str("core1"))
	rem(12, 10149, 1, gosnmp.OctetString, []byte{0x28, 0x00})
	// sw2 on Gi1/0/50: network-address chassis, also in CDP
	rem(4, 10150, 2, gosnmp.Integer, 5)
	rem(5, 10150, 2, gosnmp.OctetString, []byte{1, 10, 254, 0, 2})
	rem(6, 10150, 2, gosnmp.Integer, 5)
	rem(7, 10150, 2, gosnmp.OctetString, str("Gi1/0/49"))
	rem(9, 10150, 2, gosnmp.OctetString, str("sw2.example.net"))
	rem(12, 10150, 2, gosnmp.OctetString, []byte{0x20, 0x00})
	// management addresses: IPv6 and IPv4 for core1 (IPv4 wins), one for sw2
	a.add(l+".4.2.1.3.0.10149.1.2.16.32.1.13.184.0.0.0.0.0.0.0.0.0.0.0.1", gosnmp.Integer, 2)
	a.add(l+".4.2.1.3.0.10149.1.1.4.192.0.2.7", gosnmp.Integer, 2)
	a.add(l+".4.2.1.3.0.10150.2.1.4.192.0.2.2", gosnmp.Integer, 2)
	a.add(l+".4.2.1.3.0.10150.2.1.5.192.0.2.2", gosnmp.Integer, 2) // length arc lies: skipped
	cdp := func(col, port, idx int, typ gosnmp.Asn1BER, v any) {
		a.add(fmt.Sprintf("%s.%d.%d.%d", oidCDPCacheEntry, col, port, idx), typ, v)
	}
	cdp(3, 10150, 7, gosnmp.Integer, 1)
	cdp(4, 10150, 7, gosnmp.OctetString, []byte{192, 0, 2, 2})
	cdp(6, 10150, 7, gosnmp.OctetString, str("sw2(FOC99)"))
	cdp(7, 10150, 7, gosnmp.OctetString, str("GigabitEthernet1/0/49"))
	cdp(3, 10101, 8, gosnmp.Integer, 1)
	cdp(4, 10101, 8, gosnmp.OctetString, []byte{10, 200, 0, 1})
	cdp(6, 10101, 8, gosnmp.OctetString, str("SEP001B54000001"))
	cdp(7, 10101, 8, gosnmp.OctetString, str("Port 1"))
	cdp(9, 10101, 8, gosnmp.OctetString, []byte{0, 0, 0x01, 0x90})
	a.add(oidIfName+".10101", gosnmp.OctetString, str("Gi1/0/1"))
	a.add(oidIfName+".10150", gosnmp.OctetString, str("Gi1/0/50"))
	sort.Slice(a.vbs, func(i, j int) bool { return oidLess(a.vbs[i].Name, a.vbs[j].Name) })
	return a
}

func oidLess(a, b string) bool {
	x, y := snmp.IndexInts(strings.TrimPrefix(a, ".")), snmp.IndexInts(strings.TrimPrefix(b, "."))
	for i := 0; i < len(x) && i < len(y); i++ {
		if x[i] != y[i] {
			return x[i] < y[i]
		}
	}
	return len(x) < len(y)
}

func request() *poll.Request {
	return &poll.Request{
		Resource: &resource.Resource{Site: "dc1", Class: "network", Subclass: "switch", Type: "cisco", ID: "sw1", Endpoint: "sw1"},
		Interval: time.Minute, Now: time.Unix(1764057600, 0),
	}
}

// dims renders a group's dimensions as name=value pairs.
func dims(g *metric.Group) string {
	var parts []string
	for _, d := range g.Dimensions {
		parts = append(parts, d.Name+"="+d.Value)
	}
	m, _ := g.Metric(MetricPresent)
	return strings.Join(parts, " ") + fmt.Sprintf(" | present=%d", m.Value.Int64())
}

func TestCiscoLLDPAndCDP(t *testing.T) {
	a := ciscoSwitch()
	p := &Plugin{cdp: true, emptyPorts: true, reader: a}
	groups, err := p.Poll(context.Background(), request())
	if err != nil {
		t.Fatal(err)
	}
	local := "local_chassis_id=00:1e:f6:00:00:01 local_system_name=sw1.example.net "
	want := []string{
		"local_interface=Gi1/0/1 " + local + "neighbor_protocol=cdp neighbor_id=8 neighbor_name=SEP001B54000001 neighbor_port=Port 1 " +
			"neighbor_port_id_type=INTERFACE_NAME neighbor_address=10.200.0.1 neighbor_capabilities=TELEPHONE,STATION_ONLY | present=1",
		"local_interface=Gi1/0/49 " + local + "neighbor_protocol=lldp neighbor_id=1 neighbor_name=core1 " +
			"neighbor_chassis_id=02:00:00:00:00:07 neighbor_chassis_id_type=MAC_ADDRESS neighbor_port=xe-0/0/3 neighbor_port_id_type=LOCAL " +
			"neighbor_port_description=xe-0/0/3 neighbor_address=192.0.2.7 neighbor_capabilities=MAC_BRIDGE,ROUTER | present=1",
		"local_interface=Gi1/0/50 " + local + "neighbor_protocol=lldp neighbor_id=2 neighbor_name=sw2.example.net " +
			"neighbor_chassis_id=10.254.0.2 neighbor_chassis_id_type=NETWORK_ADDRESS neighbor_port=Gi1/0/49 neighbor_port_id_type=INTERFACE_NAME " +
			"neighbor_address=192.0.2.2 neighbor_capabilities=MAC_BRIDGE | present=1",
		"local_interface=Gi1/0/51 " + local + "| present=0",
	}
	var got []string
	for _, g := range groups {
		if g.Type != GroupType || g.Interval != 60 || g.CreationTimestamp != 1764057600 || g.Resource.ID != "sw1" {
			t.Errorf("group head %+v", g)
		}
		if err := g.Validate(); err != nil {
			t.Errorf("invalid group: %v", err)
		}
		got = append(got, dims(g))
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("groups:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, w := range a.walks {
		if strings.HasPrefix(w, lldpV2.root) {
			t.Errorf("walked LLDP-V2-MIB (%s) though LLDP-MIB answered", w)
		}
	}

	// Options: no CDP, no empty ports.
	p = &Plugin{reader: ciscoSwitch()}
	groups, err = p.Poll(context.Background(), request())
	if err != nil || len(groups) != 2 {
		t.Fatalf("cdp and empty ports off: %d groups, %v", len(groups), err)
	}
}

// TestJuniperV2: LLDP-V2-MIB when LLDP-MIB is absent (the index carries
// the destination address index).
func TestJuniperV2(t *testing.T) {
	a := &fakeAgent{}
	l := lldpV2.root
	a.add(l+".3.1.0", gosnmp.Integer, 4)
	a.add(l+".3.2.0", gosnmp.OctetString, []byte{0x02, 0, 0, 0, 0, 0x07})
	a.add(l+".3.3.0", gosnmp.OctetString, str("core1"))
	a.add(l+".3.7.1.2.523", gosnmp.Integer, 7)
	a.add(l+".3.7.1.3.523", gosnmp.OctetString, str("523"))
	a.add(l+".3.7.1.4.523", gosnmp.OctetString, str("xe-0/0/3"))
	a.add(l+".4.1.1.5.0.523.1.4", gosnmp.Integer, 4)
	a.add(l+".4.1.1.6.0.523.1.4", gosnmp.OctetString, []byte{0x00, 0x1e, 0xf6, 0, 0, 1})
	a.add(l+".4.1.1.7.0.523.1.4", gosnmp.Integer, 5)
	a.add(l+".4.1.1.8.0.523.1.4", gosnmp.OctetString, str("Gi1/0/49"))
	a.add(l+".4.1.1.10.0.523.1.4", gosnmp.OctetString, str("sw1.example.net"))
	a.add(l+".4.2.1.3.0.523.1.4.1.4.192.0.2.1", gosnmp.Integer, 2)
	p := &Plugin{cdp: true, emptyPorts: true, reader: a}
	groups, err := p.Poll(context.Background(), request())
	if err != nil || len(groups) != 1 {
		t.Fatalf("%d groups, %v", len(groups), err)
	}
	want := "local_interface=xe-0/0/3 local_chassis_id=02:00:00:00:00:07 local_system_name=core1 neighbor_protocol=lldp neighbor_id=4 " +
		"neighbor_name=sw1.example.net neighbor_chassis_id=00:1e:f6:00:00:01 neighbor_chassis_id_type=MAC_ADDRESS neighbor_port=Gi1/0/49 " +
		"neighbor_port_id_type=INTERFACE_NAME neighbor_address=192.0.2.1 | present=1"
	if got := dims(groups[0]); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// TestBadTables: exceptions, short or odd indexes, wrong types and
// malformed ids make no crash and no invented neighbour.
func TestBadTables(t *testing.T) {
	a := &fakeAgent{}
	l := lldpV1.root
	a.add(l+".3.1.0", gosnmp.OctetString, str("not an integer"))
	a.add(l+".3.2.0", gosnmp.Integer, 5)
	a.add(l+".3.7.1.3", gosnmp.OctetString, str("no index"))
	a.add(l+".4.1.1.4.0.7", gosnmp.Integer, 4) // two index arcs, want three
	a.add(l+".4.1.1.4.0.7.1", gosnmp.NoSuchInstance, nil)
	a.add(l+".4.1.1.5.0.7.1", gosnmp.OctetString, []byte{1, 2, 3}) // a MAC of three octets
	a.add(l+".4.1.1.6.0.7.1", gosnmp.Integer, 99)                  // unknown port subtype
	a.add(l+".4.1.1.7.0.7.1", gosnmp.OctetString, []byte{0xff, 0xfe})
	a.add(l+".4.1.1.9.0.7.1", gosnmp.OctetString, []byte{0xff, 'x'})
	a.add(l+".4.2.1.3.0.7.1.1.4.300.0.2.1", gosnmp.Integer, 2) // an arc above 255
	a.add(l+".4.2.1.3.0.7.1.1", gosnmp.Integer, 2)
	a.add(oidCDPCacheEntry+".6.3", gosnmp.OctetString, str("one index arc"))
	sort.Slice(a.vbs, func(i, j int) bool { return oidLess(a.vbs[i].Name, a.vbs[j].Name) })
	p := &Plugin{cdp: true, emptyPorts: true, reader: a}
	groups, err := p.Poll(context.Background(), request())
	if err != nil {
		t.Fatal(err)
	}
	if len(groups) != 1 {
		t.Fatalf("%d groups, want the one neighbour", len(groups))
	}
	got := dims(groups[0])
	// The chassis id subtype was an exception: no type, the id as hex.
	want := "local_interface=port 7 neighbor_protocol=lldp neighbor_id=1 neighbor_name=\ufffdx neighbor_chassis_id=010203 " +
		"neighbor_port=fffe | present=1"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if err := groups[0].Validate(); err != nil {
		t.Error(err)
	}
}

// TestNoData: a device without LLDP or CDP is status 6 with the reason;
// a failed walk with other data is partial; all failed is the SNMP error.
func TestNoData(t *testing.T) {
	p := &Plugin{cdp: true, emptyPorts: true, reader: &fakeAgent{}}
	_, err := p.Poll(context.Background(), request())
	var se *poll.StatusError
	if !errors.As(err, &se) || se.Status != metric.StatusMissingMetrics || !strings.Contains(err.Error(), "LLDP and CDP are disabled") {
		t.Errorf("no data: %v", err)
	}

	a := ciscoSwitch()
	boom := errors.New("request timeout")
	a.fail = map[string]error{oidCDPCacheEntry: boom}
	p = &Plugin{cdp: true, emptyPorts: true, reader: a}
	groups, err := p.Poll(context.Background(), request())
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "walk CISCO-CDP-MIB cdpCacheTable") || len(groups) != 4 {
		t.Errorf("CDP failed: %d groups, %v", len(groups), err)
	}

	a = ciscoSwitch()
	a.fail = map[string]error{}
	for _, r := range []string{lldpV1.localData(), lldpV1.remTable(), lldpV2.localData(), lldpV2.remTable(), oidCDPCacheEntry} {
		a.fail[r] = boom
	}
	groups, err = p.reuse(a).Poll(context.Background(), request())
	if !errors.Is(err, boom) || len(groups) != 0 {
		t.Errorf("everything failed: %d groups, %v", len(groups), err)
	}
}

func (pl *Plugin) reuse(r reader) *Plugin {
	c := *pl
	c.reader = r
	return &c
}

func TestOptions(t *testing.T) {
	p, err := poll.New("lldp", map[string]any{"cdp": false, "empty_ports": false})
	if err != nil {
		t.Fatal(err)
	}
	if pl := p.(*Plugin); pl.cdp || pl.emptyPorts {
		t.Errorf("options not applied: %+v", pl)
	}
	p, err = poll.New("lldp", nil)
	if err != nil {
		t.Fatal(err)
	}
	if pl := p.(*Plugin); !pl.cdp || !pl.emptyPorts {
		t.Errorf("defaults: %+v", pl)
	}
	if _, err := poll.New("lldp", map[string]any{"cpd": true}); err == nil || !strings.Contains(err.Error(), "cpd") {
		t.Errorf("a typo: %v", err)
	}
}
