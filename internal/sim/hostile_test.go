package sim

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/panoptes-go/panoptes/internal/ber"
)

// bulk is a v2c GETBULK of oids with max-repetitions reps.
func bulk(reps uint32, oids ...string) *gosnmp.SnmpPacket {
	p := v2req(gosnmp.GetBulkRequest, oids...)
	p.MaxRepetitions = reps
	return p
}

// hostileDev is switch48 misbehaving as h says.
func hostileDev(t *testing.T, h Hostile) *Device {
	t.Helper()
	d := testDevice(t, builtins["switch48"](), newTestClock())
	d.SetHostile(h)
	return d
}

func names(p *gosnmp.SnmpPacket) []string {
	out := make([]string, len(p.Variables))
	for i, v := range p.Variables {
		out[i] = v.Name
	}
	return out
}

func TestHostileWrongRequestIDAndTruncate(t *testing.T) {
	p := exchange(t, hostileDev(t, Hostile{WrongRequestID: true}), v2req(gosnmp.GetRequest, ".1.3.6.1.2.1.1.5.0"))
	if p.RequestID != 4712 || len(p.Variables) != 1 {
		t.Errorf("wrong request id: answered id %d with %d varbinds, want 4712 (the request's 4711 + 1)", p.RequestID, len(p.Variables))
	}
	d := hostileDev(t, Hostile{Truncate: true})
	b, _ := v2req(gosnmp.GetRequest, ".1.3.6.1.2.1.1.1.0").MarshalMsg()
	whole, _, _ := testDevice(t, builtins["switch48"](), newTestClock()).handle(new(scratch), b, new(int), 0)
	half, _, why := d.handle(new(scratch), b, new(int), 0)
	if why != answered || len(half) != len(whole)/2 || string(half) != string(whole[:len(half)]) {
		t.Errorf("truncate: %d of %d octets (reason %d), want the first half", len(half), len(whole), why)
	}
	if _, _, _, ok := ber.ReadTLV(half, 0); ok {
		t.Error("a truncated answer still reads as a whole message")
	}
}

func TestHostileWalks(t *testing.T) {
	// Stuck: the answer repeats the entry asked for.
	p := exchange(t, hostileDev(t, Hostile{Stuck: true}), bulk(5, ".1.3.6.1.2.1.2.2.1.2.10101"))
	for _, n := range names(p) {
		if n != ".1.3.6.1.2.1.2.2.1.2.10101" {
			t.Fatalf("stuck: %v, want the requested OID every time", names(p))
		}
	}
	// LoopEvery: OIDs go back every 4 entries.
	p = exchange(t, hostileDev(t, Hostile{LoopEvery: 4}), bulk(12, ".1.3.6.1.2.1.2.2.1.2"))
	back := 0
	for i := 1; i < len(p.Variables); i++ {
		a, _ := ber.ParseOID(p.Variables[i-1].Name)
		b, _ := ber.ParseOID(p.Variables[i].Name)
		if ber.CompareArcs(a, b) >= 0 {
			back++
		}
	}
	if len(p.Variables) != 12 || back < 2 {
		t.Errorf("loop: %d varbinds going back %d times: %v", len(p.Variables), back, names(p))
	}
	// Oversize: a GETBULK asking for 10 rows gets a datagram's worth.
	d := hostileDev(t, Hostile{Oversize: true})
	b, _ := bulk(10, ".1.3.6.1.2.1").MarshalMsg()
	resp, n, _ := d.handle(new(scratch), b, new(int), 0)
	if n < 1000 || len(resp) < 40_000 || len(resp) > DefaultMaxMsgSize {
		t.Errorf("oversize: %d varbinds in %d octets; want over 1000, up to %d octets", n, len(resp), DefaultMaxMsgSize)
	}
}

// TestHostileTable: the synthetic ifTable replaces the recorded one, with
// every column and row in order, and the walk goes on past it into the
// recording.
func TestHostileTable(t *testing.T) {
	const rows = 1000
	d := hostileDev(t, Hostile{TableRows: rows})
	cur := ".1.3.6.1.2.1.2.2"
	var got []string
	for {
		p := exchange(t, d, bulk(97, cur))
		done := false
		for _, v := range p.Variables {
			if !strings.HasPrefix(v.Name, ".1.3.6.1.2.1.2.2.1.") {
				done = true
				break
			}
			got = append(got, v.Name)
		}
		if done {
			break
		}
		cur = got[len(got)-1]
	}
	if len(got) != rows*tableColumns || got[0] != ".1.3.6.1.2.1.2.2.1.1.1" || got[len(got)-1] != fmt.Sprintf(".1.3.6.1.2.1.2.2.1.22.%d", rows) {
		t.Fatalf("%d entries from %s to %s; want %d", len(got), got[0], got[len(got)-1], rows*tableColumns)
	}
	p := exchange(t, d, v2req(gosnmp.GetNextRequest, fmt.Sprintf(".1.3.6.1.2.1.2.2.1.22.%d", rows)))
	if a, _ := ber.ParseOID(p.Variables[0].Name); ber.CompareArcs(a, tableEnd) < 0 {
		t.Errorf("after the table: %s is still inside it", p.Variables[0].Name)
	}
	p = exchange(t, d, v2req(gosnmp.GetNextRequest, ".1.3.6.1.2.1.2.2.1.2.7"))
	if v := p.Variables[0]; v.Name != ".1.3.6.1.2.1.2.2.1.2.8" || string(v.Value.([]byte)) != "synthetic8" {
		t.Errorf("ifDescr.8 = %s %v", v.Name, v.Value)
	}
}

// TestHostileAnswerEvery: over UDP, a device answering one request in ten
// answers three of thirty, and counts the rest as lost.
func TestHostileAnswerEvery(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	farm, err := Start(ctx, Options{Devices: 1, Templates: []string{"switch48"}})
	if err != nil {
		t.Fatal(err)
	}
	defer farm.Close()
	d := farm.Devices()[0]
	d.SetHostile(Hostile{AnswerEvery: 10})
	conn, err := net.Dial("udp", d.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for i := range 30 {
		req := v2req(gosnmp.GetRequest, ".1.3.6.1.2.1.1.5.0")
		req.RequestID = uint32(1000 + i)
		b, _ := req.MarshalMsg()
		if _, err := conn.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	answered := 0
	buf := make([]byte, 65536)
	_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	for {
		n, err := conn.Read(buf)
		if err != nil {
			break
		}
		if _, err := (&gosnmp.GoSNMP{Version: gosnmp.Version2c, Logger: gosnmp.NewLogger(nil)}).SnmpDecodePacket(buf[:n]); err != nil {
			t.Fatal(err)
		}
		answered++
	}
	if st := d.Stats(); answered != 3 || st.Lost != 27 {
		t.Errorf("answered %d of 30 (lost %d), want 3 (27)", answered, st.Lost)
	}
}
