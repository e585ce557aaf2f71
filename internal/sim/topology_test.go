package sim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
)

// offlineNetwork builds a farm's devices and network without sockets.
func offlineNetwork(t *testing.T, o Options) (*Farm, *network) {
	t.Helper()
	o, err := withDefaults(o)
	if err != nil {
		t.Fatal(err)
	}
	f := &Farm{now: o.Now, started: o.Now(), log: testLogger(t)}
	if err := f.makeDevices(o); err != nil {
		t.Fatal(err)
	}
	f.net = newNetwork(f.devices, f.started)
	for _, nd := range f.net.devs {
		f.net.rebuild(nd, f.started)
	}
	return f, f.net
}

// TestNetworkShape: the cabling rules, on 300 devices of both templates,
// and the same network from the same device list every time.
func TestNetworkShape(t *testing.T) {
	clock := newTestClock()
	opts := Options{Devices: 300, Templates: []string{"switch48", "router400"}, Now: clock.Now}
	f, n := offlineNetwork(t, opts)
	net := n.snapshot()
	_, n2 := offlineNetwork(t, opts)
	if !reflect.DeepEqual(net, n2.snapshot()) {
		t.Fatal("the same device list gave two different networks")
	}
	cores, access := 0, 0
	for _, nd := range n.devs {
		if nd.core {
			cores++
			if nd.d.Template != "router400" {
				t.Errorf("%s is a core", nd.d.Name)
			}
		} else {
			access++
		}
	}
	if cores != 150 || access != 150 {
		t.Fatalf("cores %d, access %d; want 150 each", cores, access)
	}
	// 150 ring links + 2 uplinks per access device
	if want := 150 + 2*150; len(net.Links) != want {
		t.Fatalf("%d links, want %d", len(net.Links), want)
	}
	used := map[string]bool{}
	degree := map[string]int{}
	for _, l := range net.Links {
		for _, p := range []Port{l.A, l.B} {
			k := p.Device + "/" + p.Port
			if used[k] {
				t.Errorf("port %s cabled twice", k)
			}
			used[k] = true
			degree[p.Device]++
		}
		if !l.Up {
			t.Errorf("link %d is down at start", l.ID)
		}
	}
	for _, d := range f.devices {
		want := 2
		if d.Template == "router400" {
			want = 4 // two ring links, two access devices
		}
		if degree[d.Name] != want {
			t.Errorf("%s has %d links, want %d", d.Name, degree[d.Name], want)
		}
	}
	for _, e := range net.External {
		if used[e.Port.Device+"/"+e.Port.Port] {
			t.Errorf("external neighbour %s on a cabled port %s/%s", e.SysName, e.Port.Device, e.Port.Port)
		}
	}
	if want := 50 + 1; len(net.External) != want { // a phone on every third access device, one transit
		t.Errorf("%d external neighbours, want %d", len(net.External), want)
	}
	if want := 2*150 + 1; len(net.Sessions) != want {
		t.Errorf("%d BGP sessions, want %d", len(net.Sessions), want)
	}
	// Switch uplinks are the last up ports: Gi1/0/50 and Gi1/0/49.
	for _, l := range net.Links {
		if strings.HasPrefix(l.A.Device, "switch48") && l.A.Port != "Gi1/0/50" && l.A.Port != "Gi1/0/49" {
			t.Errorf("switch uplink on %s/%s", l.A.Device, l.A.Port)
		}
	}
}

// TestNetworkTreeWithoutCores: switches alone form a tree.
func TestNetworkTreeWithoutCores(t *testing.T) {
	clock := newTestClock()
	_, n := offlineNetwork(t, Options{Devices: 7, Templates: []string{"switch48"}, Now: clock.Now})
	net := n.snapshot()
	var got []string
	for _, l := range net.Links {
		got = append(got, l.A.Device+"-"+l.B.Device)
	}
	want := []string{
		"switch48-0002-switch48-0001", "switch48-0003-switch48-0001", "switch48-0004-switch48-0002",
		"switch48-0005-switch48-0002", "switch48-0006-switch48-0003", "switch48-0007-switch48-0003",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("tree links %v, want %v", got, want)
	}
	if len(net.Sessions) != 0 {
		t.Errorf("switches have BGP sessions: %v", net.Sessions)
	}
}

// walk reads a subtree of a device over UDP with GETBULK (or GETNEXT).
func walk(t *testing.T, d *Device, root string, bulk bool) []gosnmp.SnmpPDU {
	t.Helper()
	g := &gosnmp.GoSNMP{Target: d.Host, Port: uint16(d.Port), Community: "public", Version: gosnmp.Version2c,
		Timeout: 2 * time.Second, Retries: 2, MaxRepetitions: 20}
	if err := g.Connect(); err != nil {
		t.Fatal(err)
	}
	defer g.Conn.Close()
	var vbs []gosnmp.SnmpPDU
	var err error
	if bulk {
		vbs, err = g.BulkWalkAll(root)
	} else {
		vbs, err = g.WalkAll(root)
	}
	if err != nil {
		t.Fatalf("walk %s %s: %v", d.Name, root, err)
	}
	return vbs
}

func column(vbs []gosnmp.SnmpPDU, prefix string) map[string]gosnmp.SnmpPDU {
	out := map[string]gosnmp.SnmpPDU{}
	for _, vb := range vbs {
		if idx, ok := strings.CutPrefix(vb.Name, prefix+"."); ok {
			out[idx] = vb
		}
	}
	return out
}

// TestNetworkOverSNMP: the devices' LLDP, CDP and BGP tables over UDP say
// what the network says, a whole-device walk merges template and overlay
// in order, and the controls change both.
func TestNetworkOverSNMP(t *testing.T) {
	integration(t)
	f := startFarm(t, Options{Devices: 9, Templates: []string{"switch48", "switch48", "router400"}, Topology: true})
	net, ok := f.Network()
	if !ok {
		t.Fatal("no network")
	}
	sw, core := f.Devices()[0], f.Devices()[2]
	// The switch's uplinks (LLDP-MIB): sysName of the cores by local port.
	names := column(walk(t, sw, ".1.0.8802.1.1.2.1.4.1", true), ".1.0.8802.1.1.2.1.4.1.1.9")
	want := map[string]string{}
	for _, l := range net.Links {
		if l.A.Device == sw.Name {
			want[fmt.Sprint(l.A.IfIndex)] = l.B.Device
		}
	}
	for _, e := range net.External {
		if e.Port.Device == sw.Name {
			want[fmt.Sprint(e.Port.IfIndex)] = e.SysName
		}
	}
	got := map[string]string{}
	for idx, vb := range names {
		parts := strings.Split(idx, ".") // timemark.port.index
		got[parts[1]] = string(vb.Value.([]byte))
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("switch LLDP neighbours %v, want %v", got, want)
	}
	// CDP: the phone only (the cores are Juniper).
	cdp := column(walk(t, sw, ".1.3.6.1.4.1.9.9.23.1.2.1", true), ".1.3.6.1.4.1.9.9.23.1.2.1.1.6")
	if len(cdp) != 1 {
		t.Fatalf("CDP neighbours %v, want the phone", cdp)
	}
	for _, vb := range cdp {
		if !strings.HasPrefix(string(vb.Value.([]byte)), "SEP") {
			t.Errorf("CDP neighbour %s, want the phone", vb.Value)
		}
	}
	// The core (LLDP-V2-MIB, port ids are ifIndexes, descriptions ifNames).
	v2 := walk(t, core, ".1.3.111.2.802.1.1.13.1.4.1", true)
	wantCore := 0
	for _, l := range net.Links {
		if l.A.Device == core.Name || l.B.Device == core.Name {
			wantCore++
		}
	}
	for _, e := range net.External {
		if e.Port.Device == core.Name {
			wantCore++
		}
	}
	if n := len(column(v2, ".1.3.111.2.802.1.1.13.1.4.1.1.10")); n != wantCore || n != 7 { // 2 ring, 4 access, transit
		t.Errorf("core has %d LLDP-V2 neighbours, want %d", n, wantCore)
	}
	if len(walk(t, core, ".1.0.8802.1.1.2", true)) != 0 {
		t.Error("a Juniper core answers LLDP-MIB too")
	}
	// Whole device: GETNEXT and GETBULK agree, in order, template and overlay.
	next, bulk := walk(t, core, ".1.3", false), walk(t, core, ".1.3", true)
	if len(next) != len(bulk) {
		t.Fatalf("GETNEXT walk %d objects, GETBULK %d", len(next), len(bulk))
	}
	for i := range next {
		if next[i].Name != bulk[i].Name {
			t.Fatalf("object %d: GETNEXT %s, GETBULK %s", i, next[i].Name, bulk[i].Name)
		}
	}
	if n := core.rec.Len() + core.over.Load().Len(); len(bulk) != n {
		t.Errorf("walk of %d objects, want template %d + overlay %d", len(bulk), core.rec.Len(), core.over.Load().Len())
	}

	// Take the switch's first uplink down.
	var up Link
	for _, l := range net.Links {
		if l.A.Device == sw.Name {
			up = l
			break
		}
	}
	if err := f.SetInterface(sw.Name, up.A.Port, false); err != nil {
		t.Fatal(err)
	}
	names = column(walk(t, sw, ".1.0.8802.1.1.2.1.4.1", true), ".1.0.8802.1.1.2.1.4.1.1.9")
	if len(names) != len(want)-1 {
		t.Errorf("after the uplink went down the switch has %d neighbours, want %d", len(names), len(want)-1)
	}
	far := f.devices[indexOf(t, f, up.B.Device)]
	oper := column(walk(t, far, ".1.3.6.1.2.1.2.2.1.8", true), ".1.3.6.1.2.1.2.2.1.8")
	if v := oper[fmt.Sprint(up.B.IfIndex)].Value; v != 2 {
		t.Errorf("far end %s/%s ifOperStatus %v, want 2 (down)", up.B.Device, up.B.Port, v)
	}
	admin := column(walk(t, sw, ".1.3.6.1.2.1.2.2.1.7", true), ".1.3.6.1.2.1.2.2.1.7")
	if v := admin[fmt.Sprint(up.A.IfIndex)].Value; v != 2 {
		t.Errorf("%s/%s ifAdminStatus %v, want 2", up.A.Device, up.A.Port, v)
	}
	for _, fi := range sw.Interfaces(time.Now()) {
		if fi.Index == up.A.IfIndex && (fi.OperStatus != 2 || fi.AdminStatus != 2) {
			t.Errorf("Interfaces(): %s admin %d oper %d, want 2 and 2", fi.Name, fi.AdminStatus, fi.OperStatus)
		}
	}
	if err := f.SetInterface(sw.Name, up.A.Port, true); err != nil {
		t.Fatal(err)
	}
	if n := len(column(walk(t, sw, ".1.0.8802.1.1.2.1.4.1", true), ".1.0.8802.1.1.2.1.4.1.1.9")); n != len(want) {
		t.Errorf("after the uplink came back the switch has %d neighbours, want %d", n, len(want))
	}

	// BGP: a core session goes idle and comes back; the transit session
	// follows its state; a ring link down makes both ends active.
	var ring Link
	for _, l := range net.Links {
		if strings.HasPrefix(l.A.Device, "router") && strings.HasPrefix(l.B.Device, "router") {
			ring = l
			break
		}
	}
	var s BGPSession
	for _, x := range net.Sessions {
		if x.Device == ring.A.Device && x.Link == ring.ID {
			s = x
		}
	}
	rd := f.devices[indexOf(t, f, s.Device)]
	state := func() (uint, uint) {
		vbs := walk(t, rd, ".1.3.6.1.2.1.15.3.1", true)
		st := column(vbs, ".1.3.6.1.2.1.15.3.1.2")[s.Peer].Value
		tr := column(vbs, ".1.3.6.1.2.1.15.3.1.15")[s.Peer].Value
		return uint(st.(int)), tr.(uint)
	}
	if st, tr := state(); st != 6 || tr != 1 {
		t.Fatalf("session %s state %d transitions %d, want 6 and 1", s.Peer, st, tr)
	}
	if err := f.SetBGPSession(s.Device, s.Peer, "idle"); err != nil {
		t.Fatal(err)
	}
	if st, _ := state(); st != 1 {
		t.Errorf("after idle: state %d", st)
	}
	if err := f.SetBGPSession(s.Device, s.Peer, "established"); err != nil {
		t.Fatal(err)
	}
	if st, tr := state(); st != 6 || tr != 2 {
		t.Errorf("after established: state %d transitions %d, want 6 and 2", st, tr)
	}
	if err := f.SetInterface(ring.B.Device, ring.B.Port, false); err != nil {
		t.Fatal(err)
	}
	if st, _ := state(); st != 3 {
		t.Errorf("ring link down: state %d, want 3 (active)", st)
	}
	got2, _ := f.Network()
	for _, x := range got2.Sessions {
		if x.Link == ring.ID && x.State != "active" {
			t.Errorf("network: session %s/%s %s, want active", x.Device, x.Peer, x.State)
		}
	}
	if err := f.SetBGPSession(s.Device, "192.0.2.99", "idle"); err == nil || !strings.Contains(err.Error(), "no BGP session") {
		t.Errorf("unknown peer: %v", err)
	}
	if err := f.SetInterface(sw.Name, "Gi9/9/9", false); err == nil || !strings.Contains(err.Error(), "no physical port") {
		t.Errorf("unknown port: %v", err)
	}
}

func indexOf(t *testing.T, f *Farm, name string) int {
	for i, d := range f.devices {
		if d.Name == name {
			return i
		}
	}
	t.Fatalf("no device %s", name)
	return -1
}

// TestControlHandler: the HTTP controls.
func TestControlHandler(t *testing.T) {
	clock := newTestClock()
	f, _ := offlineNetwork(t, Options{Devices: 3, Templates: []string{"switch48", "router400", "router400"}, Now: clock.Now})
	srv := httptest.NewServer(f.ControlHandler())
	defer srv.Close()
	post := func(path string) (int, string) {
		resp, err := http.Post(srv.URL+path, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		_, _ = fmt.Fprint(&b, resp.Status)
		buf := make([]byte, 512)
		n, _ := resp.Body.Read(buf)
		return resp.StatusCode, string(buf[:n])
	}
	if code, body := post("/interface?device=switch48-0001&port=Gi1/0/50&state=down"); code != http.StatusNoContent {
		t.Fatalf("interface down: %d %s", code, body)
	}
	if code, body := post("/interface?device=switch48-0001&port=Gi1/0/50&state=sideways"); code != http.StatusBadRequest || !strings.Contains(body, "want up or down") {
		t.Errorf("bad state: %d %s", code, body)
	}
	if code, body := post("/bgp?device=router400-0002&peer=203.0.113.1&state=active"); code != http.StatusNoContent {
		t.Fatalf("bgp: %d %s", code, body)
	}
	if code, body := post("/bgp?device=router400-0002&peer=203.0.113.1&state=7"); code != http.StatusBadRequest || !strings.Contains(body, "want one of idle") {
		t.Errorf("bad BGP state: %d %s", code, body)
	}
	resp, err := http.Get(srv.URL + "/network")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var n Network
	if err := json.NewDecoder(resp.Body).Decode(&n); err != nil {
		t.Fatal(err)
	}
	if got := n.Down["switch48-0001"]; !reflect.DeepEqual(got, []string{"Gi1/0/50"}) {
		t.Errorf("down ports %v", got)
	}
	for _, s := range n.Sessions {
		if s.Peer == "203.0.113.1" && s.State != "active" {
			t.Errorf("transit session %s", s.State)
		}
	}
	plain := &Farm{}
	srv2 := httptest.NewServer(plain.ControlHandler())
	defer srv2.Close()
	resp2, err := http.Get(srv2.URL + "/network")
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.StatusCode != http.StatusConflict {
		t.Errorf("farm without a network: %d, want 409", resp2.StatusCode)
	}
}
