package sim

import (
	"testing"

	"github.com/gosnmp/gosnmp"
)

// benchRequest is a marshalled request for the switch48 template.
func benchRequest(b *testing.B, p *gosnmp.SnmpPacket) (*Device, []byte) {
	d := testDevice(b, builtins["switch48"](), newTestClock())
	req, err := p.MarshalMsg()
	if err != nil {
		b.Fatal(err)
	}
	return d, req
}

// benchServe measures handle: decode the request, look up, encode the
// response. Reports ns and allocations per varbind served.
func benchServe(b *testing.B, d *Device, req []byte) {
	s := new(scratch)
	hint := -1
	var vbs int
	b.ReportAllocs()
	b.SetBytes(int64(len(req)))
	for b.Loop() {
		resp, n, why := d.handle(s, req, &hint, d.farm.now().UnixNano())
		if why != answered || len(resp) == 0 {
			b.Fatalf("not answered: %v", why)
		}
		vbs += n
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(vbs), "ns/varbind")
}

// BenchmarkServeGetBulk: a 25-repetition GETBULK of ifHCInOctets (Counter64,
// living values), the collector's typical request. Compare with
// internal/snmp's BenchmarkDecodeGetBulkResponse (gosnmp decoding the same
// kind of response).
func BenchmarkServeGetBulk(b *testing.B) {
	p := v2req(gosnmp.GetBulkRequest, ".1.3.6.1.2.1.31.1.1.1.6")
	p.MaxRepetitions = 25
	d, req := benchRequest(b, p)
	benchServe(b, d, req)
}

// BenchmarkServeGetBulkIfTable walks ifTable rows: mixed static and living
// values.
func BenchmarkServeGetBulkIfTable(b *testing.B) {
	p := v2req(gosnmp.GetBulkRequest, ".1.3.6.1.2.1.2.2.1.1")
	p.MaxRepetitions = 25
	d, req := benchRequest(b, p)
	benchServe(b, d, req)
}

// BenchmarkServeGet: a light check, GET sysUpTime.
func BenchmarkServeGet(b *testing.B) {
	d, req := benchRequest(b, v2req(gosnmp.GetRequest, ".1.3.6.1.2.1.1.3.0"))
	benchServe(b, d, req)
}
