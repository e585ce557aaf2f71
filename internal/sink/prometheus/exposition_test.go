package prometheus

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/plugin"
	"github.com/panoptes-go/panoptes/internal/sink"
)

func render(t testing.TB, e *Exposition) string {
	t.Helper()
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	if err := e.WriteExposition(w); err != nil {
		t.Fatalf("WriteExposition: %v", err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func parseText(t testing.TB, text string) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("exposition does not parse: %v\n%s", err, text)
	}
	return fams
}

func labelsOf(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, lp := range m.GetLabel() {
		out[lp.GetName()] = lp.GetValue()
	}
	return out
}

// TestExpositionText writes a 48-port switch and a CPU group and parses the
// exposition with Prometheus' own text parser: names, types, HELP, labels
// (escaped values round-trip), values and device timestamps.
func TestExpositionText(t *testing.T) {
	e := newTestExposition(t, Config{})
	ts := time.UnixMilli(1_700_000_000_123)
	r := device("dc1", "sw1")
	groups := append(interfaceGroups(r, 48, 0, ts), cpuGroup(r, 12.5, ts))
	if err := e.Write(context.Background(), records(groups...)); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if got, want := e.Series(), 48*18+1; got != want {
		t.Errorf("Series() = %d, want %d", got, want)
	}
	text := render(t, e)
	fams := parseText(t, text)
	if len(fams) != 19 {
		t.Errorf("%d families, want 19 (18 interface + 1 cpu)", len(fams))
	}
	for j, name := range interfaceCounters {
		f := fams["panoptes_interface_"+name+"_total"]
		if f == nil {
			t.Fatalf("family panoptes_interface_%s_total missing", name)
		}
		if f.GetType() != dto.MetricType_COUNTER {
			t.Errorf("%s: type %v, want counter", f.GetName(), f.GetType())
		}
		if !strings.Contains(f.GetHelp(), name) || !strings.Contains(f.GetHelp(), "interface") {
			t.Errorf("%s: help %q does not name the metric and group", f.GetName(), f.GetHelp())
		}
		if len(f.GetMetric()) != 48 {
			t.Fatalf("%s: %d series, want 48", f.GetName(), len(f.GetMetric()))
		}
		for _, m := range f.GetMetric() {
			ls := labelsOf(m)
			var port int
			if _, err := fmt.Sscanf(ls["interface_name"], "GigabitEthernet1/0/%d", &port); err != nil {
				t.Fatalf("%s: interface_name %q: %v", f.GetName(), ls["interface_name"], err)
			}
			want := map[string]string{
				"interface_name": ls["interface_name"], "description": ls["interface_name"],
				"alias":      fmt.Sprintf(`uplink "%d" to core\rack`, port),
				"media_type": "ethernetCsmacd", "port_speed": "1000000000",
				"resource_site": "dc1", "resource_class": "network", "resource_subclass": "switch",
				"resource_type": "cisco", "resource_id": "sw1", "resource_endpoint": "sw1.example.com",
			}
			if fmt.Sprint(ls) != fmt.Sprint(want) {
				t.Fatalf("%s labels\n got %v\nwant %v", f.GetName(), ls, want)
			}
			if got, want := m.GetCounter().GetValue(), float64(counterValue(port-1, j, 0)); got != want {
				t.Errorf("%s{%s}: value %v, want %v", f.GetName(), ls["interface_name"], got, want)
			}
			if m.GetTimestampMs() != ts.UnixMilli() {
				t.Errorf("%s: timestamp %d, want %d", f.GetName(), m.GetTimestampMs(), ts.UnixMilli())
			}
		}
	}
	oper := fams["panoptes_interface_oper_state"]
	if oper.GetType() != dto.MetricType_GAUGE || len(oper.GetMetric()) != 48 {
		t.Fatalf("oper_state: type %v, %d series; want gauge, 48", oper.GetType(), len(oper.GetMetric()))
	}
	cpu := fams["panoptes_cpu_cpu_utilization"]
	if cpu == nil || cpu.GetMetric()[0].GetGauge().GetValue() != 12.5 || labelsOf(cpu.GetMetric()[0])["cpu_name"] != "Supervisor" {
		t.Fatalf("cpu family wrong: %v", cpu)
	}
	// Families come in name order and each family's lines are contiguous.
	var order []string
	for line := range strings.Lines(text) {
		if name, ok := strings.CutPrefix(line, "# TYPE "); ok {
			order = append(order, strings.Fields(name)[0])
		}
	}
	for i := 1; i < len(order); i++ {
		if order[i-1] >= order[i] {
			t.Fatalf("families out of order: %s before %s", order[i-1], order[i])
		}
	}
}

// TestExpositionValues: integers are printed exactly, floats in the
// format's spelling.
func TestExpositionValues(t *testing.T) {
	e := newTestExposition(t, Config{})
	r := device("dc1", "sw1")
	g := &metric.Group{
		Resource: r, Type: "test", Interval: 60, CreationTimestamp: 1700000000.5, SchemaVersion: metric.SchemaVersion,
		Metrics: []metric.Metric{
			{Name: "max_counter", Value: metric.Uint(math.MaxUint64), Type: metric.Counter, Timestamp: 1700000000.25},
			{Name: "negative", Value: metric.Int(-42), Type: metric.Gauge},
			{Name: "nan", Value: metric.Float(math.NaN()), Type: metric.Gauge},
			{Name: "inf", Value: metric.Float(math.Inf(-1)), Type: metric.Gauge},
			{Name: "ratio", Value: metric.Float(0.1), Type: metric.Gauge},
			{Name: "already_total", Value: metric.Uint(7), Type: metric.Counter},
			{Name: "odd-name.é", Value: metric.Uint(1), Type: metric.Gauge},
		},
	}
	if err := e.Write(context.Background(), records(g)); err != nil {
		t.Fatal(err)
	}
	text := render(t, e)
	const lbl = `{resource_class="network",resource_endpoint="sw1.example.com",resource_id="sw1",resource_site="dc1",resource_subclass="switch",resource_type="cisco"}`
	for _, want := range []string{
		"panoptes_test_max_counter_total" + lbl + " 18446744073709551615 1700000000250\n",
		"panoptes_test_negative" + lbl + " -42 1700000000500\n", // the group's time stands in
		"panoptes_test_nan" + lbl + " NaN 1700000000500\n",
		"panoptes_test_inf" + lbl + " -Inf 1700000000500\n",
		"panoptes_test_ratio" + lbl + " 0.1 1700000000500\n",
		"panoptes_test_already_total" + lbl + " 7 ",
		"# TYPE panoptes_test_odd_name__ gauge\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("exposition lacks %q:\n%s", want, text)
		}
	}
	parseText(t, text)
}

// TestExpositionKeepsLatest: a newer sample replaces the stored one; an
// older one (a redelivery) does not.
func TestExpositionKeepsLatest(t *testing.T) {
	e := newTestExposition(t, Config{})
	r := device("dc1", "sw1")
	t0 := time.UnixMilli(1_700_000_000_000)
	write := func(n int, ts time.Time) {
		if err := e.Write(context.Background(), records(interfaceGroups(r, 2, n, ts)...)); err != nil {
			t.Fatal(err)
		}
	}
	value := func() (float64, int64) {
		f := parseText(t, render(t, e))["panoptes_interface_bits_in_total"]
		for _, m := range f.GetMetric() {
			if labelsOf(m)["interface_name"] == "GigabitEthernet1/0/1" {
				return m.GetCounter().GetValue(), m.GetTimestampMs()
			}
		}
		t.Fatal("series missing")
		return 0, 0
	}
	write(0, t0)
	write(1, t0.Add(time.Minute))
	if v, ts := value(); v != float64(counterValue(0, 0, 1)) || ts != t0.Add(time.Minute).UnixMilli() {
		t.Errorf("after newer write: %v @%d, want poll 1", v, ts)
	}
	write(0, t0) // redelivered old poll
	if v, _ := value(); v != float64(counterValue(0, 0, 1)) {
		t.Errorf("an older sample replaced the newer one: %v", v)
	}
	if e.Series() != 2*18 {
		t.Errorf("Series() = %d, want 36 (no duplicates)", e.Series())
	}
}

// TestExpositionStaleness: a series not refreshed within stale_after is no
// longer exposed and is swept; with stale_after 0 the limit is three of
// the group's intervals.
func TestExpositionStaleness(t *testing.T) {
	for _, tc := range []struct {
		name       string
		staleAfter time.Duration
		limit      time.Duration // interface groups have a 60 s interval
	}{
		{"stale_after", 90 * time.Second, 90 * time.Second},
		{"default 3 intervals", 0, 180 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestExposition(t, Config{StaleAfter: plugin.Duration(tc.staleAfter)})
			clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
			e.now = clock.now
			r1, r2 := device("dc1", "sw1"), device("dc1", "sw2")
			start := clock.t
			if err := e.Write(context.Background(), records(interfaceGroups(r1, 2, 0, start)...)); err != nil {
				t.Fatal(err)
			}
			clock.t = start.Add(tc.limit / 2)
			if err := e.Write(context.Background(), records(interfaceGroups(r2, 2, 0, clock.t)...)); err != nil {
				t.Fatal(err)
			}
			devices := func() map[string]int {
				out := map[string]int{}
				for _, f := range parseText(t, render(t, e)) {
					for _, m := range f.GetMetric() {
						out[labelsOf(m)["resource_id"]]++
					}
				}
				return out
			}
			clock.t = start.Add(tc.limit)
			if got := devices(); got["sw1"] != 36 || got["sw2"] != 36 {
				t.Fatalf("at the limit: %v, want both devices with 36 series", got)
			}
			clock.t = start.Add(tc.limit + time.Second)
			if got := devices(); got["sw1"] != 0 || got["sw2"] != 36 {
				t.Fatalf("after sw1's limit: %v, want only sw2", got)
			}
			e.sweep(clock.t.UnixNano())
			if e.Series() != 36 {
				t.Errorf("after sweep Series() = %d, want 36", e.Series())
			}
			clock.t = start.Add(tc.limit/2 + tc.limit + time.Second)
			e.sweep(clock.t.UnixNano())
			if e.Series() != 0 || len(e.families) != 0 || len(e.byKey) != 0 || len(e.sorted) != 0 {
				t.Errorf("after both expired: %d series, %d families, %d keys, %d sorted; want none",
					e.Series(), len(e.families), len(e.byKey), len(e.sorted))
			}
			if text := render(t, e); text != "" {
				t.Errorf("empty store renders %q", text)
			}
			// A device coming back is exposed again.
			if err := e.Write(context.Background(), records(interfaceGroups(r1, 1, 2, clock.t)...)); err != nil {
				t.Fatal(err)
			}
			if got := devices(); got["sw1"] != 18 {
				t.Errorf("after sw1 came back: %v", got)
			}
		})
	}
}

// TestExpositionRejects: groups that cannot be exposed are rejected by
// index; the rest of the batch is stored.
func TestExpositionRejects(t *testing.T) {
	e := newTestExposition(t, Config{})
	r := device("dc1", "sw1")
	ts := time.Now()
	good := interfaceGroups(r, 1, 0, ts)[0]
	collide := interfaceGroups(r, 1, 0, ts)[0]
	collide.Dimensions = append(collide.Dimensions, metric.Dimension{Name: "resource_site", Value: "x"})
	gauge := &metric.Group{Resource: r, Type: "interface", Interval: 60, SchemaVersion: metric.SchemaVersion,
		Metrics: []metric.Metric{{Name: "bits_in_total", Value: metric.Int(1), Type: metric.Gauge}}}
	err := e.Write(context.Background(), records(good, collide, gauge))
	var rej *sink.Rejected
	if !errors.As(err, &rej) {
		t.Fatalf("Write = %v, want *sink.Rejected", err)
	}
	if len(rej.Reasons) != 2 || rej.Reasons[1] == nil || rej.Reasons[2] == nil {
		t.Fatalf("rejected %v, want records 1 and 2", rej.Reasons)
	}
	if !strings.Contains(rej.Reasons[1].Error(), "resource_site") || !strings.Contains(rej.Reasons[2].Error(), "counter") {
		t.Errorf("reasons do not explain: %v", rej)
	}
	if e.Series() != 18 {
		t.Errorf("Series() = %d, want the good group's 18", e.Series())
	}
	if fams := parseText(t, render(t, e)); fams["panoptes_interface_bits_in_total"].GetType() != dto.MetricType_COUNTER {
		t.Errorf("the counter family lost its type")
	}
}

// TestExpositionConcurrent runs writes, scrapes and sweeps at once (-race).
func TestExpositionConcurrent(t *testing.T) {
	e := newTestExposition(t, Config{StaleAfter: plugin.Duration(50 * time.Millisecond)})
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	var wg sync.WaitGroup
	for w := 0; w < 2; w++ {
		r := device("dc1", fmt.Sprintf("sw%d", w))
		wg.Go(func() {
			for n := 0; ctx.Err() == nil; n++ {
				if err := e.Write(ctx, records(interfaceGroups(r, 8, n, time.Now())...)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for ctx.Err() == nil {
			e.sweep(time.Now().UnixNano())
			time.Sleep(time.Millisecond)
		}
	})
	scrapes := 0
	for ctx.Err() == nil {
		parseText(t, render(t, e))
		scrapes++
	}
	wg.Wait()
	if scrapes == 0 || e.Series() > 2*8*18 {
		t.Errorf("%d scrapes, %d series (max %d)", scrapes, e.Series(), 2*8*18)
	}
}
