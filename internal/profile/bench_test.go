package profile

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/panoptes-go/panoptes/internal/plugin"
	"github.com/panoptes-go/panoptes/internal/poll"
	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/snmp"
	"github.com/panoptes-go/panoptes/internal/testutil/snmpagent"
)

// BenchmarkPollRecordings measures a whole poll (selection from the cached
// sysObjectID, walks, evaluation) against snmpsim, per shipped profile:
// wall time, SNMP round trips' worth of varbinds, allocations.
func BenchmarkPollRecordings(b *testing.B) {
	if testing.Short() {
		b.Skip("starts snmpsimd")
	}
	snmpagent.Need(b, "snmpsimd")
	a := snmpagent.StartSnmpsim(b, "cisco_16_switch", "testdata/juniper_mx480.snmprec", "testdata/cisco_nxos.snmprec",
		"testdata/arista_eos.snmprec", "testdata/entity_sensor.snmprec")
	set, err := LoadDir(shippedDir)
	if err != nil {
		b.Fatal(err)
	}
	p, err := NewPlugin(set, nil)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []string{"cisco_16_switch", "juniper_mx480", "cisco_nxos", "arista_eos", "entity_sensor"} {
		b.Run(c, func(b *testing.B) {
			pool := snmp.NewPool(snmp.PoolOptions{})
			defer pool.Close()
			res := &resource.Resource{ID: c, Type: "device", Endpoint: a.Addr()}
			req := &poll.Request{Resource: res, Target: target(a, c), SNMP: pool, Interval: time.Minute, Now: time.Now()}
			groups := 0
			b.ReportAllocs()
			for b.Loop() {
				gs, err := p.Poll(context.Background(), req)
				if err != nil {
					b.Fatal(err)
				}
				groups = len(gs)
			}
			b.ReportMetric(float64(pool.Varbinds())/float64(b.N), "varbinds/op")
			b.ReportMetric(float64(groups), "groups")
		})
	}
}

// BenchmarkEvaluate measures evaluation alone (no network): a 48-row
// table with dimensions, an enum and arithmetic.
func BenchmarkEvaluate(b *testing.B) {
	p, err := Parse("bench.yaml", []byte(evalProfile))
	if err != nil {
		b.Fatal(err)
	}
	p.Groups[0].Metrics = p.Groups[0].Metrics[:4] // without the failing "broken" metric
	f := &fakeAgent{}
	for i := 1; i <= 48; i++ {
		oid := func(col int) string { return fmt.Sprintf(".1.3.6.1.4.1.99.1.%d.%d", col, i) }
		f.vbs = append(f.vbs,
			snmp.Varbind{Name: oid(1), Type: gosnmp.Counter64, Value: uint64(i) << 40},
			snmp.Varbind{Name: oid(2), Type: gosnmp.Counter32, Value: uint(i)},
			snmp.Varbind{Name: oid(3), Type: gosnmp.OctetString, Value: []byte(fmt.Sprintf("Gi1/0/%d", i))},
			snmp.Varbind{Name: oid(4), Type: gosnmp.Integer, Value: 1})
	}
	req := &Request{Resource: &resource.Resource{}}
	b.ReportAllocs()
	for b.Loop() {
		gs, err := p.Evaluate(context.Background(), f, req)
		if err != nil || len(gs) != 48 {
			b.Fatal(len(gs), err)
		}
	}
}

// BenchmarkPollSnmpd is the Linux profile against a real net-snmp agent
// (a C agent: the round-trip cost without snmpsim's Python overhead).
func BenchmarkPollSnmpd(b *testing.B) {
	if testing.Short() {
		b.Skip("starts snmpd")
	}
	a := snmpagent.StartSnmpd(b)
	p, err := FromOptions(plugin.BlockOf(map[string]any{"dirs": []any{shippedDir}}))
	if err != nil {
		b.Fatal(err)
	}
	pool := snmp.NewPool(snmp.PoolOptions{})
	defer pool.Close()
	req := &poll.Request{Resource: &resource.Resource{ID: "snmpd", Type: "server", Endpoint: a.Addr()},
		Target: target(a, a.Community), SNMP: pool, Interval: time.Minute, Now: time.Now()}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Poll(context.Background(), req); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(pool.Varbinds())/float64(b.N), "varbinds/op")
}
