// Package input is the gNMI streaming input's core for one target: it keeps
// a STREAM subscription up (gnmi.Subscriber), feeds what arrives into the
// target's mapping state, and publishes groups: the rows that changed, at
// most every Flush, each row at least every Interval, and a `status` group
// (polling_status, as a check's) on every change of the stream's state and
// every Interval. What to subscribe follows from the mappings.
//
// Owning targets (which node subscribes to which resource), rates and the
// bus are the caller's: it gets each batch through Emit.
package input

import (
	"context"
	"log/slog"
	"time"

	pb "github.com/openconfig/gnmi/proto/gnmi"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/panoptes-go/panoptes/internal/gnmi"
	"github.com/panoptes-go/panoptes/internal/gnmi/mapping"
	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/selfmetric"
)

// StatusGroupType, StatusMetric and PluginDimension name the status group,
// as package poll's checks write it.
const (
	StatusGroupType = "status"
	StatusMetric    = "polling_status"
	PluginDimension = "plugin"
)

// Target is one subscribed resource.
type Target struct {
	Resource *resource.Resource
	// Name is the input's instance name (the status group's plugin).
	Name   string
	Config gnmi.Config
	// Set is the mappings that apply to the resource.
	Set *mapping.Set
	// Subscriptions, when set, replace what Set subscribes (the input's
	// mode and interval overrides applied).
	Subscriptions []gnmi.Subscription
	// Interval is the groups' metrics_group_interval, the sample interval
	// of subscriptions that name none, and how often an unchanged row and
	// the status group are published again (default 60s).
	Interval time.Duration
	// Flush is how often changed rows are published (default 1s): a
	// target's SAMPLE burst arrives within it, so a row is one group.
	Flush time.Duration
	// Encoding of the subscription (default PROTO: typed values, the
	// cheapest to decode).
	Encoding   pb.Encoding
	Logger     *slog.Logger
	Metrics    *gnmi.Metrics
	MapMetrics *mapping.Metrics
	// States counts the running targets by state (nil: not counted).
	States *States
	// Subscriber settings (zero: its defaults).
	Silence                time.Duration
	QueueLen, QueueBytes   int
	MinBackoff, MaxBackoff time.Duration
}

// Run subscribes until ctx ends, calling emit with each batch of groups
// (from one goroutine; emit must not keep set after it returns unless it
// owns it: each call gets a new set).
func (t *Target) Run(ctx context.Context, emit func(*metric.GroupSet)) error {
	if t.Interval <= 0 {
		t.Interval = 60 * time.Second
	}
	if t.Flush <= 0 {
		t.Flush = time.Second
	}
	if t.Logger == nil {
		t.Logger = slog.New(slog.DiscardHandler)
	}
	name := t.Resource.ID
	subs := t.Subscriptions
	if subs == nil {
		subs = t.Set.Subscriptions(t.Interval)
	}
	st := t.Set.NewState(mapping.Options{Name: name, Logger: t.Logger, Metrics: t.MapMetrics})
	sub := &gnmi.Subscriber{Config: t.Config, Name: name, Logger: t.Logger, Metrics: t.Metrics, Tick: t.Flush,
		Silence: t.Silence, QueueLen: t.QueueLen, QueueBytes: t.QueueBytes, MinBackoff: t.MinBackoff, MaxBackoff: t.MaxBackoff,
		Request: gnmi.Request{Encoding: t.Encoding, Subscriptions: subs}}

	status, lastStatus := -1, time.Time{}
	t.States.move("", StateConnecting)
	defer func() { t.States.move(stateName(status), "") }()
	synced := false
	// A sample arrives as a burst of notifications (one per leaf from the
	// reference target): a flush in the middle of one would publish its
	// rows twice, half updated. So a tick while notifications still arrive
	// (the last less than a quarter flush ago) waits, for at most two
	// flushes or a quarter interval after the first unpublished one.
	var lastNotification, pendingSince time.Time
	publish := func(now time.Time, all bool) {
		pendingSince = time.Time{}
		groups := st.Build(t.Resource, t.Interval, now, all)
		if status >= 0 && (now.Sub(lastStatus) >= t.Interval-t.Flush/2 || all) {
			groups = append(groups, t.statusGroup(now, status))
			lastStatus = now
		}
		if len(groups) > 0 {
			emit(&metric.GroupSet{Groups: groups})
		}
	}
	setStatus := func(now time.Time, s int, err error) {
		changed := s != status
		if changed {
			t.States.move(stateName(status), stateName(s))
		}
		status = s
		if changed {
			lastStatus = time.Time{} // publish it now
			if err != nil {
				t.Logger.Warn("gnmi target down", "resource", name, "status", metric.StatusName(s), "err", err)
			}
		}
		publish(now, false)
	}
	err := sub.Run(ctx, func(e gnmi.Event) {
		now := time.Now()
		switch e.Kind {
		case gnmi.Connected:
			synced = false
			st.Handle(e)
		case gnmi.Notification:
			st.Handle(e)
			lastNotification = now
			if pendingSince.IsZero() {
				pendingSince = now
			}
		case gnmi.Sync:
			st.Handle(e)
			synced = true
			s, err := metric.StatusSuccess, error(nil)
			if missing := st.Missing(); len(missing) > 0 {
				s, err = metric.StatusMissingMetrics, missingError(missing)
			}
			setStatus(now, s, err)
		case gnmi.Down:
			setStatus(now, e.Status, e.Err)
		case gnmi.Tick:
			burst := !pendingSince.IsZero() && now.Sub(lastNotification) < t.Flush/4 && now.Sub(pendingSince) < max(2*t.Flush, t.Interval/4)
			if (synced || status > 0) && !burst {
				publish(now, false)
			}
		}
	})
	// The stream ended (the input stopped, or the target was handed over):
	// rows held for the rest of their sample get no more of it here.
	if groups := st.BuildHeld(t.Resource, t.Interval, time.Now()); len(groups) > 0 {
		emit(&metric.GroupSet{Groups: groups})
	}
	return err
}

func (t *Target) statusGroup(now time.Time, status int) *metric.Group {
	at := float64(now.UnixNano()) / 1e9
	return &metric.Group{Resource: t.Resource, Type: StatusGroupType, Interval: int(t.Interval / time.Second),
		CreationTimestamp: at, SchemaVersion: metric.SchemaVersion,
		Metrics:    []metric.Metric{{Name: StatusMetric, Value: metric.Int(int64(status)), Type: metric.Gauge, Timestamp: at}},
		Dimensions: []metric.Dimension{{Name: PluginDimension, Value: t.Name}}}
}

type missingErr []*mapping.Group

func (m missingErr) Error() string {
	s := "the target sent nothing for"
	for i, g := range m {
		if i > 0 {
			s += ","
		}
		s += " " + g.String()
	}
	return s
}

func missingError(gs []*mapping.Group) error { return missingErr(gs) }

// StateConnecting is a target's state before its first status: the stream
// is being opened and has not synced or failed yet.
const StateConnecting = "connecting"

func stateName(status int) string {
	if status < 0 {
		return StateConnecting
	}
	return metric.StatusName(status)
}

// States counts running targets by state: connecting, or the name of
// their current polling status (success while streaming).
type States struct {
	g *prometheus.GaugeVec
}

// NewStates registers panoptes_gnmi_subscriptions with reg (nil: none).
func NewStates(reg prometheus.Registerer) *States {
	return &States{g: selfmetric.Register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "panoptes_gnmi_subscriptions",
		Help: "gNMI targets this node subscribes to, by state: connecting, or their polling status (success while streaming)."},
		[]string{"state"}))}
}

// Count is the number of targets in state.
func (s *States) Count(state string) int {
	var d dto.Metric
	if err := s.g.WithLabelValues(state).Write(&d); err != nil {
		return 0
	}
	return int(d.GetGauge().GetValue())
}

func (s *States) move(from, to string) {
	if s == nil || from == to {
		return
	}
	if from != "" {
		s.g.WithLabelValues(from).Dec()
	}
	if to != "" {
		s.g.WithLabelValues(to).Inc()
	}
}
