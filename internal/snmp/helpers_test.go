package snmp

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/panoptes-go/panoptes/internal/sim"
	"github.com/panoptes-go/panoptes/internal/testutil/logbuf"
	"github.com/panoptes-go/panoptes/internal/testutil/snmpagent"
)

// OIDs used across the tests.
const (
	oidSystem   = ".1.3.6.1.2.1.1"
	oidSysDescr = ".1.3.6.1.2.1.1.1.0"
	oidSysName  = ".1.3.6.1.2.1.1.5.0"
	oidIfTable  = ".1.3.6.1.2.1.2.2"
	oidIfXTable = ".1.3.6.1.2.1.31.1.1"
)

// secret is a distinctive string used as community and passphrases in the
// failure tests; it must never show up in errors or logs.
const secret = "s3cr3t-Zebra-Passphrase-77"

func integration(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: starts real SNMP agents (run without -short)")
	}
}

// testPool is a pool with a debug logger into a buffer and its own registry.
func testPool(t *testing.T, limit int) (*Pool, *logbuf.Buffer, *prometheus.Registry) {
	t.Helper()
	logs := &logbuf.Buffer{}
	reg := prometheus.NewRegistry()
	p := NewPool(PoolOptions{
		MaxRequestsPerDevice: limit,
		IdleTimeout:          time.Minute,
		Logger:               slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Registerer:           reg,
	})
	t.Cleanup(func() { _ = p.Close() })
	return p, logs, reg
}

// startSim starts n simulated switch48 devices for the test.
func startSim(tb testing.TB, n int) *sim.Farm {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	farm, err := sim.Start(ctx, sim.Options{Devices: n, Templates: []string{"switch48"}})
	if err != nil {
		cancel()
		tb.Fatal(err)
	}
	tb.Cleanup(func() { cancel(); _ = farm.Close() })
	return farm
}

// simTarget is the v2c target of a simulated device.
func simTarget(d *sim.Device) Target {
	return Target{Host: d.Host, Port: d.Port, Credential: &Credential{Version: "2c", Community: "public"},
		Timeout: 2 * time.Second, MaxRepetitions: 25}
}

func v2cTarget(a *snmpagent.Agent, community string) Target {
	return Target{
		Host: a.Host, Port: a.Port, CredentialName: "test-v2c",
		Credential: &Credential{Version: "2c", Community: community},
		Timeout:    time.Second, Retries: 1, MaxRepetitions: 20,
	}
}

func v1Target(a *snmpagent.Agent, community string) Target {
	t := v2cTarget(a, community)
	t.Credential.Version, t.CredentialName = "1", "test-v1"
	return t
}

func v3Target(a *snmpagent.Agent, u snmpagent.V3User) Target {
	return Target{
		Host: a.Host, Port: a.Port, CredentialName: u.Name,
		Credential: &Credential{
			Version: "3", Username: u.Name, SecurityLevel: u.Level,
			AuthProtocol: u.AuthProto, AuthPassphrase: u.AuthPass,
			PrivProtocol: u.PrivProto, PrivPassphrase: u.PrivPass,
		},
		Timeout: time.Second, Retries: 1, MaxRepetitions: 20,
	}
}

func rowsOf(vbs []Varbind) []snmpagent.WalkRow {
	out := make([]snmpagent.WalkRow, len(vbs))
	for i, v := range vbs {
		out[i] = snmpagent.RowOf(v)
	}
	return out
}

// sameRows fails the test at the first difference between got and want.
func sameRows(t *testing.T, what string, got, want []snmpagent.WalkRow) {
	t.Helper()
	if len(want) == 0 {
		t.Fatalf("%s: reference walk is empty", what)
	}
	for i := 0; i < min(len(got), len(want)); i++ {
		if got[i] != want[i] {
			t.Fatalf("%s: row %d: got %+v, snmpbulkwalk %+v", what, i, got[i], want[i])
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%s: got %d rows, snmpbulkwalk %d", what, len(got), len(want))
	}
}
