package sim

import (
	"fmt"
	"testing"

	"github.com/gosnmp/gosnmp"

	"github.com/panoptes-go/panoptes/internal/ber"
)

const smallRec = `1.3.6.1.2.1.1.1.0|4|small device
1.3.6.1.2.1.1.3.0|67|1000
1.3.6.1.2.1.1.5.0|4|small
1.3.6.1.2.1.2.2.1.2.1|4|eth0
1.3.6.1.2.1.2.2.1.2.2|4|eth1
1.3.6.1.2.1.2.2.1.10.1|65|100
1.3.6.1.2.1.2.2.1.10.2|65|200
1.3.6.1.2.1.31.1.1.1.6.1|70|1000
1.3.6.1.2.1.31.1.1.1.6.2|70|2000
1.3.6.1.2.1.31.1.1.1.18.1|4|uplink
`

type vb struct {
	oid string
	typ gosnmp.Asn1BER
}

func vbsOf(p *gosnmp.SnmpPacket) []vb {
	out := make([]vb, len(p.Variables))
	for i, v := range p.Variables {
		out[i] = vb{v.Name, v.Type}
	}
	return out
}

func checkVBs(t *testing.T, what string, p *gosnmp.SnmpPacket, want []vb) {
	t.Helper()
	if p == nil {
		t.Fatalf("%s: no answer", what)
	}
	got := vbsOf(p)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s:\n got %v\nwant %v", what, got, want)
	}
}

func TestGetV2c(t *testing.T) {
	d := testDevice(t, mustRecording(t, "small.snmprec", smallRec), newTestClock())
	p := exchange(t, d, v2req(gosnmp.GetRequest, ".1.3.6.1.2.1.1.5.0", ".1.3.6.1.2.1.1.5.1", ".1.3.6.1.2.1.99.1", ".1.3.6.1.2.1.31.1.1.1.6.2"))
	checkVBs(t, "get", p, []vb{
		{".1.3.6.1.2.1.1.5.0", gosnmp.OctetString}, {".1.3.6.1.2.1.1.5.1", gosnmp.NoSuchInstance},
		{".1.3.6.1.2.1.99.1", gosnmp.NoSuchObject}, {".1.3.6.1.2.1.31.1.1.1.6.2", gosnmp.Counter64},
	})
	if p.RequestID != 4711 || p.PDUType != gosnmp.GetResponse || p.Community != "public" || p.Error != gosnmp.NoError {
		t.Errorf("header: %+v", p)
	}
	if string(p.Variables[0].Value.([]byte)) != "small" || p.Variables[3].Value.(uint64) != 2000 {
		t.Errorf("values: %v", p.Variables)
	}
}

func TestGetNextAndEndOfMib(t *testing.T) {
	d := testDevice(t, mustRecording(t, "small.snmprec", smallRec), newTestClock())
	p := exchange(t, d, v2req(gosnmp.GetNextRequest, ".1.3", ".1.3.6.1.2.1.2.2.1.2.2", ".1.3.6.1.2.1.31.1.1.1.18.1", ".1.4"))
	checkVBs(t, "getnext", p, []vb{
		{".1.3.6.1.2.1.1.1.0", gosnmp.OctetString}, {".1.3.6.1.2.1.2.2.1.10.1", gosnmp.Counter32},
		{".1.3.6.1.2.1.31.1.1.1.18.1", gosnmp.EndOfMibView}, {".1.4", gosnmp.EndOfMibView},
	})
}

// TestV1Semantics: noSuchName errors with the request's varbinds echoed,
// and Counter64 objects do not exist (GET fails, GETNEXT skips them).
func TestV1Semantics(t *testing.T) {
	d := testDevice(t, mustRecording(t, "small.snmprec", smallRec), newTestClock())
	v1 := func(typ gosnmp.PDUType, oids ...string) *gosnmp.SnmpPacket {
		p := v2req(typ, oids...)
		p.Version = gosnmp.Version1
		return exchange(t, d, p)
	}
	p := v1(gosnmp.GetRequest, ".1.3.6.1.2.1.1.5.0", ".1.3.6.1.2.1.1.5.1", ".1.3.6.1.2.1.1.1.0")
	if p.Error != gosnmp.NoSuchName || p.ErrorIndex != 2 {
		t.Errorf("v1 get missing: error %v index %d", p.Error, p.ErrorIndex)
	}
	checkVBs(t, "v1 echo", p, []vb{{".1.3.6.1.2.1.1.5.0", gosnmp.Null}, {".1.3.6.1.2.1.1.5.1", gosnmp.Null}, {".1.3.6.1.2.1.1.1.0", gosnmp.Null}})
	if p := v1(gosnmp.GetRequest, ".1.3.6.1.2.1.31.1.1.1.6.1"); p.Error != gosnmp.NoSuchName || p.ErrorIndex != 1 {
		t.Errorf("v1 get Counter64: error %v index %d", p.Error, p.ErrorIndex)
	}
	p = v1(gosnmp.GetNextRequest, ".1.3.6.1.2.1.31.1.1.1.5")
	checkVBs(t, "v1 getnext skips Counter64", p, []vb{{".1.3.6.1.2.1.31.1.1.1.18.1", gosnmp.OctetString}})
	if p := v1(gosnmp.GetNextRequest, ".1.3.6.1.2.1.31.1.1.1.18.1"); p.Error != gosnmp.NoSuchName || p.ErrorIndex != 1 {
		t.Errorf("v1 getnext past the end: error %v index %d", p.Error, p.ErrorIndex)
	}
	if p := v1(gosnmp.SetRequest, ".1.3.6.1.2.1.1.5.0"); p.Error != gosnmp.NoSuchName {
		t.Errorf("v1 set: error %v", p.Error)
	}
	// GETBULK does not exist in v1: no answer
	raw := rawRequest(0, "public", ber.PDUGetBulk, 0, 5, ".1.3")
	if resp, _, why := d.handle(new(scratch), raw, new(int), 0); resp != nil || why != dropMalformed {
		t.Errorf("v1 getbulk answered: %v", why)
	}
}

// rawRequest builds a request by hand (gosnmp will not marshal everything).
func rawRequest(version int64, community string, pduType byte, errStat, errIdx int64, oids ...string) []byte {
	var vbl []byte
	for _, o := range oids {
		arcs, _ := ber.ParseOID(o)
		c := ber.AppendOID(nil, arcs)
		vbl = ber.AppendHeader(vbl, ber.TagSequence, 2+len(c)+2)
		vbl = ber.AppendHeader(vbl, ber.TagOID, len(c))
		vbl = append(vbl, c...)
		vbl = append(vbl, ber.TagNull, 0)
	}
	var pdu []byte
	pdu = ber.AppendInt(pdu, ber.TagInteger, 99)
	pdu = ber.AppendInt(pdu, ber.TagInteger, errStat)
	pdu = ber.AppendInt(pdu, ber.TagInteger, errIdx)
	pdu = ber.AppendHeader(pdu, ber.TagSequence, len(vbl))
	pdu = append(pdu, vbl...)
	var body []byte
	body = ber.AppendInt(body, ber.TagInteger, version)
	body = ber.AppendHeader(body, ber.TagOctetString, len(community))
	body = append(body, community...)
	body = ber.AppendHeader(body, pduType, len(pdu))
	body = append(body, pdu...)
	return append(ber.AppendHeader(nil, ber.TagSequence, len(body)), body...)
}

func TestGetBulk(t *testing.T) {
	d := testDevice(t, mustRecording(t, "small.snmprec", smallRec), newTestClock())
	p := v2req(gosnmp.GetBulkRequest, ".1.3.6.1.2.1.1.3.0", ".1.3.6.1.2.1.2.2.1.2", ".1.3.6.1.2.1.31.1.1.1.6.1")
	p.NonRepeaters, p.MaxRepetitions = 1, 3
	checkVBs(t, "bulk", exchange(t, d, p), []vb{
		{".1.3.6.1.2.1.1.5.0", gosnmp.OctetString},
		{".1.3.6.1.2.1.2.2.1.2.1", gosnmp.OctetString}, {".1.3.6.1.2.1.31.1.1.1.6.2", gosnmp.Counter64},
		{".1.3.6.1.2.1.2.2.1.2.2", gosnmp.OctetString}, {".1.3.6.1.2.1.31.1.1.1.18.1", gosnmp.OctetString},
		{".1.3.6.1.2.1.2.2.1.10.1", gosnmp.Counter32}, {".1.3.6.1.2.1.31.1.1.1.18.1", gosnmp.EndOfMibView},
	})
	// every repeater at the end: one row of endOfMibView, then stop
	p = v2req(gosnmp.GetBulkRequest, ".1.3.6.1.2.1.31.1.1.1.6.2", ".1.5")
	p.MaxRepetitions = 10
	checkVBs(t, "bulk at end", exchange(t, d, p), []vb{
		{".1.3.6.1.2.1.31.1.1.1.18.1", gosnmp.OctetString}, {".1.5", gosnmp.EndOfMibView},
		{".1.3.6.1.2.1.31.1.1.1.18.1", gosnmp.EndOfMibView}, {".1.5", gosnmp.EndOfMibView},
	})
	// non-repeaters beyond the varbind count, max-repetitions 0
	p = v2req(gosnmp.GetBulkRequest, ".1.3.6.1.2.1.1.1.0")
	p.NonRepeaters, p.MaxRepetitions = 5, 0
	checkVBs(t, "bulk only non-repeaters", exchange(t, d, p), []vb{{".1.3.6.1.2.1.1.3.0", gosnmp.TimeTicks}})
}

// TestResponseSizeLimit: GETBULK returns fewer repetitions to fit the
// message size; a GET that cannot fit is tooBig.
func TestResponseSizeLimit(t *testing.T) {
	d := testDevice(t, builtins["router400"](), newTestClock())
	d.farm.maxMsg = 1400
	p := v2req(gosnmp.GetBulkRequest, ".1.3.6.1.2.1.31.1.1.1.1")
	p.MaxRepetitions = 1000
	b, _ := p.MarshalMsg()
	resp, n, _ := d.handle(new(scratch), b, new(int), 0)
	if len(resp) > 1400 || n < 50 || n >= 1000 {
		t.Errorf("bulk of 1000: %d bytes, %d varbinds", len(resp), n)
	}
	r := exchange(t, d, p)
	if len(r.Variables) != n || r.Variables[0].Name != ".1.3.6.1.2.1.31.1.1.1.1.1" {
		t.Errorf("decoded %d varbinds, first %s", len(r.Variables), r.Variables[0].Name)
	}
	d.farm.maxMsg = 484
	oids := make([]string, 12)
	for i := range oids {
		oids[i] = ".1.3.6.1.2.1.1.1.0" // sysDescr, 168 bytes each
	}
	if r := exchange(t, d, v2req(gosnmp.GetRequest, oids...)); r.Error != gosnmp.TooBig || len(r.Variables) != 0 {
		t.Errorf("big get: error %v, %d varbinds", r.Error, len(r.Variables))
	}
}

func TestNotAnswered(t *testing.T) {
	d := testDevice(t, mustRecording(t, "small.snmprec", smallRec), newTestClock())
	for name, c := range map[string]struct {
		req  []byte
		want dropReason
	}{
		"wrong community": {rawRequest(1, "private", ber.PDUGet, 0, 0, ".1.3.6.1.2.1.1.5.0"), dropCommunity},
		"response pdu":    {rawRequest(1, "public", ber.PDUResponse, 0, 0, ".1.3.6.1.2.1.1.5.0"), dropMalformed},
		"version 2":       {rawRequest(2, "public", ber.PDUGet, 0, 0, ".1.3.6.1.2.1.1.5.0"), dropMalformed},
		"truncated":       {rawRequest(1, "public", ber.PDUGet, 0, 0, ".1.3.6.1.2.1.1.5.0")[:20], dropMalformed},
		"garbage":         {[]byte("hello world"), dropMalformed},
		"empty":           {nil, dropMalformed},
	} {
		if resp, _, why := d.handle(new(scratch), c.req, new(int), 0); resp != nil || why != c.want {
			t.Errorf("%s: answered %d bytes, reason %d, want %d", name, len(resp), why, c.want)
		}
	}
	if p := exchange(t, d, v2req(gosnmp.SetRequest, ".1.3.6.1.2.1.1.5.0")); p.Error != gosnmp.NotWritable || p.ErrorIndex != 1 {
		t.Errorf("v2c set: %v %d", p.Error, p.ErrorIndex)
	}
}

// TestPerDeviceName: built-in templates answer sysName with the device name.
func TestPerDeviceName(t *testing.T) {
	d := testDevice(t, builtins["switch48"](), newTestClock())
	p := exchange(t, d, v2req(gosnmp.GetRequest, ".1.3.6.1.2.1.1.5.0"))
	if string(p.Variables[0].Value.([]byte)) != "dev-0001" {
		t.Errorf("sysName %q", p.Variables[0].Value)
	}
}

// FuzzHandle: no request, however broken, panics or answers garbage.
func FuzzHandle(f *testing.F) {
	for _, p := range []*gosnmp.SnmpPacket{
		v2req(gosnmp.GetRequest, ".1.3.6.1.2.1.1.5.0"),
		v2req(gosnmp.GetNextRequest, ".1.3.6.1.2.1.2.2.1.2", ".1.3"),
		{Version: gosnmp.Version2c, Community: "public", PDUType: gosnmp.GetBulkRequest, MaxRepetitions: 30, NonRepeaters: 1,
			Variables: []gosnmp.SnmpPDU{{Name: ".1.3.6.1.2.1.1", Type: gosnmp.Null}, {Name: ".1.3.6.1.2.1.2.2.1.10", Type: gosnmp.Null}}},
	} {
		b, _ := p.MarshalMsg()
		f.Add(b)
	}
	f.Add(rawRequest(0, "public", ber.PDUGetNext, 0, 0, ".1.3.6.1.2.1.31.1.1.1.5"))
	rec := mustRecording(f, "small.snmprec", smallRec)
	f.Fuzz(func(t *testing.T, req []byte) {
		d := testDevice(t, rec, newTestClock())
		resp, _, why := d.handle(new(scratch), append([]byte(nil), req...), new(int), 0)
		if (resp != nil) != (why == answered) {
			t.Fatalf("answer %d bytes with reason %d", len(resp), why)
		}
		if resp != nil {
			if _, err := (&gosnmp.GoSNMP{Version: gosnmp.Version2c, Logger: gosnmp.NewLogger(nil)}).SnmpDecodePacket(append([]byte(nil), resp...)); err != nil {
				t.Fatalf("undecodable answer: %v\n% x", err, resp)
			}
		}
	})
}
