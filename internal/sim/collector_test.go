package sim

import (
	"context"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/snmp"
	"github.com/panoptes-go/panoptes/internal/testutil/snmpagent"
)

func target(d *Device, cred snmp.Credential) snmp.Target {
	return snmp.Target{Host: d.Host, Port: d.Port, Credential: &cred, CredentialName: "sim",
		Timeout: time.Second, Retries: 1, MaxRepetitions: 25}
}

// TestCollectorReadsLikeNetSNMP: our collector (internal/snmp Pool.Walk on
// gosnmp) reads the simulator exactly as net-snmp's snmpbulkwalk does,
// over v1, v2c and v3 (both AES-256 key extensions).
func TestCollectorReadsLikeNetSNMP(t *testing.T) {
	integration(t)
	snmpagent.Need(t, "snmpbulkwalk")
	clock := newTestClock()
	users := []V3User{
		{Name: "blumenthal", AuthProto: "SHA", AuthPass: "sim-auth-pass", PrivProto: "AES256", PrivPass: "sim-priv-pass"},
		{Name: "reeder", AuthProto: "MD5", AuthPass: "sim-auth-pass", PrivProto: "AES256C", PrivPass: "sim-priv-pass"},
		{Name: "des", AuthProto: "SHA512", AuthPass: "sim-auth-pass", PrivProto: "DES", PrivPass: "sim-priv-pass"},
	}
	f := startFarm(t, Options{Devices: 2, Templates: []string{"switch48", "router400"}, V3Users: users, Now: clock.Now, Seed: 11})
	pool := snmp.NewPool(snmp.PoolOptions{Logger: testLogger(t)})
	t.Cleanup(func() { _ = pool.Close() })
	ctx := context.Background()
	v2 := snmp.Credential{Version: "2c", Community: "public"}
	for _, d := range f.Devices() {
		for _, root := range []string{".1.3.6.1.2.1.1", ".1.3.6.1.2.1.2.2", ".1.3.6.1.2.1.31.1.1", ".1.3.6.1.2.1.10.7.2"} {
			want := snmpagent.BulkWalk(t, []string{"-v2c", "-c", "public"}, d.Addr, root)
			for _, cred := range []snmp.Credential{
				v2,
				{Version: "3", Username: "blumenthal", SecurityLevel: "authPriv", AuthProtocol: "SHA", AuthPassphrase: "sim-auth-pass", PrivProtocol: "AES256", PrivPassphrase: "sim-priv-pass"},
				{Version: "3", Username: "reeder", SecurityLevel: "authPriv", AuthProtocol: "MD5", AuthPassphrase: "sim-auth-pass", PrivProtocol: "AES256C", PrivPassphrase: "sim-priv-pass"},
				{Version: "3", Username: "des", SecurityLevel: "authPriv", AuthProtocol: "SHA512", AuthPassphrase: "sim-auth-pass", PrivProtocol: "DES", PrivPassphrase: "sim-priv-pass"},
			} {
				vbs, err := pool.Walk(ctx, target(d, cred), root)
				if err != nil {
					t.Fatalf("%s %s v%s %s: %v", d.Name, root, cred.Version, cred.Username, err)
				}
				got := make([]snmpagent.WalkRow, len(vbs))
				for i, vb := range vbs {
					got[i] = snmpagent.RowOf(vb)
				}
				diffRows(t, d.Name+" "+root+" v"+cred.Version+" "+cred.Username, got, want)
			}
		}
	}
	// SNMPv1: GETNEXT walk, no Counter64
	d := f.Devices()[0]
	want := netsnmp(t, "snmpwalk", []string{"-v1", "-c", "public"}, d.Addr, ".1.3.6.1.2.1.31.1.1.1")
	vbs, err := pool.Walk(ctx, target(d, snmp.Credential{Version: "1", Community: "public"}), ".1.3.6.1.2.1.31.1.1.1")
	if err != nil {
		t.Fatal(err)
	}
	got := make([]snmpagent.WalkRow, len(vbs))
	for i, vb := range vbs {
		got[i] = snmpagent.RowOf(vb)
	}
	diffRows(t, "v1 ifXTable", got, want)
}

// TestCollectorFailureStatuses: the fault knobs produce the polling
// statuses the collector must report.
func TestCollectorFailureStatuses(t *testing.T) {
	integration(t)
	users := []V3User{{Name: "sim", AuthProto: "SHA", AuthPass: "sim-auth-pass", PrivProto: "AES", PrivPass: "sim-priv-pass"}}
	f := startFarm(t, Options{Devices: 1, V3Users: users})
	d := f.Devices()[0]
	pool := snmp.NewPool(snmp.PoolOptions{Logger: testLogger(t)})
	t.Cleanup(func() { _ = pool.Close() })
	ctx := context.Background()
	v3 := snmp.Credential{Version: "3", Username: "sim", SecurityLevel: "authPriv", AuthProtocol: "SHA",
		AuthPassphrase: "sim-auth-pass", PrivProtocol: "AES", PrivPassphrase: "sim-priv-pass"}
	get := func(cred snmp.Credential) error {
		tg := target(d, cred)
		tg.Timeout, tg.Retries = 200*time.Millisecond, 0
		_, err := pool.Get(ctx, tg, []string{".1.3.6.1.2.1.1.3.0"})
		return err
	}
	if err := get(v3); err != nil {
		t.Fatalf("v3 get: %v", err)
	}
	// a restart bumps engine boots: the manager resynchronises and succeeds
	d.Restart()
	if err := get(v3); err != nil {
		t.Errorf("v3 get after restart: %v", err)
	}
	if n := f.usm.notInTime.Load(); n == 0 {
		t.Error("no notInTimeWindow report after the restart")
	}
	wrong := v3
	wrong.AuthPassphrase = "wrong-auth-pass"
	if err := get(wrong); snmp.KindOf(err) != snmp.KindAuth {
		t.Errorf("wrong auth passphrase: %v (kind %v)", err, snmp.KindOf(err))
	}
	d.SetFault(0, 0, true)
	if err := get(snmp.Credential{Version: "2c", Community: "public"}); snmp.KindOf(err) != snmp.KindTimeout {
		t.Errorf("silent device: %v (kind %v)", err, snmp.KindOf(err))
	}
}
