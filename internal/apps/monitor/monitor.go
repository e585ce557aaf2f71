// Package monitor is the events app: it reads metrics groups from the bus
// and turns the states they carry into events (package tracker records them
// once across the cluster and publishes them on panoptes.events.<site>.<kind>):
//
//   - bgp_session groups: a session's state (peer_state; admin_status stop
//     is "stopped", not a problem), with flap counts;
//   - interface groups: an interface's oper status (admin down is
//     "admin_down", not a problem);
//   - status groups: whether the device answers a plugin's checks
//     (polling_status 1 auth_failure, 2/3/7 unreachable, others reachable);
//   - lb_virtual_server and lb_pool_member groups (the F5 BIG-IP profile):
//     availability, and disabled.
//
// A state first seen is an event only when it is a problem and the kind
// announces initial problems (BGP sessions, devices, load balancers):
// interfaces that were down before monitoring started stay quiet.
package monitor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/panoptes-go/panoptes/internal/apps/tracker"
	"github.com/panoptes-go/panoptes/internal/event"
	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/sink"
	"github.com/panoptes-go/panoptes/internal/wire"
)

// Applier records observations (a *tracker.Tracker).
type Applier interface {
	Apply(ctx context.Context, b tracker.Batch) ([]*event.Event, error)
}

// Monitor turns groups into tracker batches.
type Monitor struct {
	tr  Applier
	log *slog.Logger
}

// New returns a monitor recording with tr.
func New(tr Applier, logger *slog.Logger) *Monitor {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Monitor{tr: tr, log: logger}
}

// Subjects are the metrics subjects the monitor reads (every site).
func Subjects() []string {
	out := make([]string, 0, len(rules))
	for typ := range rules {
		out = append(out, wire.MetricsPrefix+"*."+typ)
	}
	return out
}

// Write feeds a batch read from the bus (the monitor runs as a durable
// consumer of the metrics stream, like a sink): an error hands the batch
// back, and applying it again records nothing twice.
func (m *Monitor) Write(ctx context.Context, batch []sink.Record) error {
	groups := make([]*metric.Group, 0, len(batch))
	for i := range batch {
		if batch[i].Group != nil {
			groups = append(groups, batch[i].Group)
		}
	}
	return m.Handle(ctx, groups)
}

var _ sink.Sink = (*Monitor)(nil)

// Handle records the states in groups, in order: one tracker batch per
// kind, resource and check (creation time).
func (m *Monitor) Handle(ctx context.Context, groups []*metric.Group) error {
	type key struct {
		kind, resource string
		at             float64
	}
	batches := map[key]*tracker.Batch{}
	var order []key
	for _, g := range groups {
		r, ok := rules[g.Type]
		if !ok || g.Resource == nil {
			continue
		}
		ob, ok := r.observe(g)
		if !ok {
			continue
		}
		k := key{r.kind, g.Resource.Key(), g.CreationTimestamp}
		b := batches[k]
		if b == nil {
			b = &tracker.Batch{Kind: r.kind, Resource: g.Resource, At: g.CreationTimestamp, AnnounceInitial: r.announceInitial}
			batches[k] = b
			order = append(order, k)
		}
		b.Objects = append(b.Objects, ob)
	}
	var errs []error
	for _, k := range order {
		if err := ctx.Err(); err != nil {
			return err
		}
		if _, err := m.tr.Apply(ctx, *batches[k]); err != nil {
			errs = append(errs, fmt.Errorf("%s of %s: %w", k.kind, batches[k].Resource.ID, err))
		}
	}
	return errors.Join(errs...)
}

// rule turns one group type into observations.
type rule struct {
	kind            string
	announceInitial bool
	observe         func(g *metric.Group) (tracker.Observation, bool)
}

var rules = map[string]rule{
	"bgp_session":       {kind: event.KindBGPSession, announceInitial: true, observe: bgpSession},
	"interface":         {kind: event.KindInterface, observe: iface},
	"status":            {kind: event.KindDevice, announceInitial: true, observe: deviceStatus},
	"lb_virtual_server": {kind: event.KindLBVirtualServer, announceInitial: true, observe: lbObject("virtual_server")},
	"lb_pool_member":    {kind: event.KindLBPoolMember, announceInitial: true, observe: lbObject("pool", "member")},
}

// gauge reads a metric as an integer.
func gauge(g *metric.Group, name string) (int64, bool) {
	m, ok := g.Metric(name)
	if !ok {
		return 0, false
	}
	return m.Value.Int64(), true
}

func labels(g *metric.Group, names ...string) map[string]string {
	out := map[string]string{}
	for _, n := range names {
		if v := g.Dimension(n); v != "" {
			out[n] = v
		}
	}
	return out
}

// BGP4-MIB bgpPeerState names, 1-based.
var bgpStates = []string{"idle", "connect", "active", "opensent", "openconfirm", "established"}

func bgpSession(g *metric.Group) (tracker.Observation, bool) {
	peer := g.Dimension("peer_address")
	st, ok := gauge(g, "peer_state")
	if peer == "" || !ok {
		return tracker.Observation{}, false
	}
	o := tracker.Observation{Object: peer, Labels: labels(g, "peer_address", "remote_as", "local_address")}
	switch admin, _ := gauge(g, "admin_status"); {
	case admin == 1:
		o.State = "stopped"
	case st >= 1 && st <= 6:
		o.State = bgpStates[st-1]
		o.Problem = st != 6
	default:
		o.State, o.Problem = "unknown("+strconv.FormatInt(st, 10)+")", true
	}
	return o, true
}

// IF-MIB ifOperStatus names, 1-based.
var operStates = []string{"up", "down", "testing", "unknown", "dormant", "not_present", "lower_layer_down"}

func iface(g *metric.Group) (tracker.Observation, bool) {
	name := g.Dimension("interface_name")
	oper, ok := gauge(g, "oper_state")
	if name == "" || !ok {
		return tracker.Observation{}, false
	}
	o := tracker.Observation{Object: name, Labels: labels(g, "interface_name", "alias", "description")}
	switch admin, _ := gauge(g, "admin_state"); {
	case admin == 2:
		o.State = "admin_down"
	case oper >= 1 && oper <= 7:
		o.State = operStates[oper-1]
		o.Problem = oper == 2 || oper == 4 || oper == 6 || oper == 7
	default:
		o.State = "unknown(" + strconv.FormatInt(oper, 10) + ")"
	}
	return o, true
}

func deviceStatus(g *metric.Group) (tracker.Observation, bool) {
	st, ok := gauge(g, "polling_status")
	if !ok {
		return tracker.Observation{}, false
	}
	o := tracker.Observation{Object: g.Dimension("plugin"), Labels: labels(g, "plugin")}
	switch st {
	case metric.StatusAuthFailure:
		o.State, o.Problem = "auth_failure", true
	case metric.StatusNetworkFailure, metric.StatusTimeout, metric.StatusPingFailure:
		o.State, o.Problem = "unreachable", true
	case metric.StatusInternalFailure, metric.StatusEnrichFailure:
		return o, false // says nothing about the device
	default:
		o.State = "reachable"
	}
	o.Labels["polling_status"] = metric.StatusName(int(st))
	return o, true
}

// F5 BIG-IP availability (ltmVsStatusAvailState, ltmPoolMbrStatusAvailState)
// and enabled state (…EnabledState: 1 enabled).
var lbAvailability = map[int64]struct {
	name    string
	problem bool
}{
	0: {"none", true}, 1: {"available", false}, 2: {"unavailable", true}, 3: {"offline", true},
	4: {"unknown", false}, 5: {"unlicensed", true},
}

func lbObject(dims ...string) func(g *metric.Group) (tracker.Observation, bool) {
	return func(g *metric.Group) (tracker.Observation, bool) {
		obj := ""
		for i, d := range dims {
			if i > 0 {
				obj += " "
			}
			obj += g.Dimension(d)
		}
		avail, ok := gauge(g, "availability")
		if obj == "" || !ok {
			return tracker.Observation{}, false
		}
		o := tracker.Observation{Object: obj, Labels: labels(g, append(dims, "partition", "address")...)}
		if en, ok := gauge(g, "enabled"); ok && en != 1 {
			o.State = "disabled"
			return o, true
		}
		a, known := lbAvailability[avail]
		if !known {
			a.name, a.problem = "unknown("+strconv.FormatInt(avail, 10)+")", true
		}
		o.State, o.Problem = a.name, a.problem
		return o, true
	}
}
