package poll

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/snmp"
)

// Resource metadata keys read by TargetFor.
const (
	MetaPort       = "snmp_port"
	MetaCredential = "snmp_credential"
)

// SNMPOptions are the SNMP defaults and named credentials that targets are
// built from (the config's snmp block; the node converts it). Zero values
// take the snmp package's defaults.
type SNMPOptions struct {
	Port           int
	Timeout        time.Duration
	Retries        int
	MaxRepetitions int
	// Credential names the credential of resources whose metadata names none.
	Credential string
	// Credentials by name. The targets of one share its *snmp.Credential:
	// it must not be modified once in use (a reload passes new options).
	Credentials map[string]*snmp.Credential
}

// TargetFor resolves a resource's target. The host comes from
// resource_endpoint ("host", "host:port", "[v6]:port", "[v6]" or a bare IPv6
// address); metadata snmp_port overrides the port and snmp_credential names a
// credential in o.Credentials (else o.Credential). Unset values come from o,
// then from the snmp package's defaults. Errors name the resource and the bad
// key, never a secret.
func TargetFor(r *resource.Resource, o SNMPOptions) (snmp.Target, error) {
	if r == nil {
		return snmp.Target{}, errors.New("snmp target: nil resource")
	}
	fail := func(format string, a ...any) (snmp.Target, error) {
		return snmp.Target{}, fmt.Errorf("resource %q: "+format, append([]any{r.ID}, a...)...)
	}
	host, port, err := resource.SplitEndpoint(r.Endpoint)
	if err != nil {
		return fail("resource_endpoint %q: %v", r.Endpoint, err)
	}
	if port == 0 {
		port = o.Port
	}
	if port == 0 {
		port = snmp.DefaultPort
	}
	if port < 1 || port > 65535 {
		return fail("snmp.port %d: want 1-65535", port)
	}
	if v, ok := r.Metadata[MetaPort]; ok {
		p, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || p < 1 || p > 65535 {
			return fail("metadata %s %q: want a port number 1-65535", MetaPort, v)
		}
		port = p
	}

	credName, key := o.Credential, "snmp.credential"
	if v := strings.TrimSpace(r.Metadata[MetaCredential]); v != "" {
		credName, key = v, "metadata "+MetaCredential
	}
	if credName == "" {
		return fail("no SNMP credential: set snmp.credential or resource metadata %s", MetaCredential)
	}
	cred, ok := o.Credentials[credName]
	if !ok {
		return fail("%s names unknown credential %q (known: %s)", key, credName, knownCredentials(o))
	}
	if cred == nil {
		return fail("credential %q: %w", credName, snmp.ErrNoCredential)
	}
	if err := cred.Validate(); err != nil {
		return fail("credential %q: %v", credName, err)
	}

	t := snmp.Target{
		Host: host, Port: port, Credential: cred, CredentialName: credName,
		Timeout: o.Timeout, Retries: o.Retries, MaxRepetitions: o.MaxRepetitions,
	}
	if t.Timeout <= 0 {
		t.Timeout = snmp.DefaultTimeout
	}
	if t.Retries < 0 {
		return fail("snmp.retries %d: want 0 or more", t.Retries)
	}
	if t.MaxRepetitions <= 0 {
		t.MaxRepetitions = snmp.DefaultMaxRepetitions
	}
	return t, nil
}

func knownCredentials(o SNMPOptions) string {
	if len(o.Credentials) == 0 {
		return "none configured under snmp.credentials"
	}
	names := make([]string, 0, len(o.Credentials))
	for n := range o.Credentials {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
