package snmp

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/gosnmp/gosnmp"
)

// Credential is one SNMP credential. Its secrets (Community and the
// passphrases) never appear in logs or errors: String, GoString and
// LogValue leave them out.
type Credential struct {
	Version        string // 1, 2c or 3
	Community      string
	Username       string
	SecurityLevel  string // noAuthNoPriv, authNoPriv, authPriv (any case)
	AuthProtocol   string // MD5, SHA, SHA224, SHA256, SHA384, SHA512
	AuthPassphrase string
	PrivProtocol   string // DES, AES, AES192, AES256, AES192C, AES256C
	PrivPassphrase string
	ContextName    string
}

// Accepted credential values. Level and protocol names are matched
// case-insensitively and net-snmp's spellings ("SHA-256", "AES-256") equal
// ours.
var (
	Versions       = []string{"1", "2c", "3"}
	SecurityLevels = []string{"noAuthNoPriv", "authNoPriv", "authPriv"}
	AuthProtocols  = []string{"MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512"}
	PrivProtocols  = []string{"DES", "AES", "AES192", "AES256", "AES192C", "AES256C"}

	authProtocols = map[string]gosnmp.SnmpV3AuthProtocol{
		"MD5": gosnmp.MD5, "SHA": gosnmp.SHA, "SHA224": gosnmp.SHA224,
		"SHA256": gosnmp.SHA256, "SHA384": gosnmp.SHA384, "SHA512": gosnmp.SHA512,
	}
	// AES192/AES256 use the key extension of net-snmp (and of most agents
	// that implement draft-blumenthal-aes-usm); AES192C/AES256C use the
	// "Reeder" extension that Cisco IOS implements. See doc.go.
	privProtocols = map[string]gosnmp.SnmpV3PrivProtocol{
		"DES": gosnmp.DES, "AES": gosnmp.AES,
		"AES192": gosnmp.AES192, "AES256": gosnmp.AES256,
		"AES192C": gosnmp.AES192C, "AES256C": gosnmp.AES256C,
	}
)

// minPassphrase is RFC 3414's minimum passphrase length (net-snmp enforces it).
const minPassphrase = 8

// Problem is one invalid field of a credential: the field's config key and
// what is wrong, never a secret.
type Problem struct{ Field, Msg string }

func (p Problem) String() string { return p.Field + ": " + p.Msg }

// Problems lists what is wrong with c: a version it does not know, a field
// its version or security level needs that is missing, a field of the other
// version set, an unknown level or protocol name. Empty when c is valid.
// These are the only credential rules: the config reports them per key.
func (c Credential) Problems() []Problem {
	var ps []Problem
	add := func(f, m string) { ps = append(ps, Problem{f, m}) }
	switch c.Version {
	case "1", "2c":
		if c.Community == "" {
			add("community", "is empty; SNMP v"+c.Version+" needs a community (use ${ENV_VAR} to keep it out of the file)")
		}
		if c.Username != "" || c.AuthPassphrase != "" || c.PrivPassphrase != "" {
			add("version", "is "+c.Version+" but v3 fields are set; set version: 3 or remove them")
		}
	case "3":
		if c.Username == "" {
			add("username", "is empty; SNMP v3 needs a user name")
		}
		if c.Community != "" {
			add("community", "is set on a v3 credential; v3 uses username and passphrases")
		}
		level, ok := normLevel(c.SecurityLevel)
		if !ok {
			add("security_level", quote(c.SecurityLevel)+" is not one of: "+strings.Join(SecurityLevels, ", "))
			break
		}
		if level != gosnmp.NoAuthNoPriv {
			if !known(AuthProtocols, c.AuthProtocol) {
				add("auth_protocol", quote(c.AuthProtocol)+" is not one of: "+strings.Join(AuthProtocols, ", "))
			}
			if len(c.AuthPassphrase) < minPassphrase {
				add("auth_passphrase", fmt.Sprintf("must be at least %d characters (RFC 3414)", minPassphrase))
			}
		}
		if level == gosnmp.AuthPriv {
			if !known(PrivProtocols, c.PrivProtocol) {
				add("priv_protocol", quote(c.PrivProtocol)+" is not one of: "+strings.Join(PrivProtocols, ", "))
			}
			if len(c.PrivPassphrase) < minPassphrase {
				add("priv_passphrase", fmt.Sprintf("must be at least %d characters (RFC 3414)", minPassphrase))
			}
		}
	default:
		add("version", quote(c.Version)+" is not one of: "+strings.Join(Versions, ", "))
	}
	return ps
}

// Validate is nil when c has no Problems, else an error naming each bad
// field (`priv_protocol: "3DES" is not one of: ...`), never a secret.
func (c Credential) Validate() error {
	ps := c.Problems()
	if len(ps) == 0 {
		return nil
	}
	msgs := make([]string, len(ps))
	for i, p := range ps {
		msgs[i] = p.String()
	}
	return fmt.Errorf("%s", strings.Join(msgs, "; "))
}

// String describes the credential without its secrets, so it is safe to log.
func (c Credential) String() string {
	if c.Version == "3" {
		return "v3 user " + c.Username + " " + c.SecurityLevel + " " + c.AuthProtocol + "/" + c.PrivProtocol
	}
	return "v" + c.Version + " community <redacted>"
}

// GoString keeps %#v from printing the secrets.
func (c Credential) GoString() string { return "snmp.Credential{" + c.String() + "}" }

// LogValue keeps slog from printing the secrets.
func (c Credential) LogValue() slog.Value { return slog.StringValue(c.String()) }

// known matches a protocol name against the names we document.
func known(names []string, p string) bool {
	for _, n := range names {
		if normProto(n) == normProto(p) {
			return true
		}
	}
	return false
}

func normLevel(l string) (gosnmp.SnmpV3MsgFlags, bool) {
	switch strings.ToLower(l) {
	case "noauthnopriv":
		return gosnmp.NoAuthNoPriv, true
	case "authnopriv":
		return gosnmp.AuthNoPriv, true
	case "authpriv":
		return gosnmp.AuthPriv, true
	}
	return 0, false
}

// normProto is a protocol name in upper case without dashes: net-snmp's
// "SHA-256" is our SHA256.
func normProto(p string) string {
	return strings.ToUpper(strings.ReplaceAll(p, "-", ""))
}

func quote(s string) string { return `"` + s + `"` }

// newGoSNMP builds an unconnected gosnmp session for t. The credential must
// be valid (Credential.Validate).
func newGoSNMP(t Target) (*gosnmp.GoSNMP, error) {
	if t.Credential == nil {
		return nil, fmt.Errorf("credential %q: %w", t.CredentialName, ErrNoCredential)
	}
	if err := t.Credential.Validate(); err != nil {
		return nil, fmt.Errorf("credential %q: %w", t.CredentialName, err)
	}
	maxReps := t.MaxRepetitions
	if maxReps <= 0 {
		maxReps = DefaultMaxRepetitions
	}
	timeout := t.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	g := &gosnmp.GoSNMP{
		Target:         t.Host,
		Port:           uint16(t.Port),
		Transport:      "udp",
		Timeout:        timeout,
		Retries:        max(t.Retries, 0),
		MaxOids:        MaxOIDsPerGet,
		MaxRepetitions: uint32(maxReps),
	}
	c := *t.Credential
	switch c.Version {
	case "1":
		g.Version, g.Community = gosnmp.Version1, c.Community
	case "2c":
		g.Version, g.Community = gosnmp.Version2c, c.Community
	case "3":
		level, _ := normLevel(c.SecurityLevel)
		usm := &gosnmp.UsmSecurityParameters{
			UserName:               c.Username,
			AuthenticationProtocol: gosnmp.NoAuth,
			PrivacyProtocol:        gosnmp.NoPriv,
		}
		if level != gosnmp.NoAuthNoPriv {
			usm.AuthenticationProtocol = authProtocols[normProto(c.AuthProtocol)]
			usm.AuthenticationPassphrase = c.AuthPassphrase
		}
		if level == gosnmp.AuthPriv {
			usm.PrivacyProtocol = privProtocols[normProto(c.PrivProtocol)]
			usm.PrivacyPassphrase = c.PrivPassphrase
		}
		g.Version = gosnmp.Version3
		g.SecurityModel = gosnmp.UserSecurityModel
		g.MsgFlags = level
		g.SecurityParameters = usm
		g.ContextName = c.ContextName
	}
	return g, nil
}
