package snmp

import (
	"fmt"
	"testing"

	"github.com/gosnmp/gosnmp"
)

// getBulkResponse is a realistic GETBULK response: 25 ifXTable varbinds
// (ifHCInOctets of 25 interfaces) with large Counter64 values.
func getBulkResponse(tb testing.TB) []byte {
	vbs := make([]gosnmp.SnmpPDU, 25)
	for i := range vbs {
		vbs[i] = gosnmp.SnmpPDU{
			Name:  fmt.Sprintf(".1.3.6.1.2.1.31.1.1.1.6.%d", 10101+i),
			Type:  gosnmp.Counter64,
			Value: uint64(29771896789864) + uint64(i)*982451653,
		}
	}
	pkt := &gosnmp.SnmpPacket{
		Version: gosnmp.Version2c, Community: "public", PDUType: gosnmp.GetResponse,
		RequestID: 1234567, Variables: vbs,
	}
	b, err := pkt.MarshalMsg()
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestDecodeGetBulkResponse(t *testing.T) {
	b := getBulkResponse(t)
	pkt, err := (&gosnmp.GoSNMP{Version: gosnmp.Version2c}).SnmpDecodePacket(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(pkt.Variables) != 25 || pkt.Variables[24].Value != uint64(29771896789864)+24*982451653 {
		t.Fatalf("decoded %d varbinds, last %v", len(pkt.Variables), pkt.Variables[len(pkt.Variables)-1])
	}
}

// BenchmarkDecodeGetBulkResponse measures gosnmp's BER decoding of one
// GETBULK response, the per-packet CPU cost of polling.
func BenchmarkDecodeGetBulkResponse(b *testing.B) {
	data := getBulkResponse(b)
	dec := &gosnmp.GoSNMP{Version: gosnmp.Version2c}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var n int
	for b.Loop() {
		pkt, err := dec.SnmpDecodePacket(data)
		if err != nil {
			b.Fatal(err)
		}
		n += len(pkt.Variables)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/varbind")
}
