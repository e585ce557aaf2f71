package snmp

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"unsafe"

	promtest "github.com/prometheus/client_golang/prometheus/testutil"
)

// A Target holds its credential by pointer (issue 15): a check keeps its
// resolved Target and every Get and Walk copies one.
func TestTargetSize(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("sizes measured on 64-bit platforms")
	}
	if got := unsafe.Sizeof(Target{}); got > 72 {
		t.Errorf("Sizeof(Target{}) = %d, want at most 72 (the credential by pointer)", got)
	}
}

// The pool matches idle sessions by the credential's contents, not its
// pointer, as when a Target embedded its Credential: an equal credential
// at another address (a reload's) reuses the session, a changed one opens
// another, and so does a credential changed in place after the session
// opened (the session keeps a copy of what it authenticates with).
func TestSessionReuseByCredentialContents(t *testing.T) {
	d := startSim(t, 1).Devices()[0]
	p, _, _ := testPool(t, 1)
	get := func(what string, tg Target, wantOpened float64) {
		t.Helper()
		if _, err := p.Get(context.Background(), tg, []string{oidSysName}); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if got := promtest.ToFloat64(p.m.sessionsOpened); got != wantOpened {
			t.Fatalf("%s: %v sessions opened, want %v", what, got, wantOpened)
		}
	}
	cred := &Credential{Version: "2c", Community: "public"}
	tg := simTarget(d)
	tg.Credential = cred
	get("first", tg, 1)
	get("same pointer", tg, 1)

	reloaded := tg
	reloaded.Credential = &Credential{Version: "2c", Community: "public"}
	get("an equal credential at another address", reloaded, 1)

	cred.Version = "1" // in place: the session opened for it speaks v2c
	get("the credential changed in place", tg, 2)

	changed := tg
	changed.Credential = &Credential{Version: "1", Community: "public"}
	get("a changed credential, equal to the one changed in place", changed, 2)
	cred.Version = "2c"
	get("back to v2c", tg, 2)

	renamed := reloaded
	renamed.CredentialName = "other"
	get("another credential name", renamed, 3)
}

// A Target without a credential fails its requests with ErrNoCredential,
// an internal failure, and does not panic.
func TestNilCredential(t *testing.T) {
	d := startSim(t, 1).Devices()[0]
	p, _, _ := testPool(t, 1)
	tg := simTarget(d)
	tg.Credential, tg.CredentialName = nil, "missing"
	for _, tg := range []Target{tg, {}} {
		_, err := p.Get(context.Background(), tg, []string{oidSysName})
		if !errors.Is(err, ErrNoCredential) || KindOf(err) != KindInternal {
			t.Errorf("Get %v: %v (kind %v), want ErrNoCredential", tg, err, KindOf(err))
		}
		if _, err := p.Walk(context.Background(), tg, oidIfTable); !errors.Is(err, ErrNoCredential) {
			t.Errorf("Walk %v: %v, want ErrNoCredential", tg, err)
		}
		if _, err := newGoSNMP(tg); !errors.Is(err, ErrNoCredential) {
			t.Errorf("newGoSNMP %v: %v, want ErrNoCredential", tg, err)
		}
		_ = fmt.Sprintf("%v %+v %#v %s", tg, tg, tg, tg.Credential) // no panic
	}
}
