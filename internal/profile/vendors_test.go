package profile

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/panoptes-go/panoptes/internal/apps/monitor"
	"github.com/panoptes-go/panoptes/internal/apps/tracker"
	"github.com/panoptes-go/panoptes/internal/event"
	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/testutil/natstest"
	"github.com/panoptes-go/panoptes/internal/testutil/snmpagent"
)

// TestVendorRecordings polls hand-written recordings (testdata/*.snmprec,
// made by testdata/mkrec.py after each vendor's MIB) served by snmpsim,
// one subtest per shipped profile, checking values against snmpbulkwalk.
// Each device is selected by its sysObjectID.
func TestVendorRecordings(t *testing.T) {
	integration(t)
	snmpagent.Need(t, "snmpsimd", "snmpbulkwalk")
	a := snmpagent.StartSnmpsim(t, "testdata/juniper_mx480.snmprec", "testdata/cisco_nxos.snmprec",
		"testdata/arista_eos.snmprec", "testdata/entity_sensor.snmprec", "testdata/f5_bigip.snmprec")
	p, err := NewPlugin(shipped(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	poll := func(t *testing.T, community string) []*metric.Group {
		res := device(a, "device", nil)
		res.ID = community // one sysObjectID cache entry per simulated device
		gs, status := check(t, p, res, community)
		if status != metric.StatusSuccess {
			t.Fatalf("status %d: %s", status, dump(gs))
		}
		t.Logf("groups: %s", dump(gs))
		return gs
	}

	t.Run("juniper", func(t *testing.T) {
		const c = "juniper_mx480"
		gs := poll(t, c)
		const op = ".1.3.6.1.4.1.2636.3.1.13.1"
		descr, state := truth(t, a, c, op+".5"), truth(t, a, c, op+".6")
		cpu, temp := truth(t, a, c, op+".8"), truth(t, a, c, op+".7")
		buf, mem := truth(t, a, c, op+".11"), truth(t, a, c, op+".15")
		for _, idx := range []string{"7.1.0.0", "9.1.0.0", "9.2.0.0"} {
			g := find(t, gs, "cpu", "cpu_no", idx)
			wantVal(t, g, "cpu_utilization", cpu[idx])
			if g.Dimension("cpu_name") != descr[idx] {
				t.Errorf("cpu %s name %q", idx, g.Dimension("cpu_name"))
			}
		}
		if find(t, gs, "cpu", "cpu_no", "7.1.0.0").Dimension("cpu_type") != "data" ||
			find(t, gs, "cpu", "cpu_no", "9.1.0.0").Dimension("cpu_type") != "ctrl" || len(groupsOf(gs, "cpu")) != 3 {
			t.Errorf("cpu groups %s", dump(groupsOf(gs, "cpu")))
		}
		re := find(t, gs, "memory", "memory_name", "Routing Engine 0") // buffer group comes first
		total := atoi(t, mem["9.1.0.0"]) * 1048576
		wantVal(t, re, "memory_total", strconv.FormatInt(total, 10))
		wantVal(t, re, "memory_used", strconv.FormatInt(total*atoi(t, buf["9.1.0.0"])/100, 10))
		if n := len(groupsOf(gs, "memory")); n != 6 { // buffer and heap for 3 components
			t.Errorf("%d memory groups", n)
		}
		fans, fansOK, psus, psusOn := 0, 0, 0, 0
		for idx, d := range descr {
			ok := state[idx] == "2" || state[idx] == "5"
			if strings.Contains(strings.ToLower(d), "fan") {
				fans++
				fansOK += b2i(ok)
			}
			if strings.HasPrefix(d, "PEM") {
				psus++
				psusOn += b2i(ok)
			}
		}
		env := withMetric(t, gs, "environment", "fans_total")
		for name, want := range map[string]int{"fans_total": fans, "fans_ok": fansOK, "power_units_total": psus, "power_units_on": psusOn} {
			wantVal(t, env, name, strconv.Itoa(want))
		}
		if fans != 3 || fansOK != 2 || psus != 3 || psusOn != 2 {
			t.Errorf("recording changed? fans %d/%d psus %d/%d", fansOK, fans, psusOn, psus)
		}
		wantVal(t, find(t, gs, "environment", "sensor_name", "Routing Engine 0"), "temperature", temp["9.1.0.0"])
		if n := len(groupsOf(gs, "environment")); n != 1+6 { // counts + 6 components with a temperature
			t.Errorf("%d environment groups", n)
		}
	})

	t.Run("cisco-nxos", func(t *testing.T) {
		const c = "cisco_nxos"
		gs := poll(t, c)
		cpm := truth(t, a, c, ".1.3.6.1.4.1.9.9.109.1.1.1.1")
		g := find(t, gs, "cpu", "cpu_name", "Slot 1")
		wantVal(t, g, "cpu_utilization", cpm["8.1"])
		m := find(t, gs, "memory", "memory_type", "system")
		wantVal(t, m, "memory_used", strconv.FormatInt(atoi(t, cpm["12.1"])*1024, 10))
		wantVal(t, m, "memory_total", strconv.FormatInt((atoi(t, cpm["12.1"])+atoi(t, cpm["13.1"]))*1024, 10))
		env := withMetric(t, gs, "environment", "fans_total")
		wantVal(t, env, "fans_total", "4")
		wantVal(t, env, "fans_ok", "3")
		wantVal(t, env, "power_units_total", "2")
		wantVal(t, env, "power_units_on", "1")
		sv := truth(t, a, c, ".1.3.6.1.4.1.9.9.91.1.1.1.1.4")
		wantVal(t, find(t, gs, "environment", "sensor_name", "module-1 FRONT"), "temperature", sv["21590"])
		cpuTemp := find(t, gs, "environment", "sensor_name", "module-1 CPU") // precision 1: 555 -> 55.5
		if mt, _ := cpuTemp.Metric("temperature"); !mt.Value.IsFloat() || mt.Value.Float64() != float64(atoi(t, sv["21592"]))/10 {
			t.Errorf("scaled temperature %v", mt.Value)
		}
		if n := len(groupsOf(gs, "environment")); n != 1+3 { // the dBm transceiver sensor is not a temperature
			t.Errorf("%d environment groups", n)
		}
	})

	t.Run("arista-eos", func(t *testing.T) {
		const c = "arista_eos"
		gs := poll(t, c)
		loads, descrs := truth(t, a, c, ".1.3.6.1.2.1.25.3.3.1.2"), truth(t, a, c, ".1.3.6.1.2.1.25.3.2.1.3")
		for idx, load := range loads {
			g := find(t, gs, "cpu", "cpu_no", idx)
			wantVal(t, g, "cpu_utilization", load)
			if g.Dimension("cpu_name") != descrs[idx] {
				t.Errorf("cpu name %q", g.Dimension("cpu_name"))
			}
		}
		hr := ".1.3.6.1.2.1.25.2.3.1"
		units, size, used := truth(t, a, c, hr+".4"), truth(t, a, c, hr+".5"), truth(t, a, c, hr+".6")
		m := find(t, gs, "memory", "memory_type", "ram")
		wantVal(t, m, "memory_total", strconv.FormatInt(atoi(t, size["1"])*atoi(t, units["1"]), 10))
		wantVal(t, m, "memory_used", strconv.FormatInt(atoi(t, used["1"])*atoi(t, units["1"]), 10))
		if len(groupsOf(gs, "memory")) != 1 || len(loads) != 2 {
			t.Errorf("only hrStorageRam is memory: %s", dump(gs))
		}
		env := withMetric(t, gs, "environment", "fans_total")
		wantVal(t, env, "fans_total", "2")
		wantVal(t, env, "fans_ok", "1")
		wantVal(t, env, "power_units_total", "2")
		wantVal(t, env, "power_units_on", "1")
		sv := truth(t, a, c, ".1.3.6.1.2.1.99.1.1.1.4")
		cpuTemp := find(t, gs, "environment", "sensor_name", "Cpu temp sensor")
		if mt, _ := cpuTemp.Metric("temperature"); mt.Value.Float64() != float64(atoi(t, sv["100006001"]))/10 {
			t.Errorf("temperature %v, raw %s", mt.Value, sv["100006001"])
		}
	})

	t.Run("entity-sensor", func(t *testing.T) {
		const c = "entity_sensor"
		gs := poll(t, c)
		if len(groupsOf(gs, "cpu")) != 0 || len(groupsOf(gs, "memory")) != 0 {
			t.Errorf("the generic profile has only environment groups: %s", dump(gs))
		}
		env := withMetric(t, gs, "environment", "fans_total")
		wantVal(t, env, "fans_total", "1")
		wantVal(t, env, "fans_ok", "1")
		wantVal(t, env, "power_units_total", "2")
		wantVal(t, env, "power_units_on", "2")
		sv := truth(t, a, c, ".1.3.6.1.2.1.99.1.1.1.4")
		wantVal(t, find(t, gs, "environment", "sensor_name", "Chassis Temp"), "temperature", sv["30"])
		inlet := find(t, gs, "environment", "sensor_name", "Inlet Temp") // milli-degrees: 23500 -> 23.5
		if mt, _ := inlet.Metric("temperature"); mt.Value.Float64() != float64(atoi(t, sv["31"]))/1000 {
			t.Errorf("milli-scaled temperature %v", mt.Value)
		}
		if n := len(groupsOf(gs, "environment")); n != 3 { // counts + 2 working temperature sensors
			t.Errorf("%d environment groups", n)
		}
	})

	// A synthetic recording written from F5-BIGIP-LOCAL-MIB's structure
	// (testdata/mkrec.py), not a device's.
	t.Run("f5-bigip", func(t *testing.T) {
		const c = "f5_bigip"
		gs := poll(t, c)
		const vs, pm = ".1.3.6.1.4.1.3375.2.2.10", ".1.3.6.1.4.1.3375.2.2.5"
		vsName, vsAvail, vsEn := truth(t, a, c, vs+".13.2.1.1"), truth(t, a, c, vs+".13.2.1.2"), truth(t, a, c, vs+".13.2.1.3")
		vsCur, vsIn := truth(t, a, c, vs+".2.3.1.12"), truth(t, a, c, vs+".2.3.1.7")
		if len(vsName) != 3 || len(groupsOf(gs, "lb_virtual_server")) != 3 {
			t.Fatalf("virtual servers: %d in the recording, groups %s", len(vsName), dump(groupsOf(gs, "lb_virtual_server")))
		}
		for idx, name := range vsName {
			g := find(t, gs, "lb_virtual_server", "virtual_server", name)
			wantVal(t, g, "availability", vsAvail[idx])
			wantVal(t, g, "enabled", vsEn[idx])
			wantVal(t, g, "connections", vsCur[idx])
			wantVal(t, g, "bytes_in", vsIn[idx])
		}
		web := find(t, gs, "lb_virtual_server", "virtual_server", "/Common/vs_web")
		old := find(t, gs, "lb_virtual_server", "virtual_server", "/Tenant/vs_old")
		if web.Dimension("port") != "443" || web.Dimension("partition") != "Common" || web.Dimension("availability_name") != "available" ||
			old.Dimension("partition") != "Tenant" || old.Dimension("availability_name") != "unknown" {
			t.Errorf("dimensions %v, %v", web.Dimensions, old.Dimensions)
		}
		if m, _ := web.Metric("bytes_out"); m.Type != metric.Counter || m.Value.String() != "876543210987" {
			t.Errorf("bytes_out %+v: want the exact Counter64", m)
		}
		mAvail, mTot := truth(t, a, c, pm+".6.2.1.5"), truth(t, a, c, pm+".4.3.1.10")
		members := groupsOf(gs, "lb_pool_member")
		if len(members) != 4 || len(mAvail) != 4 {
			t.Fatalf("pool members: %s", dump(members))
		}
		down := find(t, gs, "lb_pool_member", "member", "/Common/10.0.0.12:80")
		if down.Dimension("pool") != "/Common/web_pool" || down.Dimension("node") != "/Common/10.0.0.12" || down.Dimension("availability_name") != "offline" {
			t.Errorf("member dimensions %v", down.Dimensions)
		}
		for idx, avail := range mAvail {
			found := false
			for _, g := range members {
				if val(g, "availability") == avail && val(g, "connections_total") == mTot[idx] {
					found = true
				}
			}
			if !found {
				t.Errorf("no member group with availability %s and connections_total %s (row %s)", avail, mTot[idx], idx)
			}
		}
		wantVal(t, find(t, gs, "lb_pool_member", "member", "/Common/api2:8443"), "enabled", "2")

		// The events app makes events of them: what is down is a problem
		// when first seen; a disabled object is not.
		js := natstest.JetStream(t, "")
		tr, err := tracker.Open(context.Background(), js, tracker.Options{})
		if err != nil {
			t.Fatal(err)
		}
		rec := &eventRecorder{Applier: tr}
		if err := monitor.New(rec, nil).Handle(context.Background(), gs); err != nil {
			t.Fatal(err)
		}
		want := []string{
			"lb_pool_member /Common/web_pool /Common/10.0.0.12:80 offline problem",
			"lb_virtual_server /Common/vs_api offline problem",
		}
		if got := rec.strings(); !slices.Equal(got, want) {
			t.Errorf("events %q, want %q", got, want)
		}
	})
}

// eventRecorder keeps the events of the batches it passes on.
type eventRecorder struct {
	monitor.Applier
	events []*event.Event
}

func (r *eventRecorder) Apply(ctx context.Context, b tracker.Batch) ([]*event.Event, error) {
	es, err := r.Applier.Apply(ctx, b)
	r.events = append(r.events, es...)
	return es, err
}

func (r *eventRecorder) strings() []string {
	var out []string
	for _, e := range r.events {
		out = append(out, fmt.Sprintf("%s %s %s %s", e.Kind, e.Object, e.NewState, e.Status))
	}
	slices.Sort(out)
	return out
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
