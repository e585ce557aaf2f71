package snmp

import (
	"context"
	"testing"

	"github.com/gosnmp/gosnmp"

	"github.com/panoptes-go/panoptes/internal/testutil/snmpagent"
)

// TestSnmpsim runs the pool against snmpsimd replaying a Cisco 3750 switch:
// recorded data, so every value must equal snmpbulkwalk's exactly.
func TestSnmpsim(t *testing.T) {
	integration(t)
	snmpagent.Need(t, "snmpsimd", "snmpbulkwalk")
	a := snmpagent.StartSnmpsim(t, "cisco_16_switch")
	v2c := []string{"-v2c", "-c", a.Community}
	ifTable := snmpagent.BulkWalk(t, v2c, a.Addr(), oidIfTable)
	ifXTable := snmpagent.BulkWalk(t, v2c, a.Addr(), oidIfXTable)
	if len(ifTable) < 500 || len(ifXTable) < 500 {
		t.Fatalf("recording too small: ifTable %d rows, ifXTable %d", len(ifTable), len(ifXTable))
	}

	t.Run("WalkV2c", func(t *testing.T) {
		t.Parallel()
		p, _, _ := testPool(t, 2)
		for root, want := range map[string][]snmpagent.WalkRow{oidIfTable: ifTable, oidIfXTable: ifXTable} {
			vbs, err := p.Walk(context.Background(), v2cTarget(a, a.Community), root)
			if err != nil {
				t.Fatal(err)
			}
			sameRows(t, "walk "+root, rowsOf(vbs), want)
		}
		if got, want := p.Varbinds(), uint64(len(ifTable)+len(ifXTable)); got != want {
			t.Errorf("Varbinds() = %d after walking %d rows", got, want)
		}
	})

	t.Run("GetV2c", func(t *testing.T) {
		t.Parallel()
		p, _, _ := testPool(t, 2)
		want := ifXTable
		oids := make([]string, len(want))
		for i, r := range want {
			oids[i] = r.OID
		}
		vbs, err := p.Get(context.Background(), v2cTarget(a, a.Community), oids)
		if err != nil {
			t.Fatal(err)
		}
		sameRows(t, "get ifXTable", rowsOf(vbs), want)
	})

	t.Run("WalkColumnsMatchesSnmpbulkwalk", func(t *testing.T) {
		t.Parallel()
		p, _, _ := testPool(t, 2)
		for _, reps := range []int{5, 40} {
			tg := v2cTarget(a, a.Community)
			tg.MaxRepetitions = reps
			columnsMatchBulkwalk(t, p, tg, a, interfaceColumns, true)
		}
		tg := v3Target(a, snmpagent.SnmpsimUser)
		tg.Credential.ContextName = a.Community
		columnsMatchBulkwalk(t, p, tg, a, interfaceColumns, true)
	})

	t.Run("SameAsGosnmp", func(t *testing.T) {
		t.Parallel()
		sameAsGosnmpOnSnmpsim(t, a)
	})

	t.Run("WalkV1", func(t *testing.T) {
		t.Parallel()
		p, _, _ := testPool(t, 2)
		vbs, err := p.Walk(context.Background(), v1Target(a, a.Community), oidIfTable)
		if err != nil {
			t.Fatal(err)
		}
		sameRows(t, "v1 walk ifTable", rowsOf(vbs), ifTable)
	})

	t.Run("V3ContextNameSelectsRecording", func(t *testing.T) {
		t.Parallel()
		p, _, _ := testPool(t, 2)
		tg := v3Target(a, snmpagent.SnmpsimUser)
		tg.Credential.ContextName = a.Community
		vbs, err := p.Walk(context.Background(), tg, oidIfXTable)
		if err != nil {
			t.Fatal(err)
		}
		sameRows(t, "v3 walk ifXTable", rowsOf(vbs), ifXTable)
		counters := 0
		for _, vb := range vbs {
			if vb.Type == gosnmp.Counter64 {
				counters++
			}
		}
		if counters == 0 {
			t.Fatal("no Counter64 in ifXTable")
		}

		tg.Credential.ContextName = "no-such-recording"
		tg.Timeout, tg.Retries = tg.Timeout/4, 0
		if _, err := p.Get(context.Background(), tg, []string{oidSysDescr}); KindOf(err) == KindOK {
			t.Fatal("unknown context name answered")
		}
	})
}
