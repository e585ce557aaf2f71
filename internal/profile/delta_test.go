package profile

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/rate"
	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/snmp"
)

// The linux profile's formula on four counters (busy = user + system;
// total adds idle and wait), a per-row delta over a table, and a metric
// sharing delta(total) with cpu_utilization.
const deltaProfile = `name: deltas
match: {sys_object_id: [.1.3.6.1.4.1.98]}
groups:
  - type: cpu
    get:
      user: .1.3.6.1.4.1.98.1.0
      system: .1.3.6.1.4.1.98.2.0
      idle: .1.3.6.1.4.1.98.3.0
      wait: .1.3.6.1.4.1.98.4.0
    metrics:
      cpu_utilization: >-
        let i = delta(idle + (wait ?? 0));
        let total = delta(user + system + idle + (wait ?? 0));
        total > 0 ? 100.0 * (total - i) / total : nil
      ticks: delta(user + system + idle + (wait ?? 0))
      user_ticks: {value: user, type: counter}
      idle_ticks: {value: idle, type: counter}
  - type: port
    optional: true
    walk:
      octets: .1.3.6.1.4.1.98.5.1
    dimensions:
      port: index
    metrics:
      octets_per_poll: delta(octets)
`

// counterAgent serves the deltaProfile's OIDs.
func counterAgent(user, system, idle, wait uint32, ports ...uint64) *fakeAgent {
	c32 := func(oid string, v uint32) snmp.Varbind {
		return snmp.Varbind{Name: oid, Type: gosnmp.Counter32, Value: uint(v)}
	}
	f := &fakeAgent{vbs: []snmp.Varbind{
		c32(".1.3.6.1.4.1.98.1.0", user), c32(".1.3.6.1.4.1.98.2.0", system),
		c32(".1.3.6.1.4.1.98.3.0", idle), c32(".1.3.6.1.4.1.98.4.0", wait),
	}}
	for i, v := range ports {
		f.vbs = append(f.vbs, snmp.Varbind{Name: ".1.3.6.1.4.1.98.5.1." + string(rune('1'+i)), Type: gosnmp.Counter64, Value: v})
	}
	return f
}

// deltaPoll evaluates p once against f with history h.
func deltaPoll(t *testing.T, p *Profile, f *fakeAgent, h *testHistory) (cpu *metric.Group, ports []*metric.Group, err error) {
	t.Helper()
	req := &Request{Resource: &resource.Resource{Site: "s", Class: "c", Subclass: "x", Type: "t", ID: "host1"}, Interval: 60, History: h}
	if h == nil {
		req.History = nil // a nil *testHistory is not a nil interface
	}
	gs, err := p.Evaluate(context.Background(), f, req)
	for _, g := range gs {
		if g.Type == "cpu" {
			cpu = g
		} else {
			ports = append(ports, g)
		}
	}
	if cpu == nil {
		t.Fatalf("no cpu group: %s (err %v)", dump(gs), err)
	}
	return cpu, ports, err
}

func TestDeltaUtilization(t *testing.T) {
	p := mustParse(t, deltaProfile)
	h := newTestHistory()

	// First poll: counters only, no delta-based metric, no error.
	cpu, ports, err := deltaPoll(t, p, counterAgent(1000, 500, 8000, 500, 10, 20), h)
	if err != nil || val(cpu, "cpu_utilization") != "" || val(cpu, "ticks") != "" || val(cpu, "user_ticks") != "1000" {
		t.Fatalf("first poll: %s, %v", dump([]*metric.Group{cpu}), err)
	}
	if len(ports) != 0 {
		t.Errorf("first poll has per-port deltas: %s", dump(ports))
	}

	// Second: +300 user, +100 system, +550 idle, +50 wait: 400 of 1000 busy.
	cpu, ports, err = deltaPoll(t, p, counterAgent(1300, 600, 8550, 550, 110, 20), h)
	if err != nil {
		t.Fatal(err)
	}
	if m, ok := cpu.Metric("cpu_utilization"); !ok || m.Value.Float64() != 40 || m.Type != metric.Gauge {
		t.Errorf("cpu_utilization = %+v, want the gauge 40", m)
	}
	if val(cpu, "ticks") != "1000" {
		t.Errorf("ticks (sharing delta(total)) = %s, want 1000", val(cpu, "ticks"))
	}
	if len(ports) != 2 || val(ports[0], "octets_per_poll") != "100" || val(ports[1], "octets_per_poll") != "0" {
		t.Errorf("per-row deltas: %s", dump(ports))
	}

	// A Counter32 wraps (user): no value, no error; the next poll has one.
	cpu, _, err = deltaPoll(t, p, counterAgent(5, 700, 9000, 600, 120, 25), h)
	if err != nil || val(cpu, "cpu_utilization") != "" || val(cpu, "ticks") != "" {
		t.Errorf("after a wrap: %s, %v", dump([]*metric.Group{cpu}), err)
	}
	cpu, ports, _ = deltaPoll(t, p, counterAgent(105, 800, 9700, 700, 130, 30), h)
	if got := val(cpu, "cpu_utilization"); got != "20" {
		t.Errorf("after the wrap's poll: cpu_utilization %s, want 20 (200 of 1000)", got)
	}
	if len(ports) != 2 || val(ports[0], "octets_per_poll") != "10" || val(ports[1], "octets_per_poll") != "5" {
		t.Errorf("per-row deltas keep their own previous values: %s", dump(ports))
	}

	// The host restarts: every counter starts over. No value, not a negative one.
	cpu, ports, err = deltaPoll(t, p, counterAgent(10, 10, 100, 0, 1, 1), h)
	if err != nil || val(cpu, "cpu_utilization") != "" || len(ports) != 0 {
		t.Errorf("after a restart: %s %s, %v", dump([]*metric.Group{cpu}), dump(ports), err)
	}

	// Polls missed for more than 3 intervals: no value.
	h.age(4 * 60)
	cpu, _, _ = deltaPoll(t, p, counterAgent(20, 20, 200, 0, 2, 2), h)
	if val(cpu, "cpu_utilization") != "" {
		t.Errorf("after a gap of 4 intervals: cpu_utilization %s", val(cpu, "cpu_utilization"))
	}
	cpu, _, _ = deltaPoll(t, p, counterAgent(30, 30, 280, 0, 2, 2), h)
	if val(cpu, "cpu_utilization") != "20" {
		t.Errorf("after the gap's poll: cpu_utilization %s, want 20", val(cpu, "cpu_utilization"))
	}

	// Without history delta() never has a value, and that is not an error.
	cpu, _, err = deltaPoll(t, p, counterAgent(40, 40, 300, 0), nil)
	if err != nil || val(cpu, "cpu_utilization") != "" || val(cpu, "user_ticks") != "40" {
		t.Errorf("no history: %s, %v", dump([]*metric.Group{cpu}), err)
	}
	// Each resource has its own series: 2 per poll (idle, total) + 2 ports.
	if n := h.len(); n != 4 {
		t.Errorf("%d series kept, want 4", n)
	}
}

// TestDeltaMissingInput: an absent counter leaves the delta-based metric
// out, reported as not returned (naming it), and the present ones keep
// their state.
func TestDeltaMissingInput(t *testing.T) {
	p := mustParse(t, deltaProfile)
	h := newTestHistory()
	f := counterAgent(1, 2, 3, 4)
	f.vbs = f.vbs[1:] // no user counter
	for range 2 {
		cpu, _, err := deltaPoll(t, p, f, h)
		if !errors.Is(err, ErrNotReturned) || !strings.Contains(err.Error(), "scalar user (.1.3.6.1.4.1.98.1.0) not returned by the device: no data for metric cpu_utilization") ||
			val(cpu, "cpu_utilization") != "" || val(cpu, "idle_ticks") != "3" {
			t.Fatalf("absent input: %s, %v", dump([]*metric.Group{cpu}), err)
		}
	}
}

func TestDeltaErrors(t *testing.T) {
	for src, want := range map[string]string{
		`delta(a, a)`:                 "delta() takes one argument",
		`delta()`:                     "delta() takes one argument",
		`count(rows, delta(.a) > 0)`:  "not inside a closure",
		`sum(map(rows, delta(#.a)))`:  "not inside a closure",
		`delta("x") > 0 ? 1 : 0`:      "", // a runtime error, not a load error
		`len(rows) + (delta(1) ?? 0)`: "",
		`delta(len(rows)) ?? 0`:       "",
	} {
		_, err := Parse("d.yaml", []byte("name: d\nmatch: {resource_type: [d]}\ngroups:\n  - type: t\n    per: table\n    walk: {a: .1.3.6.1.4.1.98.5.1}\n    metrics:\n      m: '"+src+"'\n"))
		if (want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), want)) {
			t.Errorf("%s: error %v, want %q", src, err, want)
		}
	}

	// delta() of text or of a negative number is the profile's mistake.
	p := mustParse(t, `name: e
match: {resource_type: [e]}
groups:
  - type: t
    get: {a: .1.3.6.1.4.1.98.1.0}
    metrics:
      text: delta(string(a))
      negative: delta(0 - a)
      fine: a
`)
	_, err := p.Evaluate(context.Background(), counterAgent(5, 0, 0, 0), &Request{Resource: &resource.Resource{ID: "r"}, History: newTestHistory()})
	if err == nil || !strings.Contains(err.Error(), "metric text: delta(string(a)): want an integer counter") ||
		!strings.Contains(err.Error(), "metric negative: delta(0 - a): counter value -5 is negative") {
		t.Errorf("error %v", err)
	}
}

// TestMemHistorySweeps: the plugin's own store is in memory, swept on use:
// a sweep keeps fresh samples and drops idle resources and stale series.
func TestMemHistorySweeps(t *testing.T) {
	h := newMemHistory()
	ctx := context.Background()
	if _, _, ok := h.Swap(ctx, "r", 1, 10, 100); ok {
		t.Fatal("first sample has a previous one")
	}
	h.next = h.next.Add(-2 * sweepEvery) // due: the sweep must not lose a fresh sample
	if v, at, ok := h.Swap(ctx, "r", 1, 20, 160); !ok || v != 10 || at != 100 {
		t.Errorf("Swap after a sweep = %d, %v, %v", v, at, ok)
	}
	if v, at, ok := h.Swap(ctx, "r", 1, 30, 150); !ok || v != 20 || at != 160 {
		t.Errorf("an older sample must leave the stored one: %d, %v, %v", v, at, ok)
	}

	h.Swap(ctx, "idle", 1, 1, 100)
	h.Swap(ctx, "r", 2, 5, 160-evictAfter.Seconds()-1) // older than r's newest by more than evictAfter
	h.res["idle"].used = time.Now().Add(-evictAfter - time.Minute)
	h.next = time.Now().Add(-time.Second)
	h.Swap(ctx, "r", 1, 40, 220)
	if _, ok := h.res["idle"]; ok {
		t.Error("a resource idle for longer than evictAfter was kept")
	}
	if _, _, ok := h.Swap(ctx, "r", 2, 6, 230); ok {
		t.Error("a series older than evictAfter was kept")
	}
	if v, _, ok := h.Swap(ctx, "r", 1, 50, 280); !ok || v != 40 {
		t.Errorf("a fresh series was lost: %d, %v", v, ok)
	}

	p, err := NewPlugin(shipped(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.history == nil || !p.UsesHistory() {
		t.Error("the plugin has no history of its own")
	}
}

// testHistory is a poll.History in a map, whose samples a test can age.
type testHistory struct {
	m map[string]struct {
		v  uint64
		at float64
	}
}

func newTestHistory() *testHistory {
	return &testHistory{m: map[string]struct {
		v  uint64
		at float64
	}{}}
}

func (h *testHistory) Swap(_ context.Context, res string, series uint64, v uint64, at float64) (uint64, float64, bool) {
	k := res + "|" + strconv.FormatUint(series, 10)
	old, ok := h.m[k]
	if ok && at <= old.at {
		return old.v, old.at, true
	}
	h.m[k] = struct {
		v  uint64
		at float64
	}{v, at}
	return old.v, old.at, ok
}

func (h *testHistory) age(seconds float64) {
	for k, s := range h.m {
		s.at -= seconds
		h.m[k] = s
	}
}

func (h *testHistory) len() int { return len(h.m) }

// gapHistory is a testHistory with its own gap limit, as the node's rate
// state has (rates.max_gap).
type gapHistory struct {
	*testHistory
	gap int
}

func (h gapHistory) MaxGap() int { return h.gap }

// TestDeltaFollowsMaxGap: the gap delta() accepts is the History's
// (rates.max_gap), not a fixed 3 intervals.
func TestDeltaFollowsMaxGap(t *testing.T) {
	p := mustParse(t, deltaProfile)
	res := &resource.Resource{ID: "host1"}
	for _, c := range []struct {
		gap  int
		want string
	}{{6, "20"}, {-1, "20"}, {4, ""}} {
		h := gapHistory{testHistory: newTestHistory(), gap: c.gap}
		req := &Request{Resource: res, Interval: 60, History: h}
		if _, err := p.Evaluate(context.Background(), counterAgent(10, 10, 80, 0), req); err != nil {
			t.Fatal(err)
		}
		h.age(5 * 60) // 5 intervals
		gs, err := p.Evaluate(context.Background(), counterAgent(20, 20, 160, 0), req)
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		for _, g := range gs {
			if g.Type == "cpu" {
				got = val(g, "cpu_utilization")
			}
		}
		if got != c.want {
			t.Errorf("max_gap %d, 5 intervals apart: cpu_utilization %q, want %q", c.gap, got, c.want)
		}
	}
	var _ gapLimiter = rate.New(rate.Options{MaxGap: 6})
	if g := rate.New(rate.Options{MaxGap: 6}).MaxGap(); g != 6 {
		t.Errorf("rate.Processor.MaxGap() = %d, want 6", g)
	}
}
