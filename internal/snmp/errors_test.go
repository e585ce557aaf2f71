package snmp

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
	promtest "github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/panoptes-go/panoptes/internal/testutil/snmpagent"
)

// TestKindNames pins the names of the failure kinds: they are the outcome
// label of panoptes_snmp_requests_total and the polling statuses' names, so
// a change breaks dashboards and alerts.
func TestKindNames(t *testing.T) {
	for k, want := range map[Kind]string{
		KindOK:       "success",
		KindAuth:     "auth_failure",
		KindNetwork:  "network_failure",
		KindTimeout:  "timeout",
		KindInternal: "internal_failure",
		Kind(200):    "internal_failure",
	} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", k, got, want)
		}
	}
}

// TestErrorKinds: each kind's Error names device, operation and kind, and
// unwraps to the kind's sentinel and to the cause.
func TestErrorKinds(t *testing.T) {
	cause := errors.New("the cause")
	for _, c := range []struct {
		kind     Kind
		sentinel error
		text     string
	}{
		{KindAuth, ErrAuth, "device sw1:161: get: authentication failure: the cause"},
		{KindNetwork, ErrNetwork, "device sw1:161: get: network failure: the cause"},
		{KindTimeout, ErrTimeout, "device sw1:161: get: timeout: the cause"},
		{KindInternal, ErrInternal, "device sw1:161: get: internal failure: the cause"},
	} {
		err := error(&Error{Device: "sw1:161", Op: "get", Kind: c.kind, Err: cause})
		if err.Error() != c.text || !errors.Is(err, c.sentinel) || !errors.Is(err, cause) || KindOf(err) != c.kind {
			t.Errorf("%v: got %q (kind %v), want %q unwrapping to %v and the cause", c.kind, err, KindOf(err), c.text, c.sentinel)
		}
	}
	if err := (&Error{Device: "sw1:161", Op: "get", Kind: KindTimeout, Err: ErrTimeout}); err.Error() != "device sw1:161: get: timeout" {
		t.Errorf("a cause equal to the kind is not repeated: %q", err)
	}
}

// TestRequestStatusLabels: every kind a request can end with is counted
// under its name in panoptes_snmp_requests_total{operation, outcome}.
func TestRequestStatusLabels(t *testing.T) {
	a := startFakeAgent(t, func(req *gosnmp.SnmpPacket) *gosnmp.SnmpPacket {
		switch req.Variables[0].Name {
		case oidSysName:
			return &gosnmp.SnmpPacket{Error: gosnmp.AuthorizationError, ErrorIndex: 1, Variables: req.Variables}
		case ".1.3.6.1.2.1.1.3.0":
			return nil // silent: a timeout
		case ".1.3.6.1.2.1.1.4.0":
			return &gosnmp.SnmpPacket{Error: gosnmp.GenErr, ErrorIndex: 1, Variables: req.Variables}
		}
		return &gosnmp.SnmpPacket{Variables: []gosnmp.SnmpPDU{{Name: req.Variables[0].Name, Type: gosnmp.Integer, Value: 1}}}
	})
	p, _, _ := testPool(t, 2)
	tg := v2cTarget(a, a.Community)
	tg.Timeout, tg.Retries = 50*time.Millisecond, 0
	ctx := context.Background()
	for _, c := range []struct {
		oid  string
		want Kind
	}{
		{".1.3.6.1.2.1.1.5.0", KindAuth},
		{".1.3.6.1.2.1.1.3.0", KindTimeout},
		{".1.3.6.1.2.1.1.4.0", KindInternal},
		{".1.3.6.1.2.1.1.1.0", KindOK},
	} {
		if _, err := p.Get(ctx, tg, []string{c.oid}); KindOf(err) != c.want {
			t.Fatalf("get %s: got %v (kind %v), want %v", c.oid, err, KindOf(err), c.want)
		}
	}
	closed := v2cTarget(&snmpagent.Agent{Host: "127.0.0.1", Port: closedUDPPort(t)}, a.Community)
	if _, err := p.Get(ctx, closed, []string{oidSysName}); KindOf(err) != KindNetwork {
		t.Fatalf("closed port: got %v (kind %v), want a network failure", err, KindOf(err))
	}
	for _, outcome := range []string{"success", "auth_failure", "timeout", "internal_failure", "network_failure"} {
		if got := promtest.ToFloat64(p.m.requests.WithLabelValues("get", outcome)); got != 1 {
			t.Errorf(`requests_total{operation="get",outcome=%q} = %v, want 1`, outcome, got)
		}
	}
	if n := promtest.CollectAndCount(p.m.requests); n != 5 {
		t.Errorf("requests_total has %d series, want 5", n)
	}
}
