package monitor

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/panoptes-go/panoptes/internal/apps/tracker"
	"github.com/panoptes-go/panoptes/internal/event"
	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/sink"
	"github.com/panoptes-go/panoptes/internal/testutil/natstest"
)

var core = &resource.Resource{Site: "dc1", Class: "network", Subclass: "router", Type: "juniper", ID: "core1", Endpoint: "10.0.0.1"}

func group(typ string, at float64, dims map[string]string, gauges map[string]int64) *metric.Group {
	g := &metric.Group{Resource: core, Type: typ, Interval: 60, CreationTimestamp: at, SchemaVersion: metric.SchemaVersion}
	for _, k := range sorted(dims) {
		g.Dimensions = append(g.Dimensions, metric.Dimension{Name: k, Value: dims[k]})
	}
	for _, k := range sorted(gauges) {
		g.Metrics = append(g.Metrics, metric.Metric{Name: k, Value: metric.Int(gauges[k]), Type: metric.Gauge, Timestamp: at})
	}
	return g
}

func sorted[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func bgp(at float64, peer string, state int64) *metric.Group {
	return group("bgp_session", at, map[string]string{"peer_address": peer, "remote_as": "65001"},
		map[string]int64{"peer_state": state, "admin_status": 2})
}

func ifGroup(at float64, name string, admin, oper int64) *metric.Group {
	return group("interface", at, map[string]string{"interface_name": name}, map[string]int64{"admin_state": admin, "oper_state": oper})
}

func status(at float64, plugin string, st int64) *metric.Group {
	return group("status", at, map[string]string{"plugin": plugin}, map[string]int64{"polling_status": st})
}

func vs(at float64, name string, avail, enabled int64) *metric.Group {
	return group("lb_virtual_server", at, map[string]string{"virtual_server": name}, map[string]int64{"availability": avail, "enabled": enabled})
}

func member(at float64, pool, m string, avail int64) *metric.Group {
	return group("lb_pool_member", at, map[string]string{"pool": pool, "member": m}, map[string]int64{"availability": avail, "enabled": 1})
}

func TestMonitor(t *testing.T) {
	js := natstest.JetStream(t, "")
	tr, err := tracker.Open(context.Background(), js, tracker.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{Applier: tr}
	m := New(rec, nil)
	step := func(what string, groups []*metric.Group, want ...string) {
		t.Helper()
		rec.got = nil
		if err := m.Handle(context.Background(), groups); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(rec.got) != fmt.Sprint(want) {
			t.Errorf("%s:\n got %q\nwant %q", what, rec.got, want)
		}
	}
	step("first polls: only problems of kinds that announce them", []*metric.Group{
		bgp(100, "192.0.2.1", 6), bgp(100, "192.0.2.2", 3),
		ifGroup(100, "xe-0/0/0", 1, 1), ifGroup(100, "xe-0/0/1", 1, 2), ifGroup(100, "xe-0/0/2", 2, 2),
		status(100, "bgp", 0), status(100, "interface", 0),
		vs(100, "/Common/www", 1, 1), vs(100, "/Common/old", 3, 2), member(100, "/Common/web", "10.1.0.1:80", 3),
		group("cpu", 100, nil, map[string]int64{"cpu_utilization": 5}), // not monitored
	},
		"bgp_session 192.0.2.2 →active problem", // a disabled virtual server is not a problem: silent
		"lb_pool_member /Common/web 10.1.0.1:80 →offline problem")
	step("changes", []*metric.Group{
		bgp(160, "192.0.2.1", 1), bgp(160, "192.0.2.2", 6),
		ifGroup(160, "xe-0/0/0", 1, 2), ifGroup(160, "xe-0/0/1", 1, 1), ifGroup(160, "xe-0/0/2", 2, 2),
		status(160, "bgp", 3), status(160, "interface", 1),
		vs(160, "/Common/www", 3, 1), member(160, "/Common/web", "10.1.0.1:80", 1),
	},
		"bgp_session 192.0.2.1 established→idle problem", "bgp_session 192.0.2.2 active→established ok",
		"interface xe-0/0/0 up→down problem", "interface xe-0/0/1 down→up ok",
		"device bgp reachable→unreachable problem", "device interface reachable→auth_failure problem",
		"lb_virtual_server /Common/www available→offline problem", "lb_pool_member /Common/web 10.1.0.1:80 offline→available ok")
	step("an internal failure says nothing; the stopped session is not a problem", []*metric.Group{
		status(220, "bgp", 5),
		group("bgp_session", 220, map[string]string{"peer_address": "192.0.2.1"}, map[string]int64{"peer_state": 1, "admin_status": 1}),
	}, "bgp_session 192.0.2.1 idle→stopped ok")
	step("groups without the fields are skipped", []*metric.Group{
		group("bgp_session", 280, nil, map[string]int64{"peer_state": 1}),
		group("interface", 280, map[string]string{"interface_name": "x"}, nil),
	})
}

// recorder keeps what the tracker emitted.
type recorder struct {
	Applier
	got []string
}

func (r *recorder) Apply(ctx context.Context, b tracker.Batch) ([]*event.Event, error) {
	es, err := r.Applier.Apply(ctx, b)
	for _, e := range es {
		r.got = append(r.got, fmt.Sprintf("%s %s %s→%s %s", e.Kind, e.Object, e.OldState, e.NewState, e.Status))
	}
	return es, err
}

func TestSubjectsAndWrite(t *testing.T) {
	s := Subjects()
	slices.Sort(s)
	if strings.Join(s, " ") != "panoptes.metrics.*.bgp_session panoptes.metrics.*.interface panoptes.metrics.*.lb_pool_member "+
		"panoptes.metrics.*.lb_virtual_server panoptes.metrics.*.status" {
		t.Errorf("subjects %v", s)
	}
	rec := &recorder{Applier: applyFunc(func(b tracker.Batch) []*event.Event {
		return []*event.Event{{Kind: b.Kind, Object: b.Objects[0].Object, NewState: b.Objects[0].State}}
	})}
	if err := New(rec, nil).Write(context.Background(), []sink.Record{{Group: bgp(1, "192.0.2.9", 6)}, {}}); err != nil {
		t.Fatal(err)
	}
	if len(rec.got) != 1 {
		t.Errorf("Write: %v", rec.got)
	}
}

type applyFunc func(tracker.Batch) []*event.Event

func (f applyFunc) Apply(_ context.Context, b tracker.Batch) ([]*event.Event, error) {
	return f(b), nil
}
