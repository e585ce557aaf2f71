package uptime

import (
	"context"
	"fmt"
	"time"

	"github.com/panoptes-go/panoptes/internal/poll"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/plugin"
	"github.com/panoptes-go/panoptes/internal/snmp"
)

func init() { poll.Register("uptime", newUptime) }

// Uptime is the light `uptime` plugin: one GET of sysUpTime.0 into a
// `system` group with the gauge uptime_seconds. It is the cheapest check
// that proves the device answers with its credentials, and the unit of the
// benchmark harness's light-check figures.
type Uptime struct {
	getter getter // nil: req.SNMP
}

// getter is the one SNMP operation the plugin needs.
type getter interface {
	Get(ctx context.Context, t snmp.Target, oids []string) ([]snmp.Varbind, error)
}

const oidSysUpTime = ".1.3.6.1.2.1.1.3.0"

// UptimeGroupType is the group the uptime plugin writes.
const UptimeGroupType = "system"

var sysUpTimeOIDs = []string{oidSysUpTime}

func newUptime(options plugin.Block) (poll.Plugin, error) {
	var none struct{}
	if err := options.Decode(&none); err != nil {
		return nil, err
	}
	return &Uptime{}, nil
}

// Poll reads sysUpTime.0.
func (p *Uptime) Poll(ctx context.Context, req *poll.Request) ([]*metric.Group, error) {
	g := p.getter
	if g == nil {
		if req.SNMP == nil {
			return nil, poll.WithStatus(metric.StatusInternalFailure, poll.ErrNoSNMP)
		}
		g = req.SNMP
	}
	vbs, err := g.Get(ctx, req.Target, sysUpTimeOIDs)
	if err != nil {
		return nil, fmt.Errorf("get sysUpTime: %w", err)
	}
	var ticks uint32
	ok := len(vbs) == 1
	if ok {
		ticks, ok = snmp.Ticks(&vbs[0])
	}
	if !ok {
		return nil, poll.WithStatus(metric.StatusMissingMetrics, fmt.Errorf("sysUpTime.0 is missing or not TimeTicks"))
	}
	o := &uptimeGroups{}
	o.metric[0] = metric.Metric{Name: "uptime_seconds", Value: metric.Float(float64(ticks) / 100), Type: metric.Gauge, Timestamp: poll.Epoch(time.Now())}
	o.group = metric.Group{
		Resource:          req.Resource,
		Type:              UptimeGroupType,
		Interval:          int(req.Interval / time.Second),
		CreationTimestamp: poll.Epoch(req.Now),
		SchemaVersion:     metric.SchemaVersion,
		Metrics:           o.metric[:],
		Dimensions:        []metric.Dimension{},
	}
	o.groups[0] = &o.group
	return o.groups[:1], nil
}

// uptimeGroups is the plugin's result in one allocation, with room for
// the status group the Runner appends.
type uptimeGroups struct {
	groups [2]*metric.Group
	group  metric.Group
	metric [1]metric.Metric
}
