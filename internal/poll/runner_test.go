package poll

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/snmp"
	"github.com/panoptes-go/panoptes/internal/testutil/logbuf"
)

const secret = "s3cret-community"

var labSNMP = SNMPOptions{Credential: "lab", Credentials: map[string]*snmp.Credential{
	"lab": {Version: "2c", Community: secret},
}}

func newTestRunner(t *testing.T) (*Runner, *logbuf.Buffer, *prometheus.Registry) {
	t.Helper()
	logs := &logbuf.Buffer{}
	reg := prometheus.NewRegistry()
	clock := testNow
	r := NewRunner(RunnerOptions{
		SNMP: labSNMP, Logger: slog.New(slog.NewTextHandler(logs, nil)), Registerer: reg,
		Now: func() time.Time { return clock },
	})
	return r, logs, reg
}

func group(name string) *metric.Group {
	return &metric.Group{Resource: testResource, Type: "test", Interval: 60, SchemaVersion: metric.SchemaVersion,
		Metrics: []metric.Metric{{Name: name, Value: metric.Uint(1), Type: metric.Counter}}}
}

// statusOfSet checks the set ends with a well-formed status group and
// returns its status and the groups before it.
func statusOfSet(t *testing.T, set *metric.GroupSet, plugin string) (int, []*metric.Group) {
	t.Helper()
	if set == nil || len(set.Groups) == 0 {
		t.Fatal("Run returned no status group")
	}
	s := set.Groups[len(set.Groups)-1]
	if err := s.Validate(); err != nil {
		t.Fatalf("status group invalid: %v", err)
	}
	if s.Type != "status" || s.Dimension("plugin") != plugin || len(s.Metrics) != 1 ||
		s.Metrics[0].Name != "polling_status" || s.Metrics[0].Type != metric.Gauge ||
		s.Interval != 60 || s.CreationTimestamp == 0 || s.Metrics[0].Timestamp < s.CreationTimestamp {
		t.Fatalf("bad status group: %+v", s)
	}
	return int(s.Metrics[0].Value.Int64()), set.Groups[:len(set.Groups)-1]
}

func TestRunSuccessPassesTheRequest(t *testing.T) {
	r, _, reg := newTestRunner(t)
	var req *Request
	p := pluginFunc(func(_ context.Context, rq *Request) ([]*metric.Group, error) {
		req = rq
		return []*metric.Group{group("a"), nil, group("b")}, nil
	})
	set := r.Run(context.Background(), "if-fast", p, testResource, time.Minute)
	status, groups := statusOfSet(t, set, "if-fast")
	if status != metric.StatusSuccess || len(groups) != 2 || groups[1].Metrics[0].Name != "b" {
		t.Fatalf("status %d, %d groups (nil groups must be dropped)", status, len(groups))
	}
	if s := set.Groups[2]; s.CreationTimestamp != Epoch(testNow) || s.Metrics[0].Timestamp != Epoch(testNow) {
		t.Errorf("status group timestamps %v %v, want the runner's clock", s.CreationTimestamp, s.Metrics[0].Timestamp)
	}
	if req.Resource != testResource || req.Interval != time.Minute || !req.Now.Equal(testNow) || req.Logger == nil ||
		req.Target.Host != "sw1.example.com" || req.Target.Port != 161 || req.Target.CredentialName != "lab" {
		t.Errorf("request = %+v", req)
	}
	if v := counterValue(t, r.metrics.checks.WithLabelValues("if-fast", "success")); v != 1 {
		t.Errorf("checks{success} = %v", v)
	}
	if n := gatheredSeries(t, reg, "panoptes_poll_duration_seconds"); n != 1 {
		t.Errorf("duration histogram series = %d, want 1", n)
	}
}

func TestRunStatuses(t *testing.T) {
	authErr := &snmp.Error{Device: "sw1:161", Op: "walk .1.3", Kind: snmp.KindAuth, Err: snmp.ErrAuth}
	netErr := &snmp.Error{Device: "sw1:161", Op: "walk .1.3", Kind: snmp.KindNetwork, Err: snmp.ErrNetwork}
	for _, tc := range []struct {
		name   string
		groups []*metric.Group
		err    error
		want   int
		kept   int
	}{
		{"auth failure", nil, authErr, metric.StatusAuthFailure, 0},
		{"network failure", nil, netErr, metric.StatusNetworkFailure, 0},
		{"unclassified error", nil, errors.New("bug"), metric.StatusInternalFailure, 0},
		{"partial", []*metric.Group{group("a")}, netErr, metric.StatusPartialFailure, 1},
		{"explicit status", nil, WithStatus(metric.StatusMissingMetrics, errors.New("no rows")), metric.StatusMissingMetrics, 0},
		{"deadline in the error", nil, context.DeadlineExceeded, metric.StatusTimeout, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, logs, _ := newTestRunner(t)
			p := pluginFunc(func(context.Context, *Request) ([]*metric.Group, error) { return tc.groups, tc.err })
			set := r.Run(context.Background(), "p", p, testResource, time.Minute)
			status, groups := statusOfSet(t, set, "p")
			if status != tc.want || len(groups) != tc.kept {
				t.Errorf("status %d with %d groups, want %d with %d", status, len(groups), tc.want, tc.kept)
			}
			if !errors.Is(set.Err, tc.err) { // the status page's reason
				t.Errorf("set.Err = %v, want %v", set.Err, tc.err)
			}
			if !strings.Contains(logs.String(), metric.StatusName(tc.want)) || !strings.Contains(logs.String(), testResource.Key()) {
				t.Errorf("failure log should name status and resource: %s", logs)
			}
			if v := counterValue(t, r.metrics.checks.WithLabelValues("p", metric.StatusName(tc.want))); v != 1 {
				t.Errorf("checks{%s} = %v", metric.StatusName(tc.want), v)
			}
		})
	}
}

func TestRunRecoversPanics(t *testing.T) {
	r, logs, _ := newTestRunner(t)
	p := pluginFunc(func(context.Context, *Request) ([]*metric.Group, error) {
		var m map[string]int
		m["boom"]++ // nil map write
		return []*metric.Group{group("a")}, nil
	})
	status, groups := statusOfSet(t, r.Run(context.Background(), "buggy", p, testResource, time.Minute), "buggy")
	if status != metric.StatusInternalFailure || len(groups) != 0 {
		t.Errorf("status %d with %d groups after a panic", status, len(groups))
	}
	if !strings.Contains(logs.String(), "panicked") || !strings.Contains(logs.String(), "runner_test.go") {
		t.Errorf("panic log should carry the stack: %s", logs)
	}
	if v := counterValue(t, r.metrics.panics.WithLabelValues("buggy")); v != 1 {
		t.Errorf("panics = %v", v)
	}
}

func TestRunTimeout(t *testing.T) {
	r, _, _ := newTestRunner(t)
	p := pluginFunc(func(ctx context.Context, _ *Request) ([]*metric.Group, error) {
		<-ctx.Done()
		// Some plugins return their own error once ctx ends; the deadline still decides.
		return []*metric.Group{group("early")}, errors.New("walk aborted")
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	status, groups := statusOfSet(t, r.Run(ctx, "slow", p, testResource, time.Minute), "slow")
	if status != metric.StatusTimeout || len(groups) != 1 {
		t.Errorf("status %d with %d groups, want timeout keeping the early group", status, len(groups))
	}
}

func TestRunTargetErrorIsInternalAndNamesTheResource(t *testing.T) {
	r, logs, _ := newTestRunner(t)
	called := false
	p := pluginFunc(func(context.Context, *Request) ([]*metric.Group, error) { called = true; return nil, nil })
	res := testResource.Clone()
	res.Metadata = map[string]string{MetaCredential: "missing"}
	status, _ := statusOfSet(t, r.Run(context.Background(), "p", p, res, time.Minute), "p")
	if status != metric.StatusInternalFailure || called {
		t.Errorf("status %d, plugin called %v", status, called)
	}
	out := logs.String()
	if !strings.Contains(out, res.Key()) || !strings.Contains(out, "missing") || strings.Contains(out, secret) {
		t.Errorf("log should name the resource and the credential, never the secret: %s", out)
	}
}

func TestRunNilInputs(t *testing.T) {
	r, _, _ := newTestRunner(t)
	set := r.Run(context.Background(), "p", nil, testResource, time.Minute)
	if s := set.Groups[len(set.Groups)-1]; s.Metrics[0].Value.Int64() != metric.StatusInternalFailure {
		t.Error("nil plugin should be an internal failure")
	}
	set = r.Run(context.Background(), "p", pluginFunc(nil), (*resource.Resource)(nil), time.Minute)
	if len(set.Groups) != 1 || set.Groups[0].Metrics[0].Value.Int64() != metric.StatusInternalFailure {
		t.Error("nil resource should be an internal failure")
	}
}

func TestRunnersShareARegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	a := NewRunner(RunnerOptions{SNMP: labSNMP, Registerer: reg})
	b := NewRunner(RunnerOptions{SNMP: labSNMP, Registerer: reg})
	ok := pluginFunc(func(context.Context, *Request) ([]*metric.Group, error) { return nil, nil })
	a.Run(context.Background(), "p", ok, testResource, time.Minute)
	b.Run(context.Background(), "p", ok, testResource, time.Minute)
	if v := counterValue(t, a.metrics.checks.WithLabelValues("p", "success")); v != 2 {
		t.Errorf("shared counter = %v, want 2", v)
	}
	NewRunner(RunnerOptions{}) // nil registerer and logger are fine
}

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

func gatheredSeries(t *testing.T, reg *prometheus.Registry, name string) int {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return len(mf.GetMetric())
		}
	}
	return 0
}

// A device that stays down is logged once when it fails and once when it
// recovers, not at every interval.
func TestRunLogsStatusChangesOnly(t *testing.T) {
	r, logs, _ := newTestRunner(t)
	var fail error = &snmp.Error{Device: "sw1:161", Op: "walk .1.3", Kind: snmp.KindTimeout, Err: snmp.ErrTimeout}
	p := pluginFunc(func(context.Context, *Request) ([]*metric.Group, error) {
		if fail != nil {
			return nil, fail
		}
		return []*metric.Group{group("a")}, nil
	})
	for i := 0; i < 3; i++ {
		r.Run(context.Background(), "p", p, testResource, time.Minute)
	}
	fail = &snmp.Error{Device: "sw1:161", Op: "walk .1.3", Kind: snmp.KindAuth, Err: snmp.ErrAuth}
	r.Run(context.Background(), "p", p, testResource, time.Minute)
	fail = nil
	r.Run(context.Background(), "p", p, testResource, time.Minute)
	r.Run(context.Background(), "p", p, testResource, time.Minute)
	out := logs.String()
	if n := strings.Count(out, `level=WARN msg="check failed" plugin=p resource=`+testResource.Key()+" status=timeout"); n != 1 {
		t.Errorf("%d timeout warnings for three failed polls, want 1:\n%s", n, out)
	}
	if n := strings.Count(out, "status=auth_failure"); n != 1 {
		t.Errorf("a change of failure must be logged once, got %d:\n%s", n, out)
	}
	if n := strings.Count(out, `msg="check recovered"`); n != 1 {
		t.Errorf("%d recovery lines, want 1:\n%s", n, out)
	}
	if len(r.failing) != 0 {
		t.Errorf("recovered checks are still tracked: %v", r.failing)
	}
}

type noSNMPPlugin struct{ pluginFunc }

func (noSNMPPlugin) NoSNMP() bool { return true }

// A plugin that needs no SNMP runs on a resource without any credential.
func TestRunNoSNMPPluginSkipsTarget(t *testing.T) {
	r, _, _ := newTestRunner(t)
	var got *Request
	p := noSNMPPlugin{pluginFunc(func(_ context.Context, req *Request) ([]*metric.Group, error) {
		got = req
		return []*metric.Group{group("a")}, nil
	})}
	res := testResource.Clone()
	res.Metadata = map[string]string{MetaCredential: "missing"}
	status, groups := statusOfSet(t, r.Run(context.Background(), "p", p, res, time.Minute), "p")
	if status != metric.StatusSuccess || len(groups) != 1 || got == nil || got.Target.Host != "" {
		t.Errorf("status %d, %d groups, request %+v", status, len(groups), got)
	}
}

// A prepared Check resolves its target once, and a target error too: runs
// after the first see what the first resolved (a changed resource is a
// new Check).
func TestRunCheckResolvesOnce(t *testing.T) {
	r, _, _ := newTestRunner(t)
	var targets []snmp.Target
	p := pluginFunc(func(_ context.Context, req *Request) ([]*metric.Group, error) {
		targets = append(targets, req.Target)
		return []*metric.Group{group("a")}, nil
	})
	res := testResource.Clone()
	k := &Check{Name: "p", Plugin: p, Resource: res, Interval: time.Minute}
	var encoded []*metric.EncodedResource
	for range 3 {
		set := r.RunCheck(context.Background(), k)
		if status, _ := statusOfSet(t, set, "p"); status != metric.StatusSuccess {
			t.Fatalf("status %d", status)
		}
		encoded = append(encoded, set.Encoded)
	}
	// Every run's set carries the one encoding of the resource, made at the
	// first run, which is what the groups' JSON holds.
	if encoded[0] == nil || encoded[0].Resource != res || encoded[1] != encoded[0] || encoded[2] != encoded[0] {
		t.Fatalf("sets' encoded resources %v, want one for %p", encoded, res)
	}
	if g := metric.AppendJSON(nil, &metric.Group{Resource: res}); !bytes.Contains(g, encoded[0].JSON) {
		t.Fatalf("encoded resource %s is not the resource's JSON in %s", encoded[0].JSON, g)
	}
	res.Endpoint = "sw9.example.com" // not seen: the target was resolved at the first run
	r.RunCheck(context.Background(), k)
	if len(targets) != 4 || targets[0].Host != "sw1.example.com" || targets[3] != targets[0] {
		t.Fatalf("targets = %+v, want sw1's, 4 times", targets)
	}

	bad := testResource.Clone()
	bad.Metadata = map[string]string{MetaCredential: "missing"}
	kb := &Check{Name: "p", Plugin: p, Resource: bad, Interval: time.Minute}
	for range 2 {
		if status, _ := statusOfSet(t, r.RunCheck(context.Background(), kb), "p"); status != metric.StatusInternalFailure {
			t.Fatalf("bad target: status %d, want internal failure", status)
		}
	}
	if len(targets) != 4 {
		t.Fatal("the plugin ran with an unresolvable target")
	}
}

// SetSNMP (a reload): checks prepared after it resolve with the new
// credentials; one already prepared keeps its target.
func TestRunnerSetSNMP(t *testing.T) {
	r, _, _ := newTestRunner(t)
	var targets []snmp.Target
	p := pluginFunc(func(_ context.Context, req *Request) ([]*metric.Group, error) {
		targets = append(targets, req.Target)
		return []*metric.Group{group("a")}, nil
	})
	old := &Check{Name: "p", Plugin: p, Resource: testResource, Interval: time.Minute}
	r.RunCheck(context.Background(), old)
	rotated := SNMPOptions{Credential: "lab", Port: 1161, Credentials: map[string]*snmp.Credential{"lab": {Version: "2c", Community: "rotated"}}}
	r.SetSNMP(rotated)
	if got := r.SNMP(); got.Port != 1161 {
		t.Fatalf("SNMP() = %+v after SetSNMP", got)
	}
	r.RunCheck(context.Background(), old)
	r.RunCheck(context.Background(), &Check{Name: "p", Plugin: p, Resource: testResource, Interval: time.Minute})
	if len(targets) != 3 || targets[1].Credential.Community != secret || targets[2].Credential.Community != "rotated" || targets[2].Port != 1161 {
		t.Fatalf("targets %d: a prepared check must keep its target, a new one take the new credentials", len(targets))
	}
}

// Many checks changing status at once (a site unreachable, a node
// overloaded) are logged one by one up to the window's budget, then summed
// in one line at the window's end; the next window logs one by one again.
func TestRunSummarizesStatusChangesPastBudget(t *testing.T) {
	r, logs, _ := newTestRunner(t)
	r.statusLog.window = 300 * time.Millisecond
	var fail error = &snmp.Error{Device: "sw:161", Op: "get .1.3", Kind: snmp.KindTimeout, Err: snmp.ErrTimeout}
	p := pluginFunc(func(context.Context, *Request) ([]*metric.Group, error) {
		if fail != nil {
			return nil, fail
		}
		return []*metric.Group{group("a")}, nil
	})
	devices := make([]*resource.Resource, statusLogBurst+30)
	for i := range devices {
		devices[i] = &resource.Resource{Site: "site1", Class: "network", Subclass: "switch", Type: "cisco",
			ID: fmt.Sprintf("sw%d", i), Endpoint: "127.0.0.1"}
		r.Run(context.Background(), "p", p, devices[i], time.Minute)
	}
	fail = nil
	for _, res := range devices[:5] {
		r.Run(context.Background(), "p", p, res, time.Minute)
	}
	if n := strings.Count(logs.String(), `msg="check failed"`); n != statusLogBurst {
		t.Fatalf("%d lines for %d checks failing at once, want the budget of %d", n, len(devices), statusLogBurst)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "not logged one by one") {
		if time.Now().After(deadline) {
			t.Fatalf("no summary of the changes past the budget:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	out := logs.String()
	if !strings.Contains(out, "changes=35 failed.timeout=30 recovered=5") {
		t.Errorf("summary does not count 30 failures and 5 recoveries:\n%s", out[strings.LastIndex(out, "level=WARN"):])
	}
	if n := strings.Count(out, `msg="check recovered"`); n != 0 {
		t.Errorf("%d recovery lines past the budget, want 0", n)
	}
	time.Sleep(r.statusLog.window) // the next window
	fail = &snmp.Error{Device: "sw:161", Op: "get .1.3", Kind: snmp.KindAuth, Err: snmp.ErrAuth}
	r.Run(context.Background(), "p", p, devices[0], time.Minute)
	if n := strings.Count(logs.String(), "status=auth_failure"); n != 1 {
		t.Errorf("%d lines for a failure in the next window, want 1", n)
	}
}
