package snmp

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestCredentialValidate(t *testing.T) {
	v3 := func(f func(*Credential)) Credential {
		c := Credential{Version: "3", Username: "u", SecurityLevel: "authPriv",
			AuthProtocol: "SHA", AuthPassphrase: secret, PrivProtocol: "AES", PrivPassphrase: secret}
		f(&c)
		return c
	}
	cases := []struct {
		name string
		c    Credential
		want string // error substring, "" = valid
	}{
		{"v1", Credential{Version: "1", Community: secret}, ""},
		{"v2c", Credential{Version: "2c", Community: secret}, ""},
		{"v2c no community", Credential{Version: "2c"}, "community: is empty"},
		{"bad version", Credential{Version: "2", Community: secret}, `version: "2" is not one of: 1, 2c, 3`},
		{"v3 authPriv", v3(func(*Credential) {}), ""},
		{"v3 net-snmp spellings", v3(func(c *Credential) { c.AuthProtocol, c.PrivProtocol = "SHA-256", "AES-256" }), ""},
		{"v3 lower case", v3(func(c *Credential) {
			c.SecurityLevel, c.AuthProtocol, c.PrivProtocol = "authpriv", "sha512", "aes192c"
		}), ""},
		{"v3 noAuthNoPriv", Credential{Version: "3", Username: "u", SecurityLevel: "noAuthNoPriv"}, ""},
		{"v3 authNoPriv", v3(func(c *Credential) { c.SecurityLevel, c.PrivProtocol = "authNoPriv", "" }), ""},
		{"v3 no user", v3(func(c *Credential) { c.Username = "" }), "username: is empty"},
		{"v3 bad level", v3(func(c *Credential) { c.SecurityLevel = "priv" }), `security_level: "priv" is not one of: noAuthNoPriv, authNoPriv, authPriv`},
		{"v3 bad auth", v3(func(c *Credential) { c.AuthProtocol = "SHA1024" }), `auth_protocol: "SHA1024" is not one of: MD5, SHA`},
		{"v3 short auth pass", v3(func(c *Credential) { c.AuthPassphrase = "short" }), "auth_passphrase: must be at least 8"},
		{"v3 bad priv", v3(func(c *Credential) { c.PrivProtocol = "3DES" }), `priv_protocol: "3DES" is not one of: DES, AES, AES192, AES256`},
		{"v3 no priv pass", v3(func(c *Credential) { c.PrivPassphrase = "" }), "priv_passphrase: must be at least 8"},
	}
	for _, c := range cases {
		err := c.c.Validate()
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		case err != nil && strings.Contains(err.Error(), secret):
			t.Errorf("%s: error leaks a secret: %v", c.name, err)
		}
	}
}

// TestCredentialProblems: every problem is listed with its field (the
// config reports each under its own key), including fields of the other
// version, and Validate names them all.
func TestCredentialProblems(t *testing.T) {
	c := Credential{Version: "3", Community: secret, SecurityLevel: "authPriv", AuthProtocol: "SHA-1024", PrivProtocol: "AES", PrivPassphrase: "short"}
	var fields []string
	for _, p := range c.Problems() {
		fields = append(fields, p.Field)
		if strings.Contains(p.Msg, secret) || strings.Contains(p.Msg, "short") {
			t.Errorf("problem leaks a secret: %v", p)
		}
	}
	if got, want := strings.Join(fields, ","), "username,community,auth_protocol,auth_passphrase,priv_passphrase"; got != want {
		t.Errorf("problem fields %s, want %s", got, want)
	}
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), "username: is empty") || !strings.Contains(err.Error(), "; priv_passphrase: must be at least 8 characters") {
		t.Errorf("Validate: %v", err)
	}
	v2 := Credential{Version: "2c", Community: secret, Username: "u"}
	if ps := v2.Problems(); len(ps) != 1 || ps[0].Field != "version" || !strings.Contains(ps[0].Msg, "v3 fields are set") {
		t.Errorf("v2c with a user name: %v", ps)
	}
}

// A credential formats without its secrets whichever way it is printed.
func TestCredentialHidesSecrets(t *testing.T) {
	var logs strings.Builder
	log := slog.New(slog.NewTextHandler(&logs, nil))
	for _, c := range []Credential{
		{Version: "2c", Community: secret},
		{Version: "3", Username: "u", SecurityLevel: "authPriv", AuthProtocol: "SHA", AuthPassphrase: secret, PrivProtocol: "AES", PrivPassphrase: secret},
	} {
		tg := Target{Host: "sw1", Port: 161, Credential: &c, CredentialName: "lab"}
		log.Info("x", "cred", c, "credptr", tg.Credential, "target", tg)
		for _, s := range []string{c.String(), fmt.Sprintf("%v %+v %#v %s", c, c, c, c),
			fmt.Sprintf("%v %+v %#v %s", tg.Credential, tg.Credential, tg.Credential, tg.Credential),
			fmt.Sprintf("%v %+v %#v %s", tg, tg, tg, tg), fmt.Sprint([]Target{tg}), logs.String()} {
			if strings.Contains(s, secret) {
				t.Errorf("a secret in %q", s)
			}
		}
	}
}
