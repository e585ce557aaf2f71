package heartbeat

import (
	"context"
	"fmt"
	"time"

	"github.com/panoptes-go/panoptes/internal/poll"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/plugin"
	"github.com/panoptes-go/panoptes/internal/snmp"
)

func init() { poll.Register("heartbeat", newHeartbeat) }

// HeartbeatGroupType is the group the heartbeat plugin writes.
const HeartbeatGroupType = "heartbeat"

// Heartbeat is the `heartbeat` plugin: a group per device per interval that
// proves the whole path works — inventory, ownership, scheduler, poller, bus
// and sinks — for every device, SNMP or not. A missing heartbeat in a store
// means the pipeline lost the device; the device's own health is other
// plugins' business.
//
// Group `heartbeat`: gauges heartbeat (always 1) and heartbeat_timestamp
// (Unix seconds the check ran, so a store can compute the path's delay).
// With option snmp_uptime: true it also GETs sysUpTime.0 and adds
// uptime_seconds; that needs an SNMP credential, and a failed GET keeps the
// heartbeat with status 4 (partial failure). Default false: no SNMP.
type Heartbeat struct {
	snmpUptime bool
	getter     getter // nil: req.SNMP
	now        func() time.Time
}

// getter is the one SNMP operation the plugin needs.
type getter interface {
	Get(ctx context.Context, t snmp.Target, oids []string) ([]snmp.Varbind, error)
}

// sysUpTimeOIDs is what the snmp_uptime option GETs.
var sysUpTimeOIDs = []string{".1.3.6.1.2.1.1.3.0"}

// NoSNMP tells the Runner the check needs no SNMP target unless the
// uptime is asked for.
func (h *Heartbeat) NoSNMP() bool { return !h.snmpUptime }

func newHeartbeat(options plugin.Block) (poll.Plugin, error) {
	var o struct {
		SNMPUptime bool `yaml:"snmp_uptime"` // also read sysUpTime.0
	}
	if err := options.Decode(&o); err != nil {
		return nil, err
	}
	return &Heartbeat{snmpUptime: o.SNMPUptime, now: time.Now}, nil
}

// Poll builds the heartbeat group, with the device's uptime when asked.
func (h *Heartbeat) Poll(ctx context.Context, req *poll.Request) ([]*metric.Group, error) {
	at := poll.Epoch(h.now())
	g := &metric.Group{
		Resource: req.Resource, Type: HeartbeatGroupType, Interval: int(req.Interval / time.Second),
		CreationTimestamp: poll.Epoch(req.Now), SchemaVersion: metric.SchemaVersion,
		Metrics: []metric.Metric{
			{Name: "heartbeat", Value: metric.Int(1), Type: metric.Gauge, Timestamp: at},
			{Name: "heartbeat_timestamp", Value: metric.Float(poll.Epoch(req.Now)), Type: metric.Gauge, Timestamp: at},
		},
		Dimensions: []metric.Dimension{},
	}
	if !h.snmpUptime {
		return []*metric.Group{g}, nil
	}
	gt := h.getter
	if gt == nil {
		if req.SNMP == nil {
			return []*metric.Group{g}, poll.WithStatus(metric.StatusPartialFailure, poll.ErrNoSNMP)
		}
		gt = req.SNMP
	}
	vbs, err := gt.Get(ctx, req.Target, sysUpTimeOIDs)
	if err != nil {
		return []*metric.Group{g}, fmt.Errorf("get sysUpTime: %w", err)
	}
	var ticks uint32
	ok := len(vbs) == 1
	if ok {
		ticks, ok = snmp.Ticks(&vbs[0])
	}
	if !ok {
		return []*metric.Group{g}, poll.WithStatus(metric.StatusPartialFailure, fmt.Errorf("sysUpTime.0 is missing or not TimeTicks"))
	}
	g.Metrics = append(g.Metrics, metric.Metric{Name: "uptime_seconds", Value: metric.Float(float64(ticks) / 100),
		Type: metric.Gauge, Timestamp: poll.Epoch(h.now())})
	return []*metric.Group{g}, nil
}
