package uptime

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/poll/polltest"

	"github.com/panoptes-go/panoptes/internal/poll"

	"github.com/gosnmp/gosnmp"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/snmp"
	"github.com/panoptes-go/panoptes/internal/testutil/snmpagent"
)

func TestUptimeUnit(t *testing.T) {
	req := &poll.Request{Resource: polltest.Resource, Interval: time.Minute, Now: polltest.Now}
	p := &Uptime{getter: polltest.GetFunc(func(_ context.Context, _ snmp.Target, oids []string) ([]snmp.Varbind, error) {
		if len(oids) != 1 || oids[0] != oidSysUpTime {
			t.Errorf("asked for %v", oids)
		}
		return []snmp.Varbind{{Name: oidSysUpTime, Type: gosnmp.TimeTicks, Value: uint32(123456)}}, nil
	})}
	groups, err := p.Poll(context.Background(), req)
	if err != nil || len(groups) != 1 {
		t.Fatalf("Poll = %v, %v", groups, err)
	}
	m, ok := groups[0].Metric("uptime_seconds")
	if !ok || m.Value.Float64() != 1234.56 || groups[0].Type != "system" || groups[0].Interval != 60 {
		t.Errorf("group %+v", groups[0])
	}
	if err := groups[0].Validate(); err != nil {
		t.Error(err)
	}

	missing := &Uptime{getter: polltest.GetFunc(func(context.Context, snmp.Target, []string) ([]snmp.Varbind, error) {
		return []snmp.Varbind{{Name: oidSysUpTime, Type: gosnmp.NoSuchObject}}, nil
	})}
	if _, err := missing.Poll(context.Background(), req); poll.StatusOf(context.Background(), 0, err) != metric.StatusMissingMetrics {
		t.Errorf("missing sysUpTime: %v", err)
	}
	failing := &Uptime{getter: polltest.GetFunc(func(context.Context, snmp.Target, []string) ([]snmp.Varbind, error) {
		return nil, errors.New("boom")
	})}
	if _, err := failing.Poll(context.Background(), req); err == nil {
		t.Error("a failed GET must be an error")
	}
	if _, err := poll.New("uptime", map[string]any{"bogus": 1}); err == nil {
		t.Error("unknown option accepted")
	}
}

// Against snmpd: the uptime equals what snmpbulkwalk reads, within the
// seconds between the two reads.
func TestUptimeSnmpd(t *testing.T) {
	polltest.Integration(t, "snmpd", "snmpbulkwalk")
	a := snmpagent.StartSnmpd(t)
	rows := snmpagent.BulkWalk(t, []string{"-v2c", "-c", a.Community}, a.Addr(), ".1.3.6.1.2.1.1.3")
	if len(rows) != 1 {
		t.Fatalf("snmpbulkwalk sysUpTime: %v", rows)
	}
	walked, err := strconv.ParseFloat(rows[0].Value, 64)
	if err != nil {
		t.Fatal(err)
	}
	status, groups := polltest.RunCheck(t, "uptime", a.Addr(), snmp.Credential{Version: "2c", Community: a.Community}, poll.SNMPOptions{})
	if status != metric.StatusSuccess || len(groups) != 1 {
		t.Fatalf("status %s, %d groups", metric.StatusName(status), len(groups))
	}
	m, _ := groups[0].Metric("uptime_seconds")
	if got := m.Value.Float64(); got < walked/100 || got > walked/100+5 {
		t.Errorf("uptime %v s, snmpbulkwalk said %v s", got, walked/100)
	}
}
