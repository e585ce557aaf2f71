package poll

import (
	"context"
	"errors"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/snmp"
)

// StatusGroupType and StatusMetric name the group that ends every check.
const (
	StatusGroupType = "status"
	StatusMetric    = "polling_status"
	// PluginDimension carries the plugin instance name on the status group,
	// so that two plugins polling one resource have two status series.
	PluginDimension = "plugin"
)

// StatusOf maps a check's outcome to a polling status. Order matters: a
// plugin's explicit status wins, then a deadline (the check ran out of
// time, whatever it managed to build), then partial success, which
// includes a walk stopped at the check's varbind limit (snmp.ErrWalkLimit):
// the device answered, with more than the check keeps.
func StatusOf(ctx context.Context, groups int, err error) int {
	if err == nil {
		return metric.StatusSuccess
	}
	var se *StatusError
	if errors.As(err, &se) {
		return se.Status
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return metric.StatusTimeout
	}
	if groups > 0 || errors.Is(err, snmp.ErrWalkLimit) { // a table past the limit is data left out
		return metric.StatusPartialFailure
	}
	return snmpStatus(snmp.KindOf(err))
}

// snmpStatus maps an SNMP failure kind onto the polling status a device
// gets for it. The kinds' names (snmp.Kind.String) are the statuses' names.
func snmpStatus(k snmp.Kind) int {
	switch k {
	case snmp.KindOK:
		return metric.StatusSuccess
	case snmp.KindAuth:
		return metric.StatusAuthFailure
	case snmp.KindNetwork:
		return metric.StatusNetworkFailure
	case snmp.KindTimeout:
		return metric.StatusTimeout
	}
	return metric.StatusInternalFailure
}

// setStatusGroup fills c.status, the `status` group: Panoptes' polling
// status gauge for one check of one resource by one plugin instance.
func (c *checkRun) setStatusGroup(res *resource.Resource, plugin string, interval int, created, at float64, status int) {
	c.metric[0] = metric.Metric{Name: StatusMetric, Value: metric.Int(int64(status)), Type: metric.Gauge, Timestamp: at}
	c.dim[0] = metric.Dimension{Name: PluginDimension, Value: plugin}
	c.status = metric.Group{
		Resource:          res,
		Type:              StatusGroupType,
		Interval:          interval,
		CreationTimestamp: created,
		SchemaVersion:     metric.SchemaVersion,
		Metrics:           c.metric[:],
		Dimensions:        c.dim[:],
	}
}
