package snmp

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
	promtest "github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/panoptes-go/panoptes/internal/testutil/snmpagent"
)

// TestSnmpd runs the pool against one real net-snmp snmpd.
func TestSnmpd(t *testing.T) {
	integration(t)
	snmpagent.Need(t, "snmpd", "snmpbulkwalk")
	a := snmpagent.StartSnmpd(t)
	v2c := []string{"-v2c", "-c", a.Community}

	t.Run("WalkV2cMatchesSnmpbulkwalk", func(t *testing.T) {
		p, _, _ := testPool(t, 2)
		for _, root := range []string{oidIfTable, oidIfXTable} {
			vbs, err := p.Walk(context.Background(), v2cTarget(a, a.Community), root)
			if err != nil {
				t.Fatalf("walk %s: %v", root, err)
			}
			want := snmpagent.BulkWalk(t, v2c, a.Addr(), root)
			sameLiveRows(t, root, rowsOf(vbs), want)
		}
	})

	t.Run("SameAsGosnmp", func(t *testing.T) { sameAsGosnmpOnSnmpd(t, a) })

	t.Run("WalkColumnsMatchesSnmpbulkwalk", func(t *testing.T) {
		p, _, _ := testPool(t, 2)
		for _, reps := range []int{1, 3, 25} {
			tg := v2cTarget(a, a.Community)
			tg.MaxRepetitions = reps
			columnsMatchBulkwalk(t, p, tg, a, interfaceColumns, false)
		}
		columnsMatchBulkwalk(t, p, v1Target(a, a.Community), a, interfaceColumns, false)
		columnsMatchBulkwalk(t, p, v3Target(a, a.V3["panoptes-sha-aes"]), a, interfaceColumns, false)
	})

	t.Run("GetMatchesSnmpbulkwalk", func(t *testing.T) {
		p, _, _ := testPool(t, 2)
		want := append(snmpagent.BulkWalk(t, v2c, a.Addr(), oidIfTable), snmpagent.BulkWalk(t, v2c, a.Addr(), oidIfXTable)...)
		oids := make([]string, len(want))
		for i, r := range want {
			oids[i] = strings.TrimPrefix(r.OID, ".") // Get accepts OIDs without the leading dot
		}
		vbs, err := p.Get(context.Background(), v2cTarget(a, a.Community), oids)
		if err != nil {
			t.Fatal(err)
		}
		sameLiveRows(t, "get ifTable+ifXTable", rowsOf(vbs), want)
	})

	t.Run("WalkV1", func(t *testing.T) {
		p, _, _ := testPool(t, 2)
		vbs, err := p.Walk(context.Background(), v1Target(a, a.Community), oidIfTable)
		if err != nil {
			t.Fatal(err)
		}
		sameLiveRows(t, "v1 walk ifTable", rowsOf(vbs), snmpagent.BulkWalk(t, v2c, a.Addr(), oidIfTable))
		// v1 cannot carry Counter64: the agent skips those columns.
		x, err := p.Walk(context.Background(), v1Target(a, a.Community), oidIfXTable)
		if err != nil {
			t.Fatal(err)
		}
		for _, vb := range x {
			if vb.Type == gosnmp.Counter64 {
				t.Fatalf("v1 walk returned a Counter64: %v", vb)
			}
		}
	})

	t.Run("GetMissingObjects", func(t *testing.T) {
		p, _, _ := testPool(t, 2)
		oids := []string{oidSysDescr, ".1.3.6.1.2.1.1.99.0", oidSysName}
		for _, tg := range []Target{v2cTarget(a, a.Community), v1Target(a, a.Community)} {
			vbs, err := p.Get(context.Background(), tg, oids)
			if err != nil {
				t.Fatalf("v%s: %v", tg.Credential.Version, err)
			}
			if len(vbs) != 3 || vbs[0].Type != gosnmp.OctetString || vbs[2].Type != gosnmp.OctetString {
				t.Fatalf("v%s: got %v", tg.Credential.Version, vbs)
			}
			if vbs[1].Name != oids[1] || isValue(vbs[1]) {
				t.Fatalf("v%s: missing object came back as %v", tg.Credential.Version, vbs[1])
			}
		}
	})

	t.Run("WalkEdges", func(t *testing.T) {
		p, _, _ := testPool(t, 2)
		tg := v2cTarget(a, a.Community)
		vbs, err := p.Walk(context.Background(), tg, "1.3.6.1.2.1.999999")
		if err != nil || len(vbs) != 0 {
			t.Fatalf("empty subtree: got %v, %v", vbs, err)
		}
		vbs, err = p.Walk(context.Background(), tg, oidSysName) // a scalar instance, as snmpwalk
		if err != nil || len(vbs) != 1 || vbs[0].Name != oidSysName {
			t.Fatalf("scalar root: got %v, %v", vbs, err)
		}
		// The walk must stop at the end of the subtree, not run on into the next one.
		vbs, err = p.Walk(context.Background(), tg, oidSystem)
		if err != nil || len(vbs) == 0 {
			t.Fatalf("system: %v, %v", vbs, err)
		}
		for _, vb := range vbs {
			if !strings.HasPrefix(vb.Name, oidSystem+".") {
				t.Fatalf("walk of %s returned %s", oidSystem, vb.Name)
			}
		}
	})

	t.Run("V3Users", func(t *testing.T) {
		p, _, _ := testPool(t, 2)
		for _, u := range snmpagent.SnmpdUsers {
			vbs, err := p.Walk(context.Background(), v3Target(a, u), oidSystem)
			if err != nil {
				t.Errorf("user %s (%s %s/%s): %v", u.Name, u.Level, u.AuthProto, u.PrivProto, err)
				continue
			}
			if len(vbs) < 5 || vbs[0].Name != oidSysDescr {
				t.Errorf("user %s: walk of system returned %d varbinds starting %v", u.Name, len(vbs), vbs)
			}
		}
	})

	t.Run("V3CiscoKeyExtensionDoesNotMatchNetSNMP", func(t *testing.T) {
		// Pins the documented choice: net-snmp's AES-192/AES-256 are gosnmp's
		// AES192/AES256; the Reeder ("C") variants differ whenever the auth
		// digest is shorter than the key (SHA-1 + AES-256 here).
		p, _, _ := testPool(t, 2)
		tg := v3Target(a, a.V3["panoptes-sha-aes256"])
		tg.Timeout, tg.Retries = 200*time.Millisecond, 0
		tg.Credential.PrivProtocol = "AES256C"
		_, err := p.Get(context.Background(), tg, []string{oidSysName})
		if KindOf(err) != KindAuth {
			t.Fatalf("AES256C against net-snmp AES-256: got %v (kind %v), want an auth failure", err, KindOf(err))
		}
	})

	t.Run("AuthFailuresAndNoSecrets", func(t *testing.T) {
		p, logs, _ := testPool(t, 2)
		good := a.V3["panoptes-sha-aes"]
		cases := []struct {
			name   string
			mutate func(*Target)
			status Kind
		}{
			{"wrong auth passphrase", func(t *Target) { t.Credential.AuthPassphrase = secret }, KindAuth},
			{"wrong priv passphrase", func(t *Target) { t.Credential.PrivPassphrase = secret }, KindAuth},
			{"wrong auth protocol", func(t *Target) { t.Credential.AuthProtocol = "SHA256" }, KindAuth},
			{"unknown user", func(t *Target) { t.Credential.Username = "panoptes-nobody" }, KindAuth},
			{"level below the user's", func(t *Target) { t.Credential.SecurityLevel = "noAuthNoPriv" }, KindAuth},
			{"wrong community", func(t *Target) { *t = v2cTarget(a, secret) }, KindTimeout},
		}
		for _, c := range cases {
			tg := v3Target(a, good)
			c.mutate(&tg)
			tg.Timeout, tg.Retries = 150*time.Millisecond, 1
			start := time.Now()
			_, err := p.Get(context.Background(), tg, []string{oidSysName})
			took := time.Since(start)
			if KindOf(err) != c.status {
				t.Errorf("%s: got %v (%v), want %v", c.name, KindOf(err), err, c.status)
				continue
			}
			if took > 2*time.Second {
				t.Errorf("%s: took %v", c.name, took)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "device "+a.Addr()+": get "+oidSysName+": ") {
				t.Errorf("%s: error %q does not name device and operation", c.name, msg)
			}
			if strings.Contains(msg, secret) {
				t.Errorf("%s: error leaks the secret: %q", c.name, msg)
			}
		}
		// Failed SNMPv3 sessions are closed; the v2c one that timed out is kept.
		if got := promtest.ToFloat64(p.m.sessionsOpen); got != 1 {
			t.Errorf("sessions open after the failures: %v, want 1", got)
		}
		if !strings.Contains(logs.String(), "snmp request failed") {
			t.Fatalf("expected debug logs of the failures, got %q", logs.String())
		}
		if strings.Contains(logs.String(), secret) {
			t.Fatalf("logs leak the secret:\n%s", logs.String())
		}
	})

	t.Run("ErrorText", func(t *testing.T) {
		p, _, _ := testPool(t, 2)
		tg := v2cTarget(a, secret)
		tg.Timeout, tg.Retries = 100*time.Millisecond, 0
		_, err := p.Walk(context.Background(), tg, "1.3.6.1.2.1.31.1.1")
		want := "device " + a.Addr() + ": walk .1.3.6.1.2.1.31.1.1: timeout"
		if err == nil || !strings.HasPrefix(err.Error(), want) || !errors.Is(err, ErrTimeout) {
			t.Fatalf("got %v, want prefix %q and errors.Is ErrTimeout", err, want)
		}
	})

	t.Run("PerDeviceLimit", func(t *testing.T) {
		p, _, reg := testPool(t, 2)
		tg := v2cTarget(a, a.Community)
		tg.MaxRepetitions = 5 // more round trips per walk: more overlap
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for range 8 {
			wg.Go(func() {
				_, err := p.Walk(context.Background(), tg, oidIfTable)
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if got := p.maxInUse(tg.Addr()); got < 1 || got > 2 {
			t.Fatalf("max concurrent requests on the device: %d, want at most 2", got)
		}
		if got := promtest.ToFloat64(p.m.limitWaits); got < 1 {
			t.Fatalf("device_limit_waits_total = %v, want > 0", got)
		}
		if got := promtest.ToFloat64(p.m.sessionsOpen); got > 2 {
			t.Fatalf("sessions_open = %v, want <= 2", got)
		}
		if n, err := promtest.GatherAndCount(reg, "panoptes_snmp_requests_total"); err != nil || n != 1 {
			t.Fatalf("requests_total series: %d, %v", n, err)
		}
		if got := promtest.ToFloat64(p.m.requests.WithLabelValues("walk", "success")); got != 8 {
			t.Fatalf("requests_total{walk,success} = %v, want 8", got)
		}
	})

	t.Run("SessionReuseAndEngineDiscoveryOnce", func(t *testing.T) {
		p, _, _ := testPool(t, 2)
		tg := v3Target(a, a.V3["panoptes-sha256-aes256"])
		for i := range 3 {
			if _, err := p.Get(context.Background(), tg, []string{oidSysName}); err != nil {
				t.Fatal(err)
			}
			// discovery + GET for the first request, then one packet each
			if got, want := promtest.ToFloat64(p.m.packetsSent), float64(i+2); got != want {
				t.Fatalf("after request %d: %v packets sent, want %v", i+1, got, want)
			}
		}
		if got := promtest.ToFloat64(p.m.sessionsOpened); got != 1 {
			t.Fatalf("sessions opened: %v, want 1", got)
		}
		// Another credential on the same device gets its own session.
		if _, err := p.Get(context.Background(), v2cTarget(a, a.Community), []string{oidSysName}); err != nil {
			t.Fatal(err)
		}
		if got := promtest.ToFloat64(p.m.sessionsOpened); got != 2 {
			t.Fatalf("sessions opened: %v, want 2", got)
		}
	})

	t.Run("TimedOutSessionIsReused", func(t *testing.T) {
		p, _, _ := testPool(t, 2)
		tg := v2cTarget(a, secret)
		tg.Timeout, tg.Retries = 50*time.Millisecond, 0
		for range 2 {
			if _, err := p.Get(context.Background(), tg, []string{oidSysName}); KindOf(err) != KindTimeout {
				t.Fatalf("wrong community: %v, want a timeout", err)
			}
		}
		// A native session survives a timeout (see TestTimedOutSessionIsReused).
		if got := promtest.ToFloat64(p.m.sessionsOpened); got != 1 {
			t.Fatalf("sessions opened: %v, want 1 (a timed-out session is kept)", got)
		}
		if got := promtest.ToFloat64(p.m.sessionsOpen); got != 1 {
			t.Fatalf("sessions open: %v, want 1", got)
		}
	})

	t.Run("Cancellation", func(t *testing.T) {
		p, _, _ := testPool(t, 1)
		slow := v2cTarget(a, secret) // never answered
		slow.Timeout, slow.Retries = 5*time.Second, 3

		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		start := time.Now()
		_, err := p.Walk(ctx, slow, oidIfTable)
		if !errors.Is(err, context.Canceled) || time.Since(start) > time.Second {
			t.Fatalf("cancel: got %v after %v", err, time.Since(start))
		}

		ctx, cancel = context.WithTimeout(context.Background(), 150*time.Millisecond)
		defer cancel()
		start = time.Now()
		_, err = p.Get(ctx, slow, []string{oidSysName})
		if KindOf(err) != KindTimeout || time.Since(start) > time.Second {
			t.Fatalf("deadline: got %v (kind %v) after %v", err, KindOf(err), time.Since(start))
		}

		// A request waiting for the device's only slot leaves on cancel.
		hold, release := context.WithCancel(context.Background())
		held := make(chan error, 1)
		go func() { _, err := p.Get(hold, slow, []string{oidSysName}); held <- err }()
		for p.inUse(slow.Addr()) < 1 {
			time.Sleep(5 * time.Millisecond)
		}
		ctx, cancel = context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		start = time.Now()
		_, err = p.Get(ctx, v2cTarget(a, a.Community), []string{oidSysName})
		if KindOf(err) != KindTimeout || time.Since(start) > time.Second {
			t.Fatalf("waiting request: got %v after %v", err, time.Since(start))
		}
		release()
		if err := <-held; !errors.Is(err, context.Canceled) {
			t.Fatalf("held request: %v", err)
		}
	})

	t.Run("IdleSessionsExpire", func(t *testing.T) {
		p := NewPool(PoolOptions{IdleTimeout: 100 * time.Millisecond})
		defer p.Close()
		if _, err := p.Get(context.Background(), v2cTarget(a, a.Community), []string{oidSysName}); err != nil {
			t.Fatal(err)
		}
		if got := promtest.ToFloat64(p.m.sessionsOpen); got != 1 {
			t.Fatalf("sessions open after a request: %v", got)
		}
		deadline := time.Now().Add(2 * time.Second)
		for promtest.ToFloat64(p.m.sessionsOpen) != 0 {
			if time.Now().After(deadline) {
				t.Fatal("idle session not closed after the idle timeout")
			}
			time.Sleep(20 * time.Millisecond)
		}
	})

	t.Run("Close", func(t *testing.T) {
		p := NewPool(PoolOptions{})
		if _, err := p.Get(context.Background(), v2cTarget(a, a.Community), []string{oidSysName}); err != nil {
			t.Fatal(err)
		}
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
		if got := promtest.ToFloat64(p.m.sessionsOpen); got != 0 {
			t.Fatalf("sessions open after Close: %v", got)
		}
		_, err := p.Get(context.Background(), v2cTarget(a, a.Community), []string{oidSysName})
		if !errors.Is(err, ErrPoolClosed) {
			t.Fatalf("Get after Close: %v", err)
		}
		if err := p.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
	})
}

// TestNetworkFailures needs no agent: a closed loopback port and a name that
// cannot resolve.
func TestNetworkFailures(t *testing.T) {
	integration(t)
	p, _, _ := testPool(t, 2)
	closed := &snmpagent.Agent{Host: "127.0.0.1", Port: closedUDPPort(t)}
	tg := v2cTarget(closed, secret)
	tg.Timeout, tg.Retries = 300*time.Millisecond, 1
	start := time.Now()
	_, err := p.Walk(context.Background(), tg, oidIfTable)
	// Linux reports ICMP port unreachable as ECONNREFUSED on the connected
	// UDP socket: a network failure, immediately, not a timeout.
	if KindOf(err) != KindNetwork || time.Since(start) > 250*time.Millisecond {
		t.Fatalf("closed port: got %v (kind %v) after %v, want a network failure at once", err, KindOf(err), time.Since(start))
	}
	if strings.Contains(err.Error(), secret) {
		t.Fatalf("error leaks the community: %v", err)
	}

	tg.Host = "panoptes-no-such-host.invalid"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = p.Get(ctx, tg, []string{oidSysName})
	if KindOf(err) != KindNetwork || !strings.Contains(err.Error(), "panoptes-no-such-host.invalid") {
		t.Fatalf("unresolvable host: got %v (kind %v), want a network failure naming the host", err, KindOf(err))
	}
}

func closedUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := c.LocalAddr().(*net.UDPAddr).Port
	_ = c.Close()
	return port
}

// sameLiveRows compares a walk of a live agent with snmpbulkwalk's, made
// after it: OIDs, types and values are equal except counters, which may only
// have grown (snmpd's loopback counters move with the test's own traffic).
func sameLiveRows(t *testing.T, what string, got, want []snmpagent.WalkRow) {
	t.Helper()
	if len(want) == 0 {
		t.Fatalf("%s: reference walk is empty", what)
	}
	if len(got) != len(want) {
		t.Fatalf("%s: got %d rows, snmpbulkwalk %d", what, len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.OID != w.OID || g.Type != w.Type {
			t.Fatalf("%s: row %d: got %+v, snmpbulkwalk %+v", what, i, g, w)
		}
		if g.Value == w.Value {
			continue
		}
		if g.Type == "Counter32" || g.Type == "Counter64" {
			gv, err1 := strconv.ParseUint(g.Value, 10, 64)
			wv, err2 := strconv.ParseUint(w.Value, 10, 64)
			if err1 == nil && err2 == nil && gv <= wv {
				continue
			}
		}
		t.Fatalf("%s: row %d: got %+v, snmpbulkwalk %+v", what, i, g, w)
	}
}
