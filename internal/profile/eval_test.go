package profile

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/plugin"
	"github.com/panoptes-go/panoptes/internal/poll"
	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/snmp"
)

// fakeAgent answers from a fixed list of varbinds, like an agent would:
// a walk returns the OIDs under the root, a GET the exact OIDs (or
// noSuchObject). Real agents are in the integration tests; this one lets
// the unit tests pin edge values (Counter64 max) and count requests.
type fakeAgent struct {
	vbs        []snmp.Varbind
	gets       atomic.Int32
	getErr     error
	walkFailOn string
}

func (f *fakeAgent) Get(_ context.Context, _ snmp.Target, oids []string) ([]snmp.Varbind, error) {
	f.gets.Add(1)
	if f.getErr != nil {
		return nil, f.getErr
	}
	out := make([]snmp.Varbind, len(oids))
	for i, o := range oids {
		out[i] = snmp.Varbind{Name: o, Type: gosnmp.NoSuchObject}
		for _, vb := range f.vbs {
			if vb.Name == o {
				out[i] = vb
			}
		}
	}
	return out, nil
}

func (f *fakeAgent) Walk(_ context.Context, _ snmp.Target, root string) ([]snmp.Varbind, error) {
	if root == f.walkFailOn {
		return nil, errors.New("request timeout")
	}
	var out []snmp.Varbind
	for _, vb := range f.vbs {
		if strings.HasPrefix(vb.Name, root+".") {
			out = append(out, vb)
		}
	}
	return out, nil
}

const evalProfile = `name: eval
match: {sys_object_id: [.1.3.6.1.4.1.99]}
enums:
  oper_state: {1: up, 2: down}
groups:
  - type: counters
    walk:
      octets: .1.3.6.1.4.1.99.1.1
      errors: .1.3.6.1.4.1.99.1.2
      name: .1.3.6.1.4.1.99.1.3
      state: .1.3.6.1.4.1.99.1.4
    dimensions:
      name: name
      state: oper_state[string(state)] ?? "unknown"
      slot: index_parts[0]
    metrics:
      octets: {value: octets, type: counter}
      errors: {value: errors, type: counter}
      bits: {value: octets * 8, type: counter}
      ratio: errors / 2
      broken: name + 1
`

func TestEvaluateValues(t *testing.T) {
	p := mustParse(t, evalProfile)
	oid := func(col, idx string) string { return ".1.3.6.1.4.1.99.1." + col + "." + idx }
	f := &fakeAgent{vbs: []snmp.Varbind{
		{Name: oid("1", "1.5"), Type: gosnmp.Counter64, Value: uint64(math.MaxUint64)},
		{Name: oid("1", "2.5"), Type: gosnmp.Counter64, Value: uint64(1000)},
		{Name: oid("2", "1.5"), Type: gosnmp.Counter32, Value: uint(7)},
		// row 2.5 has no errors column: errors and ratio are absent, not failures
		{Name: oid("3", "1.5"), Type: gosnmp.OctetString, Value: []byte("eth0\x00")},
		{Name: oid("3", "2.5"), Type: gosnmp.OctetString, Value: []byte("")},
		{Name: oid("4", "1.5"), Type: gosnmp.Integer, Value: 2},
		{Name: oid("4", "2.5"), Type: gosnmp.Integer, Value: 9},
	}}
	res := &resource.Resource{ID: "r"}
	gs, err := p.Evaluate(context.Background(), f, &Request{Resource: res, Interval: 60, Created: 1})
	if len(gs) != 2 {
		t.Fatalf("groups %s (err %v)", dump(gs), err)
	}
	// "broken" adds a number to a string: an error naming the row and metric.
	if err == nil || !strings.Contains(err.Error(), "row 1.5: metric broken") {
		t.Errorf("error %v", err)
	}
	// Arithmetic is int64: MaxUint64 * 8 wraps, and a negative counter is
	// reported instead of published (a bare column stays exact).
	if !strings.Contains(err.Error(), "row 1.5: metric bits: counter result -8 is negative") || val(gs[0], "bits") != "" {
		t.Errorf("wrapped arithmetic: %v", err)
	}
	g1, g2 := gs[0], gs[1]
	if m, _ := g1.Metric("octets"); m.Value.Uint64() != math.MaxUint64 || m.Type != metric.Counter || m.Hint.Bits != 64 {
		t.Errorf("Counter64 max: %+v", m)
	}
	if m, _ := g1.Metric("errors"); m.Value.Uint64() != 7 || m.Hint.Bits != 32 {
		t.Errorf("Counter32: %+v", m)
	}
	if m, _ := g1.Metric("ratio"); !m.Value.IsFloat() || m.Value.Float64() != 3.5 {
		t.Errorf("ratio %+v", m)
	}
	if v := val(g2, "bits"); v != "8000" {
		t.Errorf("bits %s", v)
	}
	if val(g2, "errors") != "" || val(g2, "ratio") != "" {
		t.Errorf("absent inputs must leave metrics out: %s", dump(gs))
	}
	if g1.Dimension("name") != "eth0" || g1.Dimension("state") != "down" || g1.Dimension("slot") != "1" ||
		g2.Dimension("name") != NotSet || g2.Dimension("state") != "unknown" || g2.Dimension("slot") != "2" {
		t.Errorf("dimensions %s", dump(gs))
	}
	if g1.Interval != 60 || g1.CreationTimestamp != 1 || g1.Resource != res || g1.Metrics[0].Timestamp <= 1 {
		t.Errorf("group header %+v", g1)
	}
}

func TestPluginCachesSysObjectID(t *testing.T) {
	set, err := NewSet(mustParse(t, evalProfile))
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPlugin(set, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeAgent{vbs: []snmp.Varbind{
		{Name: oidSysObjectID, Type: gosnmp.ObjectIdentifier, Value: ".1.3.6.1.4.1.99.3.1"},
		{Name: ".1.3.6.1.4.1.99.1.1.1", Type: gosnmp.Counter64, Value: uint64(5)},
	}}
	p.client = f
	res := &resource.Resource{ID: "r", Type: "router", Endpoint: "192.0.2.1"}
	req := &poll.Request{Resource: res, Interval: time.Minute, Now: time.Now()}
	// The agent has only the octets column: the others are reported as not
	// returned, which is not what this test is about.
	for i := 0; i < 3; i++ {
		if gs, err := p.Poll(context.Background(), req); len(gs) != 1 || (err != nil && !errors.Is(err, ErrNotReturned)) {
			t.Fatalf("poll %d: %s %v", i, dump(gs), err)
		}
	}
	if n := f.gets.Load(); n != 1 {
		t.Errorf("%d GETs of sysObjectID for 3 polls, want 1", n)
	}
	p.now = func() time.Time { return time.Now().Add(2 * sysObjectIDTTL) }
	if _, err := p.Poll(context.Background(), req); (err != nil && !errors.Is(err, ErrNotReturned)) || f.gets.Load() != 2 {
		t.Errorf("expired entry not refreshed: %v, %d GETs", err, f.gets.Load())
	}

	// A device whose sysObjectID matches nothing: missing metrics, named.
	other := &resource.Resource{ID: "o", Type: "router"}
	f.vbs[0].Value = ".1.3.6.1.4.1.2636.1.1"
	_, err = p.Poll(context.Background(), &poll.Request{Resource: other, Now: time.Now()})
	var se *poll.StatusError
	if !errors.As(err, &se) || se.Status != metric.StatusMissingMetrics || !strings.Contains(err.Error(), "2636") {
		t.Errorf("unmatched device: %v", err)
	}
	// The GET failing is a device failure, passed through for the runner.
	f.getErr = &snmp.Error{Device: "192.0.2.9:161", Op: "get", Kind: snmp.KindTimeout, Err: snmp.ErrTimeout}
	_, err = p.Poll(context.Background(), &poll.Request{Resource: &resource.Resource{ID: "t"}, Now: time.Now()})
	if !errors.Is(err, snmp.ErrTimeout) || errors.As(err, &se) {
		t.Errorf("timeout: %v", err)
	}
}

func TestEvaluateWalkFailure(t *testing.T) {
	p := mustParse(t, evalProfile)
	f := &fakeAgent{walkFailOn: ".1.3.6.1.4.1.99.1.2", vbs: []snmp.Varbind{
		{Name: ".1.3.6.1.4.1.99.1.1.1", Type: gosnmp.Counter64, Value: uint64(5)}}}
	gs, err := p.Evaluate(context.Background(), f, &Request{Resource: &resource.Resource{}})
	var de *DeviceError
	if len(gs) != 0 || !errors.As(err, &de) || !strings.Contains(err.Error(), "column errors") {
		t.Errorf("a failed column walk must fail the group as a device error: %s %v", dump(gs), err)
	}
}

func TestPluginOptions(t *testing.T) {
	if _, err := FromOptions(plugin.BlockOf(map[string]any{"dirs": []any{shippedDir}, "groups": []any{"cpu", "memory"}})); err != nil {
		t.Errorf("valid options: %v", err)
	}
	for opts, want := range map[*map[string]any]string{
		{"dir": "x"}: `unknown key "dir"`,
		{"dirs": []any{shippedDir}, "groups": []any{"cpux"}}: `no loaded profile defines group type "cpux"`,
		{"dirs": []any{"/nonexistent"}}:                      "profile directory",
	} {
		_, err := FromOptions(plugin.BlockOf(*opts))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("options %v: %v, want %q", *opts, err, want)
		}
	}
}
