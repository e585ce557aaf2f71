package mapping_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	pb "github.com/openconfig/gnmi/proto/gnmi"

	"github.com/panoptes-go/panoptes/internal/gnmi"
	"github.com/panoptes-go/panoptes/internal/gnmi/mapping"
	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/rate"
)

// TestShippedGroups reads a router over gNMI with every shipped mapping and
// checks each group type and a value of each against what the simulator
// serves. JSON_IETF: its trees exercise the JSON walk; PROTO leaves are
// read by TestSNMPvsGNMI.
func TestShippedGroups(t *testing.T) {
	for _, enc := range []pb.Encoding{pb.Encoding_JSON_IETF} {
		t.Run(enc.String(), func(t *testing.T) {
			dev, tg := startFarm(t, "router400", time.Hour)
			gs, st := once(t, shipped(t), tg.Addr, enc)
			if m := st.Missing(); len(m) != 0 {
				t.Errorf("missing groups: %v", m)
			}
			counts := map[string]int{}
			for _, g := range gs {
				counts[g.Type]++
			}
			// 400 interfaces; CPU0-1; their memory; fans+PSUs and 3 sensors;
			// 8 BGP peers; LLDP on the up core and bundle ports.
			if counts["interface"] != 400 || counts["cpu"] != 2 || counts["memory"] != 2 || counts["environment"] != 4 ||
				counts["bgp_session"] != 8 || counts["neighbor"] == 0 {
				t.Fatalf("groups by type: %v", counts)
			}
			ifs := byDim(byType(gs, "interface"), "interface_name")
			xe := ifs["xe-0/0/1"]
			want := dev.Interfaces(time.Now())
			for _, f := range want {
				if f.Name == "xe-0/0/1" && metricOf(t, xe, "configured_speed").Value.Uint64() != f.Speed {
					t.Errorf("xe-0/0/1 configured_speed %v, want %d", metricOf(t, xe, "configured_speed").Value, f.Speed)
				}
			}
			if xe.Dimension("port_speed") != "10Gbps" || xe.Dimension("media_type") != "ethernetCsmacd" {
				t.Errorf("xe-0/0/1 dimensions %v", xe.Dimensions)
			}
			bits := metricOf(t, xe, "bits_in")
			if bits.Type != metric.Counter || bits.Hint.Bits != 64 || !bits.Hint.HaveDiscontinuity {
				t.Errorf("bits_in %+v: want a 64-bit counter with a discontinuity hint", bits)
			}
			bgp := byDim(byType(gs, "bgp_session"), "peer_address")
			p := bgp["192.0.2.1"]
			if p == nil || p.Dimension("remote_as") != "65000" || p.Dimension("local_address") != "192.0.2.254" {
				t.Fatalf("bgp 192.0.2.1: %v", p)
			}
			if s := metricOf(t, p, "peer_state").Value.Uint64(); s < 1 || s > 6 {
				t.Errorf("peer_state %d", s)
			}
			if a := metricOf(t, p, "prefixes_accepted").Value.Uint64(); a < 200 {
				t.Errorf("prefixes_accepted %d: want the sum over both address families", a)
			}
			if metricOf(t, p, "admin_status").Value.Uint64() != 2 {
				t.Errorf("admin_status of an enabled peer: want 2 (start)")
			}
			var env *metric.Group
			for _, g := range byType(gs, "environment") {
				if _, ok := g.Metric("fans_total"); ok {
					env = g
				}
			}
			if env == nil || metricOf(t, env, "fans_total").Value.Uint64() != 6 || metricOf(t, env, "power_units_total").Value.Uint64() != 4 {
				t.Errorf("environment counts: %v", env)
			}
			n := byType(gs, "neighbor")[0]
			if n.Dimension("neighbor_name") == mapping.NotSet || n.Dimension("local_interface") == mapping.NotSet {
				t.Errorf("neighbor %v", n.Dimensions)
			}
		})
	}
}

// TestRestartRates: counters reset by a device restart never give a
// (negative or huge) rate; the next interval's rate is right again.
func TestRestartRates(t *testing.T) {
	dev, tg := startFarm(t, "switch48", time.Hour)
	set := shipped(t).Select(func(g *mapping.Group) bool { return g.Type == "interface" })
	st := set.NewState(mapping.Options{Name: "dev"})
	rates := rate.New(rate.Options{})
	c, err := gnmi.Dial(gnmi.Config{Address: tg.Addr, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	read := func() map[string]*metric.Group {
		tg.Update()
		ns, err := c.Once(context.Background(), &gnmi.Request{Subscriptions: set.Subscriptions(time.Second)})
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range ns {
			st.Notification(n)
		}
		gs := &metric.GroupSet{Groups: st.Build(testResource, 10*time.Second, time.Now(), true)}
		rates.Apply(context.Background(), gs, rate.All(), time.Now())
		return byDim(gs.Groups, "interface_name")
	}
	read()
	time.Sleep(time.Second)
	before := read()
	want, ok := dev.Rate(".1.3.6.1.2.1.31.1.1.1.6.10101") // ifHCInOctets of Gi1/0/1
	if !ok {
		t.Fatal("no rate for Gi1/0/1")
	}
	if r := metricOf(t, before["Gi1/0/1"], "bits_in_rate").Value.Float64(); r < float64(want*8)*0.97 || r > float64(want*8)*1.03 {
		t.Fatalf("bits_in_rate before restart %.0f, want %d", r, want*8)
	}
	tg.Restart()
	time.Sleep(time.Second)
	after := read()
	if v := metricOf(t, after["Gi1/0/1"], "bits_in").Value.Uint64(); v >= metricOf(t, before["Gi1/0/1"], "bits_in").Value.Uint64() {
		t.Fatalf("bits_in did not reset: %d", v)
	}
	for name, g := range after {
		if m, ok := g.Metric("bits_in_rate"); ok {
			t.Errorf("%s: a rate (%v) across the counter reset", name, m.Value)
		}
	}
	time.Sleep(time.Second)
	again := read()
	if r := metricOf(t, again["Gi1/0/1"], "bits_in_rate").Value.Float64(); r < float64(want*8)*0.97 || r > float64(want*8)*1.03 {
		t.Errorf("bits_in_rate after restart %.0f, want %d", r, want*8)
	}
}

// TestUserMapping: any path maps to a group in YAML, without code: here
// the simulator's vendor-native origin and a system leaf.
func TestUserMapping(t *testing.T) {
	m, err := mapping.Parse("site/system.yaml", []byte(`
name: site-system
groups:
  - type: device_info
    path: sim:/device
    leaves:
      template: template
      index: index
    dimensions:
      template: template
    metrics:
      device_index: index
  - type: system
    path: /system
    leaves:
      boot: state/boot-time
    metrics:
      uptime_seconds: 'boot == nil ? nil : int(now - num(boot) / 1e9)'
`))
	if err != nil {
		t.Fatal(err)
	}
	_, tg := startFarm(t, "switch48", time.Hour)
	gs, _ := once(t, mapping.NewSet(m), tg.Addr, pb.Encoding_PROTO)
	if len(gs) != 2 || gs[0].Type != "device_info" || gs[0].Dimension("template") != "switch48" || gs[1].Type != "system" {
		t.Fatalf("groups: %v", gs)
	}
	if up := metricOf(t, gs[1], "uptime_seconds").Value.Int64(); up < 0 || up > 60 {
		t.Errorf("uptime %d s", up)
	}
}

// TestDeletesAndResync: a delete removes the row; a reconnect's sync drops
// rows the target did not send again.
func TestDeletesAndResync(t *testing.T) {
	set := shipped(t).Select(func(g *mapping.Group) bool { return g.Type == "interface" })
	st := set.NewState(mapping.Options{})
	up := func(name string) *pb.Notification {
		return &pb.Notification{Timestamp: 1e18, Prefix: mustPath(t, "/interfaces/interface[name="+name+"]"),
			Update: []*pb.Update{{Path: mustPath(t, "state/counters/in-octets"), Val: &pb.TypedValue{Value: &pb.TypedValue_UintVal{UintVal: 5}}}}}
	}
	st.Notification(up("a"))
	st.Notification(up("b"))
	if st.Rows() != 2 {
		t.Fatalf("%d rows", st.Rows())
	}
	st.Notification(&pb.Notification{Delete: []*pb.Path{mustPath(t, "/interfaces/interface[name=a]")}})
	gs := st.Build(testResource, time.Second, time.Now(), true)
	if len(gs) != 1 || gs[0].Dimension("interface_name") != "b" {
		t.Fatalf("after deleting a: %v", gs)
	}
	st.Notification(&pb.Notification{Prefix: mustPath(t, "/interfaces/interface[name=b]"), Delete: []*pb.Path{mustPath(t, "state/counters/in-octets")}})
	if gs := st.Build(testResource, time.Second, time.Now(), true); len(gs) != 0 {
		t.Fatalf("after deleting b's only leaf: %v", gs)
	}
	st.Notification(up("c"))
	st.Notification(up("d"))
	st.Handle(gnmi.Event{Kind: gnmi.Connected})
	st.Handle(gnmi.Event{Kind: gnmi.Notification, Notification: up("d")})
	st.Handle(gnmi.Event{Kind: gnmi.Sync})
	gs = st.Build(testResource, time.Second, time.Now(), true)
	if len(gs) != 1 || gs[0].Dimension("interface_name") != "d" {
		t.Fatalf("after a resync sending d only: %v", gs)
	}
}

// TestMalformed: wrong types, unknown paths and huge values are counted and
// logged once per target; nothing panics and good rows still build.
func TestMalformed(t *testing.T) {
	set := shipped(t).Select(func(g *mapping.Group) bool { return g.Type == "interface" })
	var logs bytes.Buffer
	m := mapping.NewMetrics(nil)
	st := set.NewState(mapping.Options{Name: "sw1", Logger: slog.New(slog.NewTextHandler(&logs, nil)), Metrics: m})
	pre := mustPath(t, "/interfaces/interface[name=a]")
	val := func(v *pb.TypedValue) *pb.Notification {
		return &pb.Notification{Timestamp: 1e18, Prefix: pre, Update: []*pb.Update{{Path: mustPath(t, "state/counters/in-octets"), Val: v}}}
	}
	for i := 0; i < 3; i++ {
		st.Notification(val(&pb.TypedValue{Value: &pb.TypedValue_StringVal{StringVal: "lots"}}))                                                    // wrong type
		st.Notification(val(&pb.TypedValue{Value: &pb.TypedValue_JsonIetfVal{JsonIetfVal: []byte(`{"broken"`)}}))                                   // bad JSON
		st.Notification(val(&pb.TypedValue{Value: &pb.TypedValue_StringVal{StringVal: strings.Repeat("x", 2<<20)}}))                                // huge
		st.Notification(&pb.Notification{Prefix: mustPath(t, "/qos"), Update: []*pb.Update{{Path: mustPath(t, "x"), Val: val(nil).Update[0].Val}}}) // unknown
	}
	gs := st.Build(testResource, time.Second, time.Now(), true)
	if len(gs) != 0 {
		t.Errorf("a row whose only counter is text built %v", gs)
	}
	st.Notification(&pb.Notification{Timestamp: 1e18, Prefix: mustPath(t, "/interfaces/interface[name=b]"),
		Update: []*pb.Update{{Path: mustPath(t, "state/counters/in-octets"), Val: &pb.TypedValue{Value: &pb.TypedValue_UintVal{UintVal: 9}}}}})
	gs = st.Build(testResource, time.Second, time.Now(), true)
	if len(gs) != 1 || gs[0].Dimension("interface_name") != "b" {
		t.Errorf("good row: %v", gs)
	}
	out := logs.String()
	for _, want := range []string{"malformed", "path no mapping reads"} {
		if strings.Count(out, want) < 1 {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if strings.Count(out, "path no mapping reads") != 1 {
		t.Errorf("unknown paths logged %d times, want once:\n%s", strings.Count(out, "path no mapping reads"), out)
	}
	if m.Malformed("value") < 6 || m.Malformed("expression") < 1 || m.Unknown() != 3 {
		t.Errorf("malformed value %v, expression %v, unknown %v", m.Malformed("value"), m.Malformed("expression"), m.Unknown())
	}
}

func mustPath(t *testing.T, s string) *pb.Path {
	t.Helper()
	p, err := gnmi.ParsePath(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestBadMappings: every mistake names file, line and field.
func TestBadMappings(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"name: x\ngroups: []\n", "bad.yaml:2: groups: want a non-empty list"},
		{"name: x\ngroups:\n  - type: Interface\n    path: /a\n    leaves: {v: b}\n    metrics: {m: v}\n", "bad.yaml:3: groups[0].type"},
		{"name: x\ngroups:\n  - type: t\n    path: /a[k=*\n    leaves: {v: b}\n    metrics: {m: v}\n", "bad.yaml:4: groups[0].path"},
		{"name: x\ngroups:\n  - type: t\n    path: /a\n    leaves: {v: b}\n    metrics: {m: w + 1}\n", "bad.yaml:6: groups[0].metrics.m: expression \"w + 1\": unknown name w"},
		{"name: x\ngroups:\n  - type: t\n    path: /a\n    leaves: {v: b}\n    metrics: {m: v}\n    colour: red\n", "bad.yaml:7: groups[0].colour: unknown field"},
		{"name: x\ngroups:\n  - type: t\n    path: /a\n    leaves: {v: b}\n    subscribe: [{path: c, mode: often}]\n    metrics: {m: v}\n", "bad.yaml:6: groups[0].subscribe[0].mode"},
		{"name: x\ngroups:\n  - type: t\n    path: /a\n    leaves: {keys: b}\n    metrics: {m: 1}\n", "bad.yaml:5: groups[0].leaves.keys"},
		{"name: x\ngroups:\n  - type: t\n    path: /a\n    leaves: {v: b}\n    metrics: {m: {value: v, type: rate}}\n", "groups[0].metrics.m.type"},
	} {
		_, err := mapping.Parse("bad.yaml", []byte(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q:\n got %v\nwant %s", tc.yaml, err, tc.want)
		}
	}
}
