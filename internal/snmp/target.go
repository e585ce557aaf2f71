// Package snmp is panoptes' SNMP layer (its own SNMPv1/v2c client, gosnmp for
// SNMPv3): credentials, per-device targets, a pool of reusable sessions with
// a per-device concurrency limit, GET and walk operations, and typed failure
// kinds (Kind). It knows nothing of the config, of resources or of polling
// statuses: poll builds targets from resources and maps kinds onto statuses.
package snmp

import (
	"errors"
	"net"
	"strconv"
	"time"
)

// Defaults used when a Target leaves a value zero.
const (
	DefaultPort                 = 161
	DefaultTimeout              = 5 * time.Second
	DefaultMaxRepetitions       = 25
	DefaultMaxRequestsPerDevice = 2
	DefaultIdleTimeout          = 5 * time.Minute
	DefaultMaxIdleSessions      = 512
	// MaxOIDsPerGet is the largest number of OIDs sent in one GET PDU.
	MaxOIDsPerGet = 60
)

// Target is one device to poll, fully resolved. Its credential is held by
// pointer: the targets of one named credential share one Credential, which
// must not be modified once a Target holds it (a reload makes new ones).
// A Target without a credential fails its requests with ErrNoCredential.
type Target struct {
	Host           string
	Port           int
	Credential     *Credential
	CredentialName string // for logs (never the secret)
	Timeout        time.Duration
	Retries        int
	MaxRepetitions int
}

// Addr is host:port, with an IPv6 host bracketed.
func (t Target) Addr() string { return net.JoinHostPort(t.Host, strconv.Itoa(t.Port)) }

// ErrNoCredential is the failure of a request to a Target with no
// Credential.
var ErrNoCredential = errors.New("no SNMP credential")

// sameSession reports whether a session opened for t serves u: the same
// device, timeouts and credential name, and credentials of equal contents.
// Credentials compare by value, as when a Target embedded its Credential:
// a reload's new *Credential with the same contents keeps the sessions, a
// changed one opens new ones.
func (t Target) sameSession(u Target) bool {
	tc, uc := t.Credential, u.Credential
	t.Credential, u.Credential = nil, nil
	return t == u && (tc == uc || tc != nil && uc != nil && *tc == *uc)
}

// String names the target for logs: address and credential name, no secrets.
func (t Target) String() string {
	return t.Addr() + " (credential " + t.CredentialName + ")"
}
