package snmp

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
	promtest "github.com/prometheus/client_golang/prometheus/testutil"
)

// idleWith counts the pool's idle sessions whose community is community.
func idleWith(p *Pool, community string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, d := range p.devices {
		for _, s := range d.idle {
			if s.target.Credential.Community == community {
				n++
			}
		}
	}
	return n
}

// After Retain with the new credentials (a reload rotated the community),
// no session with the old one stays: the idle ones close at once, the one
// in use finishes its request and closes instead of going idle, and one
// opened later for a target resolved before the reload closes after its
// request too. Sessions of a credential still configured stay; no secret
// reaches the logs.
func TestRetainClosesRotatedCredentials(t *testing.T) {
	oldCommunity, newCommunity := secret+"-old", secret+"-new"
	answer := func(req *gosnmp.SnmpPacket) *gosnmp.SnmpPacket {
		return &gosnmp.SnmpPacket{Variables: []gosnmp.SnmpPDU{{Name: req.Variables[0].Name, Type: gosnmp.OctetString, Value: []byte("x")}}}
	}
	idle := startFakeAgent(t, answer)
	arrived, proceed := make(chan struct{}), make(chan struct{})
	var first atomic.Bool
	busy := startFakeAgent(t, func(req *gosnmp.SnmpPacket) *gosnmp.SnmpPacket {
		if first.CompareAndSwap(false, true) { // the first request waits for proceed
			close(arrived)
			<-proceed
		}
		return answer(req)
	})
	p, logs, _ := testPool(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	get := func(a Target, community string) error {
		a.Credential = &Credential{Version: "2c", Community: community}
		a.Timeout = 10 * time.Second
		_, err := p.Get(ctx, a, []string{oidSysDescr})
		return err
	}
	for _, c := range []string{oldCommunity, newCommunity} {
		if err := get(v2cTarget(idle, ""), c); err != nil {
			t.Fatal(err)
		}
	}
	inFlight := make(chan error, 1)
	go func() { inFlight <- get(v2cTarget(busy, ""), oldCommunity) }()
	<-arrived
	if n := idleWith(p, oldCommunity); n != 1 {
		t.Fatalf("%d idle sessions with the old community before the reload, want 1", n)
	}

	p.Retain([]*Credential{{Version: "2c", Community: newCommunity}})
	if n := idleWith(p, oldCommunity); n != 0 {
		t.Errorf("%d idle sessions with the old community after Retain, want 0", n)
	}
	if open := promtest.ToFloat64(p.m.sessionsOpen); open != 2 { // the new community's idle one, the one in use
		t.Errorf("%v sessions open after Retain, want 2", open)
	}
	close(proceed)
	if err := <-inFlight; err != nil {
		t.Errorf("the request in flight during Retain failed: %v", err)
	}
	if n := idleWith(p, oldCommunity); n != 0 {
		t.Errorf("the session in use during Retain went idle with the old community")
	}
	if err := get(v2cTarget(busy, ""), oldCommunity); err != nil { // a target resolved before the reload
		t.Fatal(err)
	}
	if n := idleWith(p, oldCommunity); n != 0 {
		t.Errorf("a session opened after Retain with the old community went idle")
	}
	opened := promtest.ToFloat64(p.m.sessionsOpened)
	if err := get(v2cTarget(idle, ""), newCommunity); err != nil {
		t.Fatal(err)
	}
	if got := promtest.ToFloat64(p.m.sessionsOpened); got != opened || idleWith(p, newCommunity) != 1 {
		t.Errorf("the idle session of a credential still configured was not reused (%v opened, was %v)", got, opened)
	}
	if open := promtest.ToFloat64(p.m.sessionsOpen); open != 1 {
		t.Errorf("%v sessions open, want the new community's only", open)
	}
	if strings.Contains(logs.String(), secret) {
		t.Errorf("a community reached the logs:\n%s", logs.String())
	}
}
