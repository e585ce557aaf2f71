package snmp

import (
	"context"
	"reflect"
	"testing"

	"github.com/gosnmp/gosnmp"

	"github.com/panoptes-go/panoptes/internal/testutil/snmpagent"
)

// The native v1/v2c client against gosnmp on real agents: the same walks
// must give the same varbinds, name for name, type for type, Go value for
// Go value.

// walkBoth walks root with gosnmp, then natively on a connected socket of
// its own and on the shared socket.
func walkBoth(t *testing.T, tg Target, root string) (old []Varbind, natives map[string][]Varbind) {
	t.Helper()
	natives = map[string][]Varbind{}
	for _, transport := range []string{"gosnmp", "connected", "shared"} {
		p, _, _ := testPool(t, 1)
		switch transport {
		case "gosnmp":
			p.useGosnmp = true
		case "connected":
			p.mx = nil
		}
		vbs, err := p.Walk(context.Background(), tg, root)
		if err != nil {
			t.Fatalf("walk %s (%s): %v", root, transport, err)
		}
		if transport == "gosnmp" {
			old = vbs
		} else {
			natives[transport] = vbs
		}
	}
	if len(old) == 0 {
		t.Fatalf("walk %s: no varbinds", root)
	}
	t.Logf("v%s walk %s: %d varbinds", tg.Credential.Version, root, len(old))
	return old, natives
}

// sameAsGosnmpOnSnmpsim runs in TestSnmpsim: recorded values, so every
// varbind must be equal.
func sameAsGosnmpOnSnmpsim(t *testing.T, a *snmpagent.Agent) {
	types := map[gosnmp.Asn1BER]int{}
	for version, roots := range map[string][]string{
		// Every SMI type between them (snmpsim is slow: not all of mib-2),
		// and a part of the Cisco enterprise tree; v1 walks one PDU per
		// varbind, so fewer.
		"2c": {oidSystem, oidIfXTable, ".1.3.6.1.2.1.4.20", ".1.3.6.1.4.1.9.9.13", ".1.3.6.1.6.3.10"},
		"1":  {oidSystem, ".1.3.6.1.2.1.4.20"},
	} {
		tg := v2cTarget(a, a.Community)
		tg.Credential.Version, tg.MaxRepetitions = version, 40
		for _, root := range roots {
			old, natives := walkBoth(t, tg, root)
			for transport, native := range natives {
				if !reflect.DeepEqual(old, native) {
					t.Fatalf("v%s walk %s (%s socket): %s", version, root, transport, firstDifference(old, native))
				}
			}
			for _, vb := range natives["shared"] {
				types[vb.Type]++
			}
		}
	}
	for _, want := range []gosnmp.Asn1BER{gosnmp.Integer, gosnmp.OctetString, gosnmp.ObjectIdentifier, gosnmp.IPAddress,
		gosnmp.Counter32, gosnmp.Gauge32, gosnmp.TimeTicks, gosnmp.Counter64} {
		if types[want] == 0 {
			t.Errorf("no %v compared (types seen: %v)", want, types)
		}
	}
}

// sameAsGosnmpOnSnmpd runs in TestSnmpd. snmpd's values are live
// (counters, uptime, gauges and storage use move between the two walks), so
// those are compared by Go type and, for counters and timeticks, by order;
// everything else exactly.
func sameAsGosnmpOnSnmpd(t *testing.T, a *snmpagent.Agent) {
	for _, tg := range []Target{v2cTarget(a, a.Community), v1Target(a, a.Community)} {
		for _, root := range []string{oidSystem, ".1.3.6.1.2.1.2", oidIfXTable, ".1.3.6.1.2.1.4", ".1.3.6.1.2.1.5", ".1.3.6.1.2.1.11", ".1.3.6.1.2.1.25.2", ".1.3.6.1.6.3"} {
			old, natives := walkBoth(t, tg, root)
			for transport, native := range natives {
				if len(old) != len(native) {
					t.Fatalf("v%s walk %s: %d varbinds with gosnmp, %d native (%s socket)", tg.Credential.Version, root, len(old), len(native), transport)
				}
				for i := range old {
					if !sameLive(old[i], native[i]) {
						t.Fatalf("v%s walk %s: varbind %d: gosnmp %v (%T), native %v (%T) (%s socket)",
							tg.Credential.Version, root, i, old[i], old[i].Value, native[i], native[i].Value, transport)
					}
				}
			}
		}
	}
}

// sameLive compares a varbind walked first (a) with the same one walked
// a moment later (b).
func sameLive(a, b Varbind) bool {
	if a.Name != b.Name || a.Type != b.Type || reflect.TypeOf(a.Value) != reflect.TypeOf(b.Value) {
		return false
	}
	switch x := a.Value.(type) {
	case uint: // Counter32, Gauge32
		return a.Type == gosnmp.Gauge32 || x <= b.Value.(uint)
	case uint32: // TimeTicks
		return x <= b.Value.(uint32)
	case uint64: // Counter64
		return x <= b.Value.(uint64)
	}
	if reflect.DeepEqual(a.Value, b.Value) {
		return true
	}
	for _, live := range liveIntegers {
		if a.Type == gosnmp.Integer && inSubtree(live, a.Name) {
			return true
		}
	}
	return false
}

// liveIntegers are the INTEGER objects of snmpd that move on their own.
var liveIntegers = []string{
	".1.3.6.1.2.1.25.2",     // hrStorage (used)
	".1.3.6.1.6.3.10.2.1.3", // snmpEngineTime
}

func firstDifference(a, b []Varbind) string {
	for i := range min(len(a), len(b)) {
		if !reflect.DeepEqual(a[i], b[i]) {
			return "varbind " + a[i].Name + ": gosnmp " + dump(a[i:i+1]) + " native " + dump(b[i:i+1])
		}
	}
	return "gosnmp returned " + dump(a[min(len(a), len(b)):]) + ", native " + dump(b[min(len(a), len(b)):])
}
