package snmp

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
	promtest "github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/panoptes-go/panoptes/internal/testutil/snmpagent"
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

// idleWithCred counts the pool's idle sessions whose credential is c (by
// contents, as the pool matches them).
func idleWithCred(p *Pool, c Credential) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, d := range p.devices {
		for _, s := range d.idle {
			if s.target.Credential != nil && *s.target.Credential == c {
				n++
			}
		}
	}
	return n
}

// A v3 rotation against real net-snmp agents, as an operator does it: the
// same user keeps its name and the passphrases change, on the agents
// (snmpusm passwd) and in the config (a reload, which calls Retain with the
// new credentials). The sessions of the old passphrases close at Retain
// although user name, level and protocols are unchanged (the pool compares
// the keys too); the new ones poll; the old ones, still used by a target
// resolved before the reload (or reused from the pool before it), are
// refused by the agent as an authentication failure (a polling status)
// within the request's timeout, not a hang, and leave no session behind;
// a user still configured keeps its session; no passphrase is logged.
func TestRetainRotatedV3OnSnmpd(t *testing.T) {
	integration(t)
	snmpagent.Need(t, "snmpd", "snmpusm")
	admin := snmpagent.V3User{Name: "panoptes-admin", Level: "authPriv",
		AuthProto: "SHA", AuthPass: "admin-auth-pass", PrivProto: "AES", PrivPass: "admin-priv-pass"}
	user := snmpagent.V3User{Name: "panoptes-rotated", AuthPass: secret + "-auth-1", PrivPass: secret + "-priv-1"}
	var agents []*snmpagent.Agent
	for range 3 {
		a := snmpagent.StartSnmpdWith(t, snmpagent.SnmpdOptions{Admin: admin, Managed: []string{user.Name}})
		user = a.CreateUser(t, admin, user)
		agents = append(agents, a)
	}
	kept := agents[0].V3["panoptes-sha-aes"] // a user the reload leaves alone
	p, logs, _ := testPool(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	get := func(a *snmpagent.Agent, u snmpagent.V3User) error {
		_, err := p.Get(ctx, v3Target(a, u), []string{oidSysName})
		return err
	}
	cred := func(u snmpagent.V3User) Credential { return *v3Target(agents[0], u).Credential }
	for _, a := range agents {
		if err := get(a, user); err != nil {
			t.Fatalf("poll %s with the first passphrases: %v", a.Addr(), err)
		}
	}
	if err := get(agents[0], kept); err != nil {
		t.Fatal(err)
	}
	oldCred := cred(user)
	if n := idleWithCred(p, oldCred); n != 3 {
		t.Fatalf("%d idle sessions with the first passphrases, want 3 (one per agent)", n)
	}

	// The operator rotates the passphrases on the agents ...
	var rotated snmpagent.V3User
	for _, a := range agents {
		rotated = a.Passwd(t, admin, user, secret+"-auth-2", secret+"-priv-2")
	}
	newCred := cred(rotated)
	// ... and a poll due before the reload reuses its pooled session: the
	// agent refuses the old keys, the device gets a status, the session goes.
	refused := func(a *snmpagent.Agent) {
		t.Helper()
		start := time.Now()
		err := get(a, user)
		if took := time.Since(start); took > 5*time.Second { // the target's timeout is 1 s, 1 retry
			t.Errorf("a poll with the old passphrases on %s took %v", a.Addr(), took)
		}
		if err != nil && strings.Contains(err.Error(), secret) {
			t.Errorf("a passphrase in the error: %v", err)
		}
		if KindOf(err) != KindAuth {
			t.Errorf("a poll with the old passphrases on %s: %v (kind %v), want an authentication failure", a.Addr(), err, KindOf(err))
		}
	}
	opened := promtest.ToFloat64(p.m.sessionsOpened)
	refused(agents[2])
	if got := promtest.ToFloat64(p.m.sessionsOpened); got != opened {
		t.Errorf("the refused poll opened %v sessions, want 0: the pooled one is the case here", got-opened)
	}
	if n := idleWithCred(p, oldCred); n != 2 {
		t.Fatalf("%d idle sessions with the old passphrases after one was refused, want 2", n)
	}
	open := promtest.ToFloat64(p.m.sessionsOpen)

	// ... and in the config: the reload's Retain closes the two left.
	p.Retain([]*Credential{&newCred, new(cred(kept))})
	if n := idleWithCred(p, oldCred); n != 0 {
		t.Errorf("%d idle sessions with the old passphrases after Retain, want 0", n)
	}
	if got := promtest.ToFloat64(p.m.sessionsOpen); got != open-2 {
		t.Errorf("%v sessions open after Retain, want %v", got, open-2)
	}
	if !strings.Contains(logs.String(), "sessions=2") {
		t.Errorf("Retain did not log that it closed 2 sessions:\n%s", logs.String())
	}
	opened = promtest.ToFloat64(p.m.sessionsOpened)
	if err := get(agents[0], kept); err != nil {
		t.Fatal(err)
	}
	if got := promtest.ToFloat64(p.m.sessionsOpened); got != opened {
		t.Errorf("the session of a user the reload kept was not reused")
	}
	for _, a := range agents {
		if err := get(a, rotated); err != nil {
			t.Errorf("poll %s with the new passphrases: %v", a.Addr(), err)
		}
	}
	if n := idleWithCred(p, newCred); n != 3 {
		t.Errorf("%d idle sessions with the new passphrases, want 3", n)
	}
	refused(agents[0]) // a target resolved before the reload: a new session, refused
	if n := idleWithCred(p, oldCred); n != 0 {
		t.Errorf("%d idle sessions with the old passphrases at the end, want 0", n)
	}
	if got := promtest.ToFloat64(p.m.sessionsOpen); got != 4 {
		t.Errorf("%v sessions open at the end, want 4 (3 new passphrases, 1 kept user)", got)
	}
	if strings.Contains(logs.String(), secret) {
		t.Errorf("a passphrase reached the logs:\n%s", logs.String())
	}
}
