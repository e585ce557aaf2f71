package snmp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"

	"github.com/gosnmp/gosnmp"
)

// Sentinel errors, usable with errors.Is on any error this package returns.
var (
	ErrTimeout     = errors.New("timeout")
	ErrAuth        = errors.New("authentication failure")
	ErrNetwork     = errors.New("network failure")
	ErrNotIncrease = errors.New("agent returned a non-increasing OID (agent loop)")
	ErrWalkLimit   = errors.New("walk limit reached")
	ErrPoolClosed  = errors.New("snmp pool closed")
	ErrInternal    = errors.New("internal failure")
)

// Kind is what kind of failure an SNMP operation met. The poll package maps
// kinds onto polling statuses; String gives the names the self-metrics and
// logs use, which are the polling statuses' names (metric.StatusName).
type Kind uint8

// Failure kinds, from KindOf.
const (
	KindOK       Kind = iota // no failure
	KindAuth                 // the agent refused the credential
	KindNetwork              // the device cannot be reached
	KindTimeout              // no answer in time
	KindInternal             // anything else: a malformed answer, an agent loop, a cancelled request
)

// String names the kind as the snmp_requests_total status label and the
// logs do: renaming one would break dashboards.
func (k Kind) String() string {
	switch k {
	case KindOK:
		return "success"
	case KindAuth:
		return "auth_failure"
	case KindNetwork:
		return "network_failure"
	case KindTimeout:
		return "timeout"
	}
	return "internal_failure"
}

// sentinel is the error a kind unwraps to, for errors.Is.
func (k Kind) sentinel() error {
	switch k {
	case KindTimeout:
		return ErrTimeout
	case KindAuth:
		return ErrAuth
	case KindNetwork:
		return ErrNetwork
	}
	return ErrInternal
}

// Error is an SNMP operation's failure: which device, which operation, what
// kind of failure and the underlying cause. Its text never contains a
// community or a passphrase.
type Error struct {
	Device string // host:port
	Op     string // "get 3 OIDs", "walk .1.3.6.1.2.1.31.1.1"
	Kind   Kind
	Err    error // the cause
}

func (e *Error) Error() string {
	kind := e.Kind.sentinel()
	msg := fmt.Sprintf("device %s: %s: %v", e.Device, e.Op, kind)
	if e.Err != nil && !errors.Is(e.Err, kind) {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap exposes both the kind sentinel (ErrTimeout, ErrAuth, ...) and the cause.
func (e *Error) Unwrap() []error { return []error{e.Kind.sentinel(), e.Err} }

// SNMPStatusError is an error-status returned by the agent in a response PDU.
type SNMPStatusError struct {
	Status gosnmp.SNMPError
	Index  int // 1-based error-index, 0 when none
}

func (e *SNMPStatusError) Error() string {
	if e.Index > 0 {
		return fmt.Sprintf("agent returned error-status %s (index %d)", e.Status, e.Index)
	}
	return fmt.Sprintf("agent returned error-status %s", e.Status)
}

// wrap classifies err and names device and operation. ctx errors are kept
// (errors.Is(err, context.Canceled) still works).
func wrap(device, op string, err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return &Error{Device: device, Op: op, Kind: classify(err), Err: err}
}

// KindOf classifies an error:
//   - nil: KindOK;
//   - SNMPv3 USM report PDUs (unknown user, wrong digest, decryption error,
//     unknown engine ID, unsupported security level, not in time window) and
//     the authorizationError / noAccess error-status: KindAuth;
//   - no response after the retries, or the ctx deadline: KindTimeout;
//   - DNS failure, connection refused (ICMP port unreachable on the
//     connected UDP socket), host or network unreachable: KindNetwork;
//   - anything else (including ctx cancellation): KindInternal.
func KindOf(err error) Kind {
	if err == nil {
		return KindOK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return classify(err)
}

func classify(err error) Kind {
	switch {
	case err == nil:
		return KindOK
	case isAuth(err):
		return KindAuth
	case isNetwork(err):
		return KindNetwork
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, gosnmp.ErrMaxRetriesExceeded), errors.Is(err, ErrTimeout):
		return KindTimeout
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return KindTimeout
	}
	return KindInternal
}

func isAuth(err error) bool {
	for _, target := range []error{
		ErrAuth, gosnmp.ErrUnknownUsername, gosnmp.ErrWrongDigest, gosnmp.ErrDecryption,
		gosnmp.ErrUnknownEngineID, gosnmp.ErrUnknownSecurityLevel, gosnmp.ErrNotInTimeWindow,
	} {
		if errors.Is(err, target) {
			return true
		}
	}
	var se *SNMPStatusError
	if errors.As(err, &se) {
		return se.Status == gosnmp.AuthorizationError || se.Status == gosnmp.NoAccess
	}
	// gosnmp has no sentinel for these: with the engine ID known, net-snmp's
	// reports for a wrong digest or an unknown user come unauthenticated and
	// gosnmp discards them with this text (pinned by the snmpd tests).
	msg := err.Error()
	return strings.Contains(msg, "incoming packet is not authentic") ||
		strings.Contains(msg, "message is not authenticated but user")
}

func isNetwork(err error) bool {
	var dns *net.DNSError
	if errors.As(err, &dns) || errors.Is(err, ErrNetwork) {
		return true
	}
	for _, errno := range []syscall.Errno{
		syscall.ECONNREFUSED, syscall.EHOSTUNREACH, syscall.ENETUNREACH,
		syscall.EADDRNOTAVAIL, syscall.EHOSTDOWN, syscall.ENETDOWN,
	} {
		if errors.Is(err, errno) {
			return true
		}
	}
	return false
}
