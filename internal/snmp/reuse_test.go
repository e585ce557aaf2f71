package snmp

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
	promtest "github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/panoptes-go/panoptes/internal/ber"
)

// A native session that timed out (its ctx's deadline, or every attempt)
// is reused: the late answers it then reads are dropped by request id and
// the next request gets its own answer. A cancelled one is closed.
func TestTimedOutSessionIsReused(t *testing.T) {
	var mu sync.Mutex
	var unanswered []*gosnmp.SnmpPacket
	silent := 2 // requests not answered in time
	a := startFakeAgentRaw(t, func(req *gosnmp.SnmpPacket) [][]byte {
		mu.Lock()
		defer mu.Unlock()
		if silent > 0 {
			silent--
			unanswered = append(unanswered, req)
			return nil
		}
		// Late answers to the timed-out requests first, then this one's.
		var out [][]byte
		for _, old := range unanswered {
			out = append(out, marshalAnswer(old, &gosnmp.SnmpPacket{Variables: []gosnmp.SnmpPDU{
				{Name: oidSysName, Type: gosnmp.OctetString, Value: []byte("stale")}}}))
		}
		unanswered = unanswered[:0]
		return append(out, marshalAnswer(req, &gosnmp.SnmpPacket{Variables: []gosnmp.SnmpPDU{
			{Name: oidSysName, Type: gosnmp.OctetString, Value: []byte("fresh")}}}))
	})
	p, _, _ := testPool(t, 1)
	tg := v2cTarget(a, a.Community)
	tg.Timeout, tg.Retries = 300*time.Millisecond, 0 // one target: one session

	// 1: the ctx's deadline passes first.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	_, err := p.Get(ctx, tg, []string{oidSysName})
	cancel()
	if KindOf(err) != KindTimeout || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ctx deadline: got %v (kind %v)", err, KindOf(err))
	}
	// 2: the request's own timeout, no ctx deadline.
	if _, err := p.Get(context.Background(), tg, []string{oidSysName}); KindOf(err) != KindTimeout {
		t.Fatalf("request timeout: got %v (kind %v)", err, KindOf(err))
	}
	// 3: answered, after the two late answers.
	vbs, err := p.Get(context.Background(), tg, []string{oidSysName})
	if err != nil || len(vbs) != 1 || string(vbs[0].Value.([]byte)) != "fresh" {
		t.Fatalf("after timeouts: %v, %v (want the fresh answer, not a late one)", vbs, err)
	}
	if got := promtest.ToFloat64(p.m.sessionsOpened); got != 1 {
		t.Fatalf("sessions opened: %v, want 1 (a timed-out session is reused)", got)
	}
	if got := promtest.ToFloat64(p.m.strays); got != 2 {
		t.Fatalf("stray datagrams: %v, want the 2 late answers", got)
	}

	// A cancellation closes the socket: the session is discarded.
	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	mu.Lock()
	silent = 1
	mu.Unlock()
	if _, err := p.Get(ctx, tg, []string{oidSysName}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancel: got %v", err)
	}
	if got := promtest.ToFloat64(p.m.sessionsOpen); got != 0 {
		t.Fatalf("sessions open after a cancellation: %v, want 0", got)
	}
}

// The watch of an operation's ctx closes the socket on a cancellation but
// not when the deadline passes (reads end at the deadline by themselves):
// here the deadline passes with no read in progress.
func TestWatchClosesOnCancelOnly(t *testing.T) {
	a := startFakeAgent(t, func(req *gosnmp.SnmpPacket) *gosnmp.SnmpPacket {
		return &gosnmp.SnmpPacket{Variables: []gosnmp.SnmpPDU{{Name: oidSysName, Type: gosnmp.OctetString, Value: []byte("x")}}}
	})
	tg := v2cTarget(a, a.Community)
	c, err := dialV2(context.Background(), tg, false, newMetrics(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	get := func() error {
		_, _, err := c.roundTrip(context.Background(), &request{pdu: ber.PDUGet, oids: []string{oidSysName}}, nil)
		return err
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	c.watch(ctx)
	<-ctx.Done()
	time.Sleep(50 * time.Millisecond) // onDone has run
	if !c.unwatch() {
		t.Fatal("unwatch after the deadline reports a closed socket")
	}
	if err := get(); err != nil {
		t.Fatalf("the socket was closed at the deadline: %v", err)
	}

	ctx, cancel = context.WithCancel(context.Background())
	c.watch(ctx)
	cancel()
	time.Sleep(50 * time.Millisecond)
	if c.unwatch() {
		t.Fatal("unwatch after a cancellation reports an open socket")
	}
	if err := get(); err == nil {
		t.Fatal("the socket is still open after a cancellation")
	}
}
