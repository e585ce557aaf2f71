package profile

import (
	"strconv"
	"strings"
	"testing"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/testutil/snmpagent"
)

// The Cisco 3750 recording (cisco_16_switch) holds cpmCPUTotalTable,
// ciscoMemoryPoolTable and the envmon fan and supply tables, but no
// temperature table: the optional temperature group is simply absent.
func TestCiscoIOSRecording(t *testing.T) {
	integration(t)
	snmpagent.Need(t, "snmpsimd", "snmpbulkwalk")
	const community = "cisco_16_switch"
	a := snmpagent.StartSnmpsim(t, community)
	p, err := NewPlugin(shipped(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	// resource_type "switch" is claimed by no profile: sysObjectID
	// .1.3.6.1.4.1.9.1.516 selects cisco-ios.
	gs, status := check(t, p, device(a, "switch", nil), community)
	if status != metric.StatusSuccess {
		t.Fatalf("status %d, groups %s", status, dump(gs))
	}

	cpu := truth(t, a, community, ".1.3.6.1.4.1.9.9.109.1.1.1.1")
	cpus := groupsOf(gs, "cpu")
	if len(cpus) != 1 {
		t.Fatalf("cpu groups: %s", dump(cpus))
	}
	wantVal(t, cpus[0], "cpu_utilization", cpu["8.1"])
	wantVal(t, cpus[0], "cpu_utilization_1m", cpu["7.1"])
	if cpus[0].Dimension("cpu_no") != "1" || cpus[0].Dimension("cpu_name") != "cpu 1" || cpus[0].Dimension("cpu_type") != "ctrl" {
		t.Errorf("cpu dimensions %v", cpus[0].Dimensions)
	}

	names := truth(t, a, community, ".1.3.6.1.4.1.9.9.48.1.1.1.2")
	valid := truth(t, a, community, ".1.3.6.1.4.1.9.9.48.1.1.1.4")
	used := truth(t, a, community, ".1.3.6.1.4.1.9.9.48.1.1.1.5")
	free := truth(t, a, community, ".1.3.6.1.4.1.9.9.48.1.1.1.6")
	pools := 0
	for idx, name := range names {
		if valid[idx] != "1" {
			continue
		}
		pools++
		g := find(t, gs, "memory", "memory_type", strings.ToLower(name))
		wantVal(t, g, "memory_used", used[idx])
		wantVal(t, g, "memory_total", strconv.FormatInt(atoi(t, used[idx])+atoi(t, free[idx]), 10))
	}
	if pools != 3 || len(groupsOf(gs, "memory")) != pools {
		t.Errorf("%d valid pools, memory groups: %s", pools, dump(groupsOf(gs, "memory")))
	}

	fans := truth(t, a, community, ".1.3.6.1.4.1.9.9.13.1.4.1.3")
	supplies := truth(t, a, community, ".1.3.6.1.4.1.9.9.13.1.5.1.3")
	count := func(m map[string]string, ok func(string) bool) string {
		n := 0
		for _, v := range m {
			if ok(v) {
				n++
			}
		}
		return strconv.Itoa(n)
	}
	env := withMetric(t, gs, "environment", "fans_total")
	wantVal(t, env, "fans_total", count(fans, func(v string) bool { return v != "5" }))
	wantVal(t, env, "fans_ok", count(fans, func(v string) bool { return v == "1" }))
	wantVal(t, env, "power_units_total", count(supplies, func(v string) bool { return v != "5" }))
	wantVal(t, env, "power_units_on", count(supplies, func(v string) bool { return v == "1" }))
	if val(env, "fans_total") != "1" || val(env, "power_units_on") != "1" {
		t.Errorf("environment %s", dump([]*metric.Group{env}))
	}
	if n := len(groupsOf(gs, "environment")); n != 1 {
		t.Errorf("%d environment groups (the recording has no temperature table): %s", n, dump(gs))
	}
	t.Logf("groups: %s", dump(gs))
	for _, g := range gs {
		if g.Interval != 60 || g.SchemaVersion != metric.SchemaVersion || g.Resource == nil {
			t.Errorf("group header %+v", g)
		}
	}
}
