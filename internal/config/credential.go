package config

import (
	"log/slog"
	"sort"
	"strings"
)

// Accepted credential values, as written in the file.
var (
	SNMPVersions   = []string{"1", "2c", "3"}
	SecurityLevels = []string{"noAuthNoPriv", "authNoPriv", "authPriv"}
	AuthProtocols  = []string{"MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512"}
	PrivProtocols  = []string{"DES", "AES", "AES192", "AES256", "AES192C", "AES256C"}
)

// Problem is one invalid credential field.
type Problem struct{ Field, Msg string }

// Problems lists what is wrong with a credential. Messages never include
// the secrets themselves.
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
		level := c.SecurityLevel
		for _, l := range SecurityLevels {
			if strings.EqualFold(l, level) {
				level = l
			}
		}
		if !contains(SecurityLevels, level) {
			add("security_level", quote(level)+" is not one of: "+strings.Join(SecurityLevels, ", "))
			break
		}
		if level != "noAuthNoPriv" {
			if !contains(AuthProtocols, c.AuthProtocol) {
				add("auth_protocol", quote(c.AuthProtocol)+" is not one of: "+strings.Join(AuthProtocols, ", "))
			}
			if len(c.AuthPassphrase) < 8 {
				add("auth_passphrase", "must be at least 8 characters (RFC 3414)")
			}
		}
		if level == "authPriv" {
			if !contains(PrivProtocols, c.PrivProtocol) {
				add("priv_protocol", quote(c.PrivProtocol)+" is not one of: "+strings.Join(PrivProtocols, ", "))
			}
			if len(c.PrivPassphrase) < 8 {
				add("priv_passphrase", "must be at least 8 characters (RFC 3414)")
			}
		}
	default:
		add("version", quote(c.Version)+" is not one of: "+strings.Join(SNMPVersions, ", "))
	}
	return ps
}

// String describes the credential without its secrets, so it is safe to log.
func (c Credential) String() string {
	if c.Version == "3" {
		return "v3 user " + c.Username + " " + c.SecurityLevel + " " + c.AuthProtocol + "/" + c.PrivProtocol
	}
	return "v" + c.Version + " community <redacted>"
}

// GoString keeps %#v from printing the secrets.
func (c Credential) GoString() string { return "config.Credential{" + c.String() + "}" }

// LogValue keeps slog from printing the secrets.
func (c Credential) LogValue() slog.Value { return slog.StringValue(c.String()) }

// contains matches the way the SNMP layer reads these names: case-
// insensitive, and net-snmp's spellings with a dash (SHA-256, AES-256)
// equal ours (SHA256, AES256).
func contains(list []string, s string) bool {
	norm := func(v string) string { return strings.ToUpper(strings.ReplaceAll(v, "-", "")) }
	for _, v := range list {
		if norm(v) == norm(s) {
			return true
		}
	}
	return false
}

func quote(s string) string { return `"` + s + `"` }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
