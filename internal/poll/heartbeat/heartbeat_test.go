package heartbeat

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/poll/polltest"

	"github.com/panoptes-go/panoptes/internal/poll"

	"github.com/gosnmp/gosnmp"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/snmp"
	"github.com/panoptes-go/panoptes/internal/testutil/snmpagent"
)

func TestHeartbeatUnit(t *testing.T) {
	ctx := context.Background()
	p, err := poll.New("heartbeat", nil)
	if err != nil {
		t.Fatal(err)
	}
	h := p.(*Heartbeat)
	if !h.NoSNMP() {
		t.Error("a plain heartbeat must not need SNMP")
	}
	groups, err := h.Poll(ctx, &poll.Request{Resource: polltest.Resource, Interval: time.Minute, Now: polltest.Now}) // no SNMP pool at all
	if err != nil || len(groups) != 1 || groups[0].Type != HeartbeatGroupType || groups[0].Validate() != nil {
		t.Fatalf("Poll = %+v, %v", groups, err)
	}
	if polltest.Gauge(t, groups[0], "heartbeat") != 1 || polltest.Gauge(t, groups[0], "heartbeat_timestamp") != poll.Epoch(polltest.Now) {
		t.Errorf("metrics %+v", groups[0].Metrics)
	}

	p, err = poll.New("heartbeat", map[string]any{"snmp_uptime": true})
	if err != nil {
		t.Fatal(err)
	}
	h = p.(*Heartbeat)
	if h.NoSNMP() {
		t.Error("snmp_uptime needs SNMP")
	}
	h.getter = polltest.GetFunc(func(context.Context, snmp.Target, []string) ([]snmp.Varbind, error) {
		return []snmp.Varbind{{Name: sysUpTimeOIDs[0], Type: gosnmp.TimeTicks, Value: uint32(4200)}}, nil
	})
	groups, err = h.Poll(ctx, &poll.Request{Resource: polltest.Resource, Interval: time.Minute, Now: polltest.Now})
	if err != nil || polltest.Gauge(t, groups[0], "uptime_seconds") != 42 {
		t.Errorf("uptime: %v %+v", err, groups)
	}
	h.getter = polltest.GetFunc(func(context.Context, snmp.Target, []string) ([]snmp.Varbind, error) {
		return nil, errors.New("timeout")
	})
	groups, err = h.Poll(ctx, &poll.Request{Resource: polltest.Resource, Interval: time.Minute, Now: polltest.Now})
	if len(groups) != 1 || poll.StatusOf(ctx, len(groups), err) != metric.StatusPartialFailure {
		t.Errorf("failed GET must keep the heartbeat with partial failure: %d groups, %v", len(groups), err)
	}
	if _, err := poll.New("heartbeat", map[string]any{"snmp_uptime": "maybe"}); err == nil {
		t.Error("bad option accepted")
	}
}

// Through the poll.Runner against snmpd, with the uptime.
func TestHeartbeatSnmpd(t *testing.T) {
	polltest.Integration(t, "snmpd")
	a := snmpagent.StartSnmpd(t)
	cfg := poll.SNMPOptions{Credential: "test", Credentials: map[string]*snmp.Credential{"test": {Version: "2c", Community: a.Community}}}
	pool := snmp.NewPool(snmp.PoolOptions{})
	t.Cleanup(func() { _ = pool.Close() })
	r := poll.NewRunner(poll.RunnerOptions{SNMP: cfg, Pool: pool})
	p, err := poll.New("heartbeat", map[string]any{"snmp_uptime": true})
	if err != nil {
		t.Fatal(err)
	}
	res := polltest.Resource.Clone()
	res.Endpoint = a.Addr()
	set := r.Run(context.Background(), "heartbeat", p, res, 60e9)
	status, groups := polltest.StatusOfSet(t, set, "heartbeat")
	if status != metric.StatusSuccess || len(groups) != 1 {
		t.Fatalf("status %s, %d groups", metric.StatusName(status), len(groups))
	}
	if up := polltest.Gauge(t, groups[0], "uptime_seconds"); up <= 0 {
		t.Errorf("uptime %v", up)
	}
}
