package snmp

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gosnmp/gosnmp"

	"github.com/panoptes-go/panoptes/internal/config"
)

// Allowed credential values; names are matched case-insensitively and
// net-snmp's spellings ("SHA-256", "AES-256") are accepted too.
var (
	versions       = []string{"1", "2c", "3"}
	securityLevels = []string{"noAuthNoPriv", "authNoPriv", "authPriv"}
	authProtocols  = map[string]gosnmp.SnmpV3AuthProtocol{
		"MD5": gosnmp.MD5, "SHA": gosnmp.SHA, "SHA224": gosnmp.SHA224,
		"SHA256": gosnmp.SHA256, "SHA384": gosnmp.SHA384, "SHA512": gosnmp.SHA512,
	}
	authProtocolNames = "MD5, SHA, SHA224, SHA256, SHA384, SHA512"
	// AES192/AES256 use the key extension of net-snmp (and of most agents
	// that implement draft-blumenthal-aes-usm); AES192C/AES256C use the
	// "Reeder" extension that Cisco IOS implements. See doc.go.
	privProtocols = map[string]gosnmp.SnmpV3PrivProtocol{
		"DES": gosnmp.DES, "AES": gosnmp.AES, "AES128": gosnmp.AES,
		"AES192": gosnmp.AES192, "AES256": gosnmp.AES256,
		"AES192C": gosnmp.AES192C, "AES256C": gosnmp.AES256C,
	}
	privProtocolNames = "DES, AES, AES192, AES256, AES192C, AES256C"
)

// minPassphrase is RFC 3414's minimum passphrase length (net-snmp enforces it).
const minPassphrase = 8

// ValidateCredential checks the version, security level and protocol names of
// a credential and that the fields its level needs are set. Errors name the
// field and the allowed values, never a secret.
func ValidateCredential(c config.Credential) error {
	switch normVersion(c.Version) {
	case "1", "2c":
		if c.Community == "" {
			return fmt.Errorf("community is empty (required for version %s)", c.Version)
		}
		return nil
	case "3":
	default:
		return fmt.Errorf("version %q: want one of %s", c.Version, strings.Join(versions, ", "))
	}
	if c.Username == "" {
		return errors.New("username is empty (required for version 3)")
	}
	level, ok := normLevel(c.SecurityLevel)
	if !ok {
		return fmt.Errorf("security_level %q: want one of %s", c.SecurityLevel, strings.Join(securityLevels, ", "))
	}
	if level == gosnmp.NoAuthNoPriv {
		return nil
	}
	if _, ok := authProtocols[normProto(c.AuthProtocol)]; !ok {
		return fmt.Errorf("auth_protocol %q: want one of %s (required for %s)", c.AuthProtocol, authProtocolNames, c.SecurityLevel)
	}
	if len(c.AuthPassphrase) < minPassphrase {
		return fmt.Errorf("auth_passphrase: must be at least %d characters (required for %s)", minPassphrase, c.SecurityLevel)
	}
	if level == gosnmp.AuthNoPriv {
		return nil
	}
	if _, ok := privProtocols[normProto(c.PrivProtocol)]; !ok {
		return fmt.Errorf("priv_protocol %q: want one of %s (required for authPriv)", c.PrivProtocol, privProtocolNames)
	}
	if len(c.PrivPassphrase) < minPassphrase {
		return fmt.Errorf("priv_passphrase: must be at least %d characters (required for authPriv)", minPassphrase)
	}
	return nil
}

func normVersion(v string) string {
	v = strings.ToLower(strings.TrimSpace(v))
	return strings.TrimPrefix(v, "v")
}

func normLevel(l string) (gosnmp.SnmpV3MsgFlags, bool) {
	switch strings.ToLower(strings.TrimSpace(l)) {
	case "noauthnopriv":
		return gosnmp.NoAuthNoPriv, true
	case "authnopriv":
		return gosnmp.AuthNoPriv, true
	case "authpriv":
		return gosnmp.AuthPriv, true
	}
	return 0, false
}

func normProto(p string) string {
	return strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(p), "-", ""))
}

// newGoSNMP builds an unconnected gosnmp session for t. The credential must
// have passed ValidateCredential.
func newGoSNMP(t Target) (*gosnmp.GoSNMP, error) {
	if err := ValidateCredential(t.Credential); err != nil {
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
	c := t.Credential
	switch normVersion(c.Version) {
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
