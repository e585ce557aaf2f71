package snmp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
	promtest "github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/panoptes-go/panoptes/internal/testutil/snmpagent"
)

// fakeAgent answers v2c requests with whatever respond returns: it produces
// misbehaviour no real agent here can (loops, tooBig). Real-agent behaviour
// is tested against snmpd and snmpsim.
type fakeAgent struct {
	conn net.PacketConn
	wg   sync.WaitGroup
}

func startFakeAgent(t *testing.T, respond func(req *gosnmp.SnmpPacket) *gosnmp.SnmpPacket) *snmpagent.Agent {
	return startFakeAgentRaw(t, func(req *gosnmp.SnmpPacket) [][]byte {
		resp := respond(req)
		if resp == nil {
			return nil
		}
		return [][]byte{marshalAnswer(req, resp)}
	})
}

// marshalAnswer marshals resp as the Response to req.
func marshalAnswer(req, resp *gosnmp.SnmpPacket) []byte {
	resp.Version, resp.Community, resp.PDUType, resp.RequestID = req.Version, req.Community, gosnmp.GetResponse, req.RequestID
	out, err := resp.MarshalMsg()
	if err != nil {
		panic(err)
	}
	return out
}

// startFakeAgentRaw answers each request with the datagrams respond returns.
func startFakeAgentRaw(t *testing.T, respond func(req *gosnmp.SnmpPacket) [][]byte) *snmpagent.Agent {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeAgent{conn: c}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		dec := &gosnmp.GoSNMP{Version: gosnmp.Version2c}
		buf := make([]byte, 65535)
		for {
			n, from, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			req, err := dec.SnmpDecodePacket(buf[:n])
			if err != nil {
				continue
			}
			for _, out := range respond(req) {
				_, _ = c.WriteTo(out, from)
			}
		}
	}()
	t.Cleanup(func() { _ = c.Close(); f.wg.Wait() })
	return &snmpagent.Agent{Host: "127.0.0.1", Port: c.LocalAddr().(*net.UDPAddr).Port, Community: "public"}
}

func TestWalkDetectsAgentLoop(t *testing.T) {
	a := startFakeAgent(t, func(req *gosnmp.SnmpPacket) *gosnmp.SnmpPacket {
		// Always answers with the same rows: the second response repeats OIDs.
		return &gosnmp.SnmpPacket{Variables: []gosnmp.SnmpPDU{
			{Name: ".1.3.6.1.2.1.2.2.1.1.1", Type: gosnmp.Integer, Value: 1},
			{Name: ".1.3.6.1.2.1.2.2.1.1.2", Type: gosnmp.Integer, Value: 2},
		}}
	})
	p, _, _ := testPool(t, 2)
	_, err := p.Walk(context.Background(), v2cTarget(a, a.Community), oidIfTable)
	if !errors.Is(err, ErrNotIncrease) || KindOf(err) != KindInternal {
		t.Fatalf("got %v (kind %v), want ErrNotIncrease", err, KindOf(err))
	}
	t.Log(err)
}

func TestGetSplitsOnTooBig(t *testing.T) {
	var mu sync.Mutex
	var sizes []int
	a := startFakeAgent(t, func(req *gosnmp.SnmpPacket) *gosnmp.SnmpPacket {
		mu.Lock()
		sizes = append(sizes, len(req.Variables))
		mu.Unlock()
		if len(req.Variables) > 20 {
			return &gosnmp.SnmpPacket{Error: gosnmp.TooBig, Variables: req.Variables}
		}
		vbs := make([]gosnmp.SnmpPDU, len(req.Variables))
		for i, v := range req.Variables {
			vbs[i] = gosnmp.SnmpPDU{Name: v.Name, Type: gosnmp.Counter64, Value: uint64(i)}
		}
		return &gosnmp.SnmpPacket{Variables: vbs}
	})
	p, _, _ := testPool(t, 2)
	oids := make([]string, 130)
	for i := range oids {
		oids[i] = fmt.Sprintf(".1.3.6.1.2.1.31.1.1.1.6.%d", i+1)
	}
	vbs, err := p.Get(context.Background(), v2cTarget(a, a.Community), oids)
	if err != nil {
		t.Fatal(err)
	}
	if len(vbs) != len(oids) {
		t.Fatalf("got %d varbinds for %d OIDs", len(vbs), len(oids))
	}
	for i, vb := range vbs {
		if vb.Name != oids[i] {
			t.Fatalf("varbind %d is %s, want %s", i, vb.Name, oids[i])
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if sizes[0] != MaxOIDsPerGet {
		t.Fatalf("first PDU had %d OIDs, want %d", sizes[0], MaxOIDsPerGet)
	}
	for _, n := range sizes {
		if n > MaxOIDsPerGet {
			t.Fatalf("PDU with %d OIDs", n)
		}
	}
}

func TestAgentErrorStatus(t *testing.T) {
	a := startFakeAgent(t, func(req *gosnmp.SnmpPacket) *gosnmp.SnmpPacket {
		if req.Variables[0].Name == oidSysName {
			return &gosnmp.SnmpPacket{Error: gosnmp.AuthorizationError, ErrorIndex: 1, Variables: req.Variables}
		}
		return &gosnmp.SnmpPacket{Error: gosnmp.GenErr, ErrorIndex: 1, Variables: req.Variables}
	})
	p, _, _ := testPool(t, 2)
	tg := v2cTarget(a, a.Community)
	_, err := p.Get(context.Background(), tg, []string{oidSysName})
	var se *SNMPStatusError
	if KindOf(err) != KindAuth || !errors.As(err, &se) || se.Status != gosnmp.AuthorizationError {
		t.Fatalf("authorizationError: got %v (kind %v)", err, KindOf(err))
	}
	_, err = p.Walk(context.Background(), tg, oidIfTable)
	if KindOf(err) != KindInternal || !errors.As(err, &se) || se.Status != gosnmp.GenErr {
		t.Fatalf("genErr: got %v (kind %v)", err, KindOf(err))
	}
}

func TestKindOf(t *testing.T) {
	cases := []struct {
		err  error
		want Kind
	}{
		{nil, KindOK},
		{gosnmp.ErrUnknownUsername, KindAuth},
		{fmt.Errorf("x: %w", gosnmp.ErrWrongDigest), KindAuth},
		{gosnmp.ErrDecryption, KindAuth},
		{gosnmp.ErrUnknownEngineID, KindAuth},
		{&SNMPStatusError{Status: gosnmp.AuthorizationError}, KindAuth},
		{fmt.Errorf("request timeout (after 1 retries): %w", gosnmp.ErrMaxRetriesExceeded), KindTimeout},
		{context.DeadlineExceeded, KindTimeout},
		{&net.DNSError{Err: "no such host", Name: "x", IsNotFound: true}, KindNetwork},
		{&net.OpError{Op: "read", Err: errors.New("boom")}, KindInternal},
		{context.Canceled, KindInternal},
		{&Error{Device: "d", Op: "get", Kind: KindTimeout, Err: errors.New("x")}, KindTimeout},
		{fmt.Errorf("wrapped: %w", &Error{Kind: KindNetwork, Err: errors.New("x")}), KindNetwork},
	}
	for _, c := range cases {
		if got := KindOf(c.err); got != c.want {
			t.Errorf("KindOf(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}

func TestCompareOID(t *testing.T) {
	cases := []struct {
		a, b string
		want int
	}{
		{".1.3.6.1", ".1.3.6.1", 0},
		{".1.3.6.1", ".1.3.6.1.1", -1},
		{".1.3.6.2", ".1.3.6.10", -1}, // numeric, not lexical
		{".1.3.6.10", ".1.3.6.9", 1},
		{"1.3.6.1.4294967295", ".1.3.6.1.4294967294", 1},
	}
	for _, c := range cases {
		if got := compareOID(c.a, c.b); got != c.want {
			t.Errorf("compareOID(%s, %s) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
	if !inSubtree(".1.3.6.1.2.1.2.2", ".1.3.6.1.2.1.2.2.1.1.1") || inSubtree(".1.3.6.1.2.1.2.2", ".1.3.6.1.2.1.2.20.1") ||
		inSubtree(".1.3.6.1.2.1.2.2", ".1.3.6.1.2.1.2.2") {
		t.Error("inSubtree")
	}
	if normOID("1.3.6.1.") != ".1.3.6.1" || normOID(" .1.3 ") != ".1.3" {
		t.Error("normOID")
	}
}

// TestSilentAgentTimeout: an agent that never answers costs exactly
// (1+retries) × timeout, counted as retries in the metrics.
func TestSilentAgentTimeout(t *testing.T) {
	a := startFakeAgent(t, func(*gosnmp.SnmpPacket) *gosnmp.SnmpPacket { return nil })
	p, _, _ := testPool(t, 2)
	tg := v2cTarget(a, a.Community)
	tg.Timeout, tg.Retries = 50*time.Millisecond, 2
	start := time.Now()
	_, err := p.Get(context.Background(), tg, []string{oidSysName})
	if KindOf(err) != KindTimeout || !errors.Is(err, ErrTimeout) {
		t.Fatalf("got %v", err)
	}
	if took := time.Since(start); took < 150*time.Millisecond || took > time.Second {
		t.Fatalf("3 attempts of 50ms took %v", took)
	}
	if got := promtest.ToFloat64(p.m.retries); got != 2 {
		t.Fatalf("retries_total = %v, want 2", got)
	}
}
