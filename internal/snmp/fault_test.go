package snmp

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/gosnmp/gosnmp"
	"github.com/prometheus/client_golang/prometheus"
	promtest "github.com/prometheus/client_golang/prometheus/testutil"
)

// TestDecoderFaultIsAnError proves the guards on the real paths, the shared
// socket's and a socket of the session's own: a decoder bug that panics on
// an answer (faultForTest stands for one: no input is known to) is an
// error for that request (a column walk's too), counted, and the node goes on; one that panics
// while the shared socket's reader parses a datagram's header loses only
// that datagram, and the request's retry gets its answer.
func TestDecoderFaultIsAnError(t *testing.T) {
	a := startFakeAgent(t, func(req *gosnmp.SnmpPacket) *gosnmp.SnmpPacket {
		vbs := make([]gosnmp.SnmpPDU, len(req.Variables))
		for i, v := range req.Variables {
			vbs[i] = gosnmp.SnmpPDU{Name: v.Name, Type: gosnmp.Counter64, Value: uint64(i + 7)}
		}
		return &gosnmp.SnmpPacket{Variables: vbs}
	})
	oids := []string{".1.3.6.1.2.1.31.1.1.1.6.1"}
	for _, connected := range []bool{false, true} {
		t.Run(fmt.Sprintf("connected sockets %v", connected), func(t *testing.T) {
			p := NewPool(PoolOptions{ConnectedSockets: connected, Registerer: prometheus.NewRegistry()})
			t.Cleanup(func() { _ = p.Close() })
			target := v2cTarget(a, a.Community)
			var faults atomic.Int32
			fault := func(stage string, _ []byte) {
				if stage == "varbinds" {
					faults.Add(1)
					panic("index out of range [17] with length 16")
				}
			}
			faultForTest.Store(&fault)
			t.Cleanup(func() { faultForTest.Store(nil) })
			_, err := p.Get(context.Background(), target, oids)
			if !errors.Is(err, errDecoderFault) || faults.Load() == 0 {
				t.Fatalf("Get with a faulting decoder: %v (faults %d), want a decoder fault", err, faults.Load())
			}
			cols := []string{".1.3.6.1.2.1.31.1.1.1.6", ".1.3.6.1.2.1.31.1.1.1.10"}
			if err := p.WalkColumns(context.Background(), target, cols, 0, make([][]Varbind, len(cols))); !errors.Is(err, errDecoderFault) {
				t.Fatalf("WalkColumns with a faulting decoder: %v, want a decoder fault", err)
			}
			if got := promtest.ToFloat64(p.m.decoderFaults); got < 1 {
				t.Errorf("panoptes_snmp_decoder_faults_total = %v, want ≥ 1", got)
			}

			var headers atomic.Int32
			once := func(stage string, _ []byte) {
				if stage == "header" && headers.Add(1) == 1 {
					panic("slice bounds out of range [:40] with capacity 30")
				}
			}
			faultForTest.Store(&once)
			vbs, err := p.Get(context.Background(), target, oids)
			if err != nil || len(vbs) != 1 {
				t.Fatalf("Get after a header fault: %d varbinds, %v; want the retry's answer", len(vbs), err)
			}
			faultForTest.Store(nil)
			vbs, err = p.Get(context.Background(), target, oids)
			if err != nil || len(vbs) != 1 || vbs[0].Value != uint64(7) {
				t.Fatalf("Get without faults: %v, %v", vbs, err)
			}
		})
	}
}
