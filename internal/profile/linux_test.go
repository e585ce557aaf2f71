package profile

import (
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/testutil/snmpagent"
)

// TestLinuxSnmpd polls a real net-snmp agent. Static values (memTotalReal,
// the processor list) must match snmpbulkwalk exactly; moving ones (CPU
// tick counters) must lie between a walk before and a walk after the poll.
func TestLinuxSnmpd(t *testing.T) {
	integration(t)
	snmpagent.Need(t, "snmpd", "snmpbulkwalk")
	a := snmpagent.StartSnmpd(t)
	p, err := NewPlugin(shipped(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	const ucd = ".1.3.6.1.4.1.2021"
	// snmpd samples /proc/stat every 5 s and reports zeros until its first
	// sample: wait for it, so that the counters are worth comparing.
	var before map[string]string
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		if before = truth(t, a, a.Community, ucd+".11"); before["50.0"] != "0" || time.Now().After(deadline) {
			break
		}
	}
	gs, status := check(t, p, device(a, "server", nil), a.Community) // selected by sysObjectID .1.3.6.1.4.1.8072.3.2.10
	after := truth(t, a, a.Community, ucd+".11")
	mem := truth(t, a, a.Community, ucd+".4")
	if status != metric.StatusSuccess {
		t.Fatalf("status %d: %s", status, dump(gs))
	}
	t.Logf("groups: %s", dump(gs))

	total := find(t, gs, "cpu", "cpu_no", "all")
	for name, col := range map[string]string{"cpu_user_ticks": "50.0", "cpu_system_ticks": "52.0", "cpu_idle_ticks": "53.0"} {
		m, ok := total.Metric(name)
		if !ok {
			t.Errorf("no %s", name)
			continue
		}
		v := m.Value.Uint64()
		lo, hi := uint64(atoi(t, before[col])), uint64(atoi(t, after[col]))
		if v < lo || v > hi || m.Type != metric.Counter || m.Hint.Bits != 32 || m.Value.IsFloat() {
			t.Errorf("%s = %v (%s, bits %d), want an exact Counter32 in [%d, %d]", name, m.Value, m.Type, m.Hint.Bits, lo, hi)
		}
	}
	if atoi(t, val(total, "cpu_user_ticks")) == 0 {
		t.Errorf("cpu_user_ticks is 0 after snmpd's first sample")
	}
	// net-snmp 5.9 on Linux no longer serves ssCpuIdle: then the metric is
	// absent (not an error); where it is served it must match.
	if idle, ok := after["11.0"]; ok {
		if u := atoi(t, val(total, "cpu_utilization")); u < 0 || u > 100 || math.Abs(float64(100-atoi(t, idle)-u)) > 20 {
			t.Errorf("cpu_utilization %d, ssCpuIdle %s", u, idle)
		}
	} else if v := val(total, "cpu_utilization"); v != "" {
		t.Errorf("cpu_utilization %s without ssCpuIdle", v)
	}

	// One group per hrProcessorLoad row, named by hrDeviceDescr.
	loads := truth(t, a, a.Community, ".1.3.6.1.2.1.25.3.3.1.2")
	descrs := truth(t, a, a.Community, ".1.3.6.1.2.1.25.3.2.1.3")
	// hrProcessorLoad is a 1-minute average: a fresh snmpd has no rows yet,
	// and then there must be no per-core groups either.
	for idx := range loads {
		g := find(t, gs, "cpu", "cpu_no", idx)
		if g.Dimension("cpu_name") != descrs[idx] {
			t.Errorf("cpu %s name %q, want %q", idx, g.Dimension("cpu_name"), descrs[idx])
		}
		if u := atoi(t, val(g, "cpu_utilization")); u < 0 || u > 100 {
			t.Errorf("cpu %s utilization %d", idx, u)
		}
	}
	if n := len(groupsOf(gs, "cpu")); n != len(loads)+1 {
		t.Errorf("%d cpu groups, want %d", n, len(loads)+1)
	}

	real := find(t, gs, "memory", "memory_type", "real")
	wantVal(t, real, "memory_total", strconv.FormatInt(atoi(t, mem["5.0"])*1024, 10))
	used := float64(atoi(t, val(real, "memory_used")))
	want := float64((atoi(t, mem["5.0"]) - atoi(t, mem["6.0"]) - atoi(t, mem["14.0"]) - atoi(t, mem["15.0"])) * 1024)
	if used <= 0 || math.Abs(used-want) > 0.05*float64(atoi(t, mem["5.0"])*1024) {
		t.Errorf("memory_used %.0f, snmpbulkwalk says about %.0f", used, want)
	}

	la := truth(t, a, a.Community, ucd+".10.1.3")
	load := withMetric(t, gs, "load", "load_1m")
	got, _ := strconv.ParseFloat(val(load, "load_1m"), 64)
	ref, _ := strconv.ParseFloat(la["1"], 64)
	if m, _ := load.Metric("load_1m"); !m.Value.IsFloat() || math.Abs(got-ref) > 2 {
		t.Errorf("load_1m %v, snmpbulkwalk %v", got, ref)
	}
}
