package snmp

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
	promtest "github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/panoptes-go/panoptes/internal/ber"
)

// fakeTable answers GETNEXT/GETBULK over a table of n rows of one column
// (.1.3.6.1.2.1.2.2.1.1.i = i), and GET of its rows.
func fakeTable(req *gosnmp.SnmpPacket, n int) *gosnmp.SnmpPacket {
	const col = ".1.3.6.1.2.1.2.2.1.1."
	row := func(i int) gosnmp.SnmpPDU {
		return gosnmp.SnmpPDU{Name: fmt.Sprint(col, i), Type: gosnmp.Integer, Value: i}
	}
	name := req.Variables[0].Name
	if req.PDUType == gosnmp.GetRequest {
		var i int
		if _, err := fmt.Sscanf(strings.TrimPrefix(name, col), "%d", &i); err != nil || i < 1 || i > n {
			return &gosnmp.SnmpPacket{Variables: []gosnmp.SnmpPDU{{Name: name, Type: gosnmp.NoSuchInstance}}}
		}
		return &gosnmp.SnmpPacket{Variables: []gosnmp.SnmpPDU{row(i)}}
	}
	next := 1
	if strings.HasPrefix(name, col) {
		_, _ = fmt.Sscanf(strings.TrimPrefix(name, col), "%d", &next)
		next++
	}
	reps := 1
	if req.PDUType == gosnmp.GetBulkRequest {
		reps = int(req.MaxRepetitions)
	}
	var vbs []gosnmp.SnmpPDU
	for i := next; i < next+reps; i++ {
		if i > n {
			vbs = append(vbs, gosnmp.SnmpPDU{Name: ".1.3.6.1.2.1.2.2.1.2.1", Type: gosnmp.OctetString, Value: []byte("eth0")})
			break
		}
		vbs = append(vbs, row(i))
	}
	return &gosnmp.SnmpPacket{Variables: vbs}
}

// TestIgnoresStaleAndForeignResponses: before each answer the agent sends
// a copy of its previous answer (a late duplicate), an answer with another
// community, one of another version, a request PDU with the right id and
// some garbage. The native client must take only the real answer, without
// retrying.
func TestIgnoresStaleAndForeignResponses(t *testing.T) {
	var mu sync.Mutex
	var prev []byte
	a := startFakeAgentRaw(t, func(req *gosnmp.SnmpPacket) [][]byte {
		answer := marshalAnswer(req, fakeTable(req, 30))
		foreign := func(edit func(p *gosnmp.SnmpPacket)) []byte {
			p := fakeTable(req, 30)
			for i := range p.Variables {
				if p.Variables[i].Type == gosnmp.Integer {
					p.Variables[i].Value = 666
				}
			}
			p.Version, p.Community, p.PDUType, p.RequestID = req.Version, req.Community, gosnmp.GetResponse, req.RequestID
			edit(p)
			b, err := p.MarshalMsg()
			if err != nil {
				panic(err)
			}
			return b
		}
		mu.Lock()
		defer mu.Unlock()
		out := [][]byte{
			foreign(func(p *gosnmp.SnmpPacket) { p.Community = "other" }),
			foreign(func(p *gosnmp.SnmpPacket) { p.Version = gosnmp.Version1 }),
			foreign(func(p *gosnmp.SnmpPacket) { p.PDUType = gosnmp.GetRequest }),
			foreign(func(p *gosnmp.SnmpPacket) { p.RequestID++ }),
			[]byte("not an SNMP message"),
			answer,
		}
		if prev != nil {
			out = append([][]byte{prev}, out...)
		}
		prev = answer
		return out
	})
	p, _, _ := testPool(t, 1)
	tg := v2cTarget(a, a.Community)
	tg.MaxRepetitions = 4
	for range 2 {
		vbs, err := p.Walk(context.Background(), tg, ".1.3.6.1.2.1.2.2.1.1")
		if err != nil {
			t.Fatal(err)
		}
		if len(vbs) != 30 {
			t.Fatalf("walk returned %d rows, want 30", len(vbs))
		}
		for i, vb := range vbs {
			if vb.Value != i+1 {
				t.Fatalf("row %d: %v (a foreign answer was taken)", i, vb)
			}
		}
		vbs, err = p.Get(context.Background(), tg, []string{".1.3.6.1.2.1.2.2.1.1.7"})
		if err != nil || len(vbs) != 1 || vbs[0].Value != 7 {
			t.Fatalf("get: %v, %v", vbs, err)
		}
	}
	if got := promtest.ToFloat64(p.m.retries); got != 0 {
		t.Fatalf("%v retries: ignored datagrams must not cause re-sends", got)
	}
	if got := promtest.ToFloat64(p.m.sessionsOpened); got != 1 {
		t.Fatalf("%v sessions opened, want 1 (reused)", got)
	}
}

// TestMalformedResponse: an answer with the right id that cannot be decoded
// makes the client re-send at once, as gosnmp did; a good answer to the
// re-sent request succeeds, and only malformed answers fail as an internal
// failure.
func TestMalformedResponse(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	goodAfter := 1
	a := startFakeAgentRaw(t, func(req *gosnmp.SnmpPacket) [][]byte {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls > goodAfter {
			return [][]byte{marshalAnswer(req, fakeTable(req, 3))}
		}
		bad := rawVarbind(".1.3.6.1.2.1.2.2.1.1.1", ber.TagInteger, nil) // an empty INTEGER
		return [][]byte{rawResponse(int64(req.RequestID), 0, 0, bad)}
	})
	p, _, _ := testPool(t, 1)
	tg := v2cTarget(a, a.Community)
	tg.Timeout, tg.Retries = 5*time.Second, 2
	start := time.Now()
	vbs, err := p.Get(context.Background(), tg, []string{".1.3.6.1.2.1.2.2.1.1.2"})
	if err != nil || len(vbs) != 1 || vbs[0].Value != 2 || time.Since(start) > 2*time.Second {
		t.Fatalf("got %v, %v after %v; want the re-sent request's answer at once", vbs, err, time.Since(start))
	}
	if got := promtest.ToFloat64(p.m.retries); got != 1 {
		t.Fatalf("retries_total = %v, want 1", got)
	}

	mu.Lock()
	calls, goodAfter = 0, 100
	mu.Unlock()
	_, err = p.Get(context.Background(), tg, []string{".1.3.6.1.2.1.2.2.1.1.2"})
	if KindOf(err) != KindInternal || !strings.Contains(err.Error(), "malformed response") {
		t.Fatalf("got %v (kind %v), want an internal failure naming the malformed response", err, KindOf(err))
	}
	mu.Lock()
	defer mu.Unlock()
	if calls != 3 {
		t.Fatalf("agent saw %d requests, want 1+2 retries", calls)
	}
}

// TestNativeCancellation: a cancelled or expired ctx ends a wait on a
// silent agent at once, with the statuses gosnmp gave.
func TestNativeCancellation(t *testing.T) {
	a := startFakeAgent(t, func(*gosnmp.SnmpPacket) *gosnmp.SnmpPacket { return nil })
	p, _, _ := testPool(t, 1)
	tg := v2cTarget(a, a.Community)
	tg.Timeout, tg.Retries = 5*time.Second, 3

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, err := p.Walk(ctx, tg, oidIfTable)
	if !errors.Is(err, context.Canceled) || KindOf(err) != KindInternal || time.Since(start) > time.Second {
		t.Fatalf("cancel: got %v (kind %v) after %v", err, KindOf(err), time.Since(start))
	}

	ctx, cancel = context.WithTimeout(context.Background(), 80*time.Millisecond)
	defer cancel()
	start = time.Now()
	_, err = p.Get(ctx, tg, []string{oidSysName})
	if KindOf(err) != KindTimeout || time.Since(start) > time.Second {
		t.Fatalf("deadline: got %v (kind %v) after %v", err, KindOf(err), time.Since(start))
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("deadline: %v does not wrap context.DeadlineExceeded", err)
	}
}

// TestGetV1NoSuchName: an SNMPv1 agent fails a whole GET for one missing
// object; the client retries without it and reports it as NoSuchObject.
func TestGetV1NoSuchName(t *testing.T) {
	a := startFakeAgent(t, func(req *gosnmp.SnmpPacket) *gosnmp.SnmpPacket {
		for i, v := range req.Variables {
			if strings.HasSuffix(v.Name, ".99") {
				return &gosnmp.SnmpPacket{Error: gosnmp.NoSuchName, ErrorIndex: uint8(i + 1), Variables: req.Variables}
			}
		}
		vbs := make([]gosnmp.SnmpPDU, len(req.Variables))
		for i, v := range req.Variables {
			vbs[i] = gosnmp.SnmpPDU{Name: v.Name, Type: gosnmp.Gauge32, Value: uint(i + 1000)}
		}
		return &gosnmp.SnmpPacket{Variables: vbs}
	})
	p, _, _ := testPool(t, 1)
	oids := []string{".1.3.6.1.2.1.2.2.1.5.1", ".1.3.6.1.2.1.2.2.1.5.99", ".1.3.6.1.2.1.2.2.1.5.3"}
	vbs, err := p.Get(context.Background(), v1Target(a, a.Community), oids)
	if err != nil {
		t.Fatal(err)
	}
	if len(vbs) != 3 || vbs[1].Name != oids[1] || vbs[1].Type != gosnmp.NoSuchObject ||
		vbs[0].Value != uint(1000) || vbs[2].Value != uint(1001) {
		t.Fatalf("got %v", vbs)
	}
}

// TestIdleSessionMemory: an idle native session holds no receive buffer,
// unlike gosnmp's 64 KiB per session.
func TestIdleSessionMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("runs simulated devices")
	}
	const devices, warm = 120, 20
	farm := startSim(t, devices)
	perSession := func(useGosnmp, connected bool) float64 {
		p := NewPool(PoolOptions{MaxRequestsPerDevice: 1, MaxIdleSessions: devices, ConnectedSockets: connected})
		p.useGosnmp = useGosnmp
		defer p.Close()
		heap := func() uint64 {
			runtime.GC()
			runtime.GC() // and the pools' victim caches
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			return ms.HeapAlloc
		}
		var before uint64
		for i, d := range farm.Devices() {
			if i == warm { // the pool's own first allocations are not per session
				before = heap()
			}
			if _, err := p.Walk(context.Background(), simTarget(d), ".1.3.6.1.2.1.1"); err != nil {
				t.Fatal(err)
			}
		}
		return float64(heap()-before) / (devices - warm)
	}
	shared, native, old := perSession(false, false), perSession(false, true), perSession(true, true)
	t.Logf("heap per idle session: shared socket %.0f B, connected socket %.0f B, gosnmp %.0f B", shared, native, old)
	if shared > 2048 || native > 2048 || old < 64<<10 {
		t.Fatalf("heap per idle session: shared %.0f B, connected %.0f B (want < 2 KiB: nothing retained but the session and its socket), gosnmp %.0f B",
			shared, native, old)
	}
}
