package poll

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/snmp"
)

func snmpOptions() SNMPOptions {
	return SNMPOptions{
		Timeout: 2 * time.Second, Retries: 2, MaxRepetitions: 10,
		Credential: "default",
		Credentials: map[string]*snmp.Credential{
			"default": {Version: "2c", Community: secret},
			"v3":      {Version: "3", Username: "u", SecurityLevel: "authPriv", AuthProtocol: "SHA", AuthPassphrase: secret, PrivProtocol: "AES", PrivPassphrase: secret},
			"broken":  {Version: "3", Username: "u", SecurityLevel: "authPriv", AuthProtocol: "SHA", AuthPassphrase: secret, PrivProtocol: "3DES", PrivPassphrase: secret},
		},
	}
}

func TestTargetFor(t *testing.T) {
	cases := []struct {
		endpoint  string
		meta      map[string]string
		wantAddr  string
		wantCred  string
		wantError string // substring; "" means success
	}{
		{endpoint: "sw1.example.com", wantAddr: "sw1.example.com:161", wantCred: "default"},
		{endpoint: "10.0.0.1:1161", wantAddr: "10.0.0.1:1161", wantCred: "default"},
		{endpoint: "[2001:db8::1]:1161", wantAddr: "[2001:db8::1]:1161", wantCred: "default"},
		{endpoint: "2001:db8::1", wantAddr: "[2001:db8::1]:161", wantCred: "default"},
		{endpoint: "[2001:db8::1]", wantAddr: "[2001:db8::1]:161", wantCred: "default"},
		{endpoint: "10.0.0.1:1161", meta: map[string]string{"snmp_port": "16100"}, wantAddr: "10.0.0.1:16100", wantCred: "default"},
		{endpoint: "sw1", meta: map[string]string{"snmp_credential": "v3"}, wantAddr: "sw1:161", wantCred: "v3"},
		{endpoint: "sw1", meta: map[string]string{"snmp_port": "http"}, wantError: `metadata snmp_port "http"`},
		{endpoint: "sw1", meta: map[string]string{"snmp_port": "70000"}, wantError: "snmp_port"},
		{endpoint: "sw1", meta: map[string]string{"snmp_credential": "nope"}, wantError: `metadata snmp_credential names unknown credential "nope" (known: broken, default, v3)`},
		{endpoint: "sw1", meta: map[string]string{"snmp_credential": "broken"}, wantError: `credential "broken": priv_protocol: "3DES" is not one of`},
		{endpoint: "sw1:0", wantError: "resource_endpoint"},
		{endpoint: "sw1:abc", wantError: "resource_endpoint"},
		{endpoint: "[zz]:161", wantError: "resource_endpoint"},
		{endpoint: " ", wantError: "resource_endpoint"},
		{endpoint: "999.1.1.1:abc", wantError: `resource_endpoint "999.1.1.1:abc": host "999.1.1.1" is not a valid IPv4 address`},
		{endpoint: ":161", wantError: `resource_endpoint ":161": empty host`},
	}
	for _, c := range cases {
		r := &resource.Resource{ID: "dev-1", Endpoint: c.endpoint, Metadata: c.meta}
		tg, err := TargetFor(r, snmpOptions())
		if c.wantError != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantError) || !strings.Contains(err.Error(), `resource "dev-1"`) {
				t.Errorf("%q %v: got %v, want error containing %q and the resource id", c.endpoint, c.meta, err, c.wantError)
			}
			if err != nil && strings.Contains(err.Error(), secret) {
				t.Errorf("error leaks a secret: %v", err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q %v: %v", c.endpoint, c.meta, err)
			continue
		}
		if tg.Addr() != c.wantAddr || tg.CredentialName != c.wantCred {
			t.Errorf("%q %v: got %s cred %s, want %s cred %s", c.endpoint, c.meta, tg.Addr(), tg.CredentialName, c.wantAddr, c.wantCred)
		}
		if tg.Timeout != 2*time.Second || tg.Retries != 2 || tg.MaxRepetitions != 10 {
			t.Errorf("%q: defaults from config not applied: %+v", c.endpoint, tg)
		}
		if strings.Contains(tg.String(), secret) {
			t.Errorf("Target.String leaks a secret: %s", tg)
		}
	}
}

func TestTargetForDefaults(t *testing.T) {
	cfg := SNMPOptions{Credential: "c", Credentials: map[string]*snmp.Credential{"c": {Version: "1", Community: "x"}}}
	tg, err := TargetFor(&resource.Resource{ID: "d", Endpoint: "h"}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if tg.Port != snmp.DefaultPort || tg.Timeout != snmp.DefaultTimeout || tg.Retries != 0 || tg.MaxRepetitions != snmp.DefaultMaxRepetitions {
		t.Fatalf("built-in defaults not applied: %+v", tg)
	}
	cfg.Port = 1161
	if tg, _ = TargetFor(&resource.Resource{ID: "d", Endpoint: "h"}, cfg); tg.Port != 1161 {
		t.Fatalf("snmp.port not applied: %d", tg.Port)
	}
	cfg.Credential = ""
	if _, err := TargetFor(&resource.Resource{ID: "d", Endpoint: "h"}, cfg); err == nil || !strings.Contains(err.Error(), "snmp.credential") {
		t.Fatalf("no credential: got %v", err)
	}
	cfg.Credential, cfg.Retries = "c", -1
	if _, err := TargetFor(&resource.Resource{ID: "d", Endpoint: "h"}, cfg); err == nil || !strings.Contains(err.Error(), "snmp.retries") {
		t.Fatalf("negative retries: got %v", err)
	}
}

// The targets of one named credential share its *snmp.Credential (issue
// 15: no copy of it per device); options with a changed credential (a
// reload) give targets another. A name with no credential is an error.
func TestTargetForSharesCredential(t *testing.T) {
	o := snmpOptions()
	sw1, err1 := TargetFor(&resource.Resource{ID: "sw1", Endpoint: "10.0.0.1"}, o)
	sw2, err2 := TargetFor(&resource.Resource{ID: "sw2", Endpoint: "10.0.0.2"}, o)
	v3, err3 := TargetFor(&resource.Resource{ID: "sw3", Endpoint: "10.0.0.3", Metadata: map[string]string{MetaCredential: "v3"}}, o)
	if err := errors.Join(err1, err2, err3); err != nil {
		t.Fatal(err)
	}
	if sw1.Credential != o.Credentials["default"] || sw2.Credential != sw1.Credential {
		t.Error("two targets of one named credential do not share its *Credential")
	}
	if v3.Credential != o.Credentials["v3"] {
		t.Error("a target of credential v3 does not hold it")
	}

	reloaded := snmpOptions()
	reloaded.Credentials["default"].Community = "rotated"
	again, err := TargetFor(&resource.Resource{ID: "sw1", Endpoint: "10.0.0.1"}, reloaded)
	if err != nil {
		t.Fatal(err)
	}
	if again.Credential == sw1.Credential || again.Credential.Community != "rotated" || sw1.Credential.Community != secret {
		t.Error("a reloaded credential changed the targets resolved before it")
	}

	o.Credentials["empty"] = nil
	_, err = TargetFor(&resource.Resource{ID: "sw1", Endpoint: "10.0.0.1", Metadata: map[string]string{MetaCredential: "empty"}}, o)
	if !errors.Is(err, snmp.ErrNoCredential) || !strings.Contains(err.Error(), `credential "empty"`) {
		t.Errorf("a nil credential: %v, want ErrNoCredential naming it", err)
	}
}

// BenchmarkTargetBytesPerCheck reports the heap the resolved SNMP targets
// of 10,000 checks keep (target-B/check): one target a check, built by
// TargetFor for 10,000 devices of one named credential, as each check's
// resolved keeps its own.
//
//	go test -run '^$' -bench TargetBytes -benchtime 3x ./internal/poll
func BenchmarkTargetBytesPerCheck(b *testing.B) {
	const n = 10_000
	opts := snmpOptions()
	res := make([]*resource.Resource, n)
	for i := range res {
		res[i] = &resource.Resource{Site: "bench", Class: "network", Subclass: "switch", Type: "cisco",
			ID: fmt.Sprintf("switch48-%05d", i), Endpoint: fmt.Sprintf("10.1.%d.%d", i/256, i%256)}
		res[i].Freeze()
	}
	var perCheck float64
	for b.Loop() {
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		targets := make([]snmp.Target, n)
		for i, r := range res {
			t, err := TargetFor(r, opts)
			if err != nil {
				b.Fatal(err)
			}
			targets[i] = t
		}
		runtime.GC()
		runtime.ReadMemStats(&m1)
		perCheck = (float64(m1.HeapAlloc) - float64(m0.HeapAlloc)) / n
		runtime.KeepAlive(targets)
	}
	b.ReportMetric(perCheck, "target-B/check")
}
