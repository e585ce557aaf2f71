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
// tick counters) must lie between a walk before and a walk after the poll;
// cpu_utilization, from two polls, must match the tick counters walked
// around them.
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
	// cpu_utilization comes from two polls' tick counters: none on the first.
	if v := val(total, "cpu_utilization"); v != "" {
		t.Errorf("cpu_utilization %s on the first poll", v)
	}
	checkLinuxUtilization(t, a, p, after)

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

// checkLinuxUtilization waits for snmpd's next CPU sample (it reads
// /proc/stat every 5 s) after the first poll, whose counters were last,
// polls again and compares cpu_utilization with the busy share of the
// ticks snmpbulkwalk saw around the two polls.
func checkLinuxUtilization(t *testing.T, a *snmpagent.Agent, p *Plugin, last map[string]string) {
	t.Helper()
	const ucd = ".1.3.6.1.4.1.2021.11"
	sums := func(m map[string]string) (busy, total float64) {
		for _, c := range []string{"50.0", "51.0", "52.0", "53.0", "54.0", "56.0", "61.0", "64.0"} {
			total += float64(atoi(t, m[c]))
		}
		return total - float64(atoi(t, m["53.0"])+atoi(t, m["54.0"])), total
	}
	util := func(from, to map[string]string) float64 {
		b0, t0 := sums(from)
		b1, t1 := sums(to)
		return 100 * (b1 - b0) / (t1 - t0)
	}
	_, total0 := sums(last)
	var before map[string]string
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		before = truth(t, a, a.Community, ucd)
		if _, tot := sums(before); tot != total0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("snmpd's tick counters did not move in 15 s")
		}
	}
	gs, status := check(t, p, device(a, "server", nil), a.Community)
	after := truth(t, a, a.Community, ucd)
	if status != metric.StatusSuccess {
		t.Fatalf("second poll: status %d: %s", status, dump(gs))
	}
	g := find(t, gs, "cpu", "cpu_no", "all")
	m, ok := g.Metric("cpu_utilization")
	if !ok {
		t.Fatalf("no cpu_utilization on the second poll: %s", dump(gs))
	}
	got := m.Value.Float64()
	lo, hi := util(last, before), util(last, after)
	lo, hi = min(lo, hi)-5, max(lo, hi)+5 // the polls read within these walks
	t.Logf("cpu_utilization %.2f; snmpbulkwalk around the polls: %.2f .. %.2f", got, lo+5, hi-5)
	if !m.Value.IsFloat() || got < 0 || got > 100 || got < lo || got > hi {
		t.Errorf("cpu_utilization %v, want a float in [0, 100] and in [%.2f, %.2f]", m.Value, lo, hi)
	}
}
