package config

import (
	"log/slog"
	"sort"

	"github.com/panoptes-go/panoptes/internal/snmp"
)

// Problem is one invalid credential field.
type Problem = snmp.Problem

// SNMP is the credential as the SNMP layer takes it.
func (c Credential) SNMP() snmp.Credential { return snmp.Credential(c) }

// Problems lists what is wrong with a credential: the SNMP layer's rules
// (snmp.Credential.Problems), the only ones. Messages never include the
// secrets themselves.
func (c Credential) Problems() []Problem { return c.SNMP().Problems() }

// String describes the credential without its secrets, so it is safe to log.
func (c Credential) String() string { return c.SNMP().String() }

// GoString keeps %#v from printing the secrets.
func (c Credential) GoString() string { return "config.Credential{" + c.String() + "}" }

// LogValue keeps slog from printing the secrets.
func (c Credential) LogValue() slog.Value { return slog.StringValue(c.String()) }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
