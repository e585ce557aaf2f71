package discovery

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/panoptes-go/panoptes/internal/resource"
)

// secretWords mark a metadata name as a secret wherever they occur in it.
var secretWords = []string{"community", "password", "passwd", "passphrase", "secret", "token"}

// secretTokens mark a metadata name as a secret when one of its words (split
// on anything but letters and digits) is exactly one of them: auth_key,
// priv-key, api.key, psk — but not keyboard or monkey.
var secretTokens = map[string]bool{
	"key": true, "authkey": true, "privkey": true, "apikey": true, "privatekey": true,
	"accesskey": true, "secretkey": true, "psk": true, "pwd": true, "pass": true,
}

// IsSecretName reports whether a metadata name looks like it holds a
// credential. resource_metadata travels in every bus message, so such
// columns are dropped; credentials are referenced by name (snmp_credential).
func IsSecretName(name string) bool {
	n := strings.ToLower(name)
	for _, w := range secretWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	for _, t := range strings.FieldsFunc(n, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if secretTokens[t] {
			return true
		}
	}
	return false
}

// secretWarning is the one warning for a dropped secret column. It names the
// column, never a value.
func secretWarning(file, name string) string {
	return fmt.Sprintf("%s: metadata %q looks like a secret and was dropped (metadata is sent in every bus message); "+
		"define the credential under snmp.credentials and reference it by name in snmp_credential", file, name)
}

// secretDropper removes secret-looking metadata keys and remembers each
// name once, so a file with 10 000 rows yields one warning per column.
type secretDropper struct{ seen map[string]bool }

func (s *secretDropper) scrub(md map[string]string) {
	for k := range md {
		if IsSecretName(k) {
			delete(md, k)
			if s.seen == nil {
				s.seen = map[string]bool{}
			}
			s.seen[k] = true
		}
	}
}

func (s *secretDropper) warnings(file string) []string {
	names := make([]string, 0, len(s.seen))
	for n := range s.seen {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = secretWarning(file, n)
	}
	return out
}

// knownMetadata validates metadata other parts of panoptes read.
var knownMetadata = map[string]func(v string) error{
	"snmp_port": func(v string) error {
		p, err := strconv.Atoi(v)
		if err != nil || p < 1 || p > 65535 {
			return fmt.Errorf("snmp_port %q is not a port number (1..65535)", v)
		}
		return nil
	},
}

// checkResource reports why r cannot be polled, or nil. It runs after
// defaults were applied and secrets dropped.
func checkResource(r *resource.Resource) error {
	if err := r.Validate(); err != nil {
		return err
	}
	if strings.ContainsFunc(r.Endpoint, unicode.IsSpace) {
		return fmt.Errorf("endpoint: %q contains whitespace", r.Endpoint)
	}
	if _, _, err := resource.SplitEndpoint(r.Endpoint); err != nil {
		return fmt.Errorf("endpoint: %w", err)
	}
	// JSON (the bus, the inventory) turns invalid UTF-8 into U+FFFD: two
	// identities that differ only there would become one, and a resource
	// would not match its own metrics. A Latin-1 export is the usual cause.
	for _, f := range []struct{ name, v string }{{"resource_site", r.Site}, {"resource_class", r.Class},
		{"resource_subclass", r.Subclass}, {"resource_type", r.Type}, {"resource_id", r.ID}, {"resource_endpoint", r.Endpoint}} {
		if !utf8.ValidString(f.v) {
			return fmt.Errorf("%s %q is not valid UTF-8 (save the file as UTF-8)", f.name, f.v)
		}
	}
	keys := make([]string, 0, len(r.Metadata))
	for k := range r.Metadata {
		keys = append(keys, k)
	}
	sort.Strings(keys) // the same bad key reported every time
	for _, k := range keys {
		if !utf8.ValidString(k) || !utf8.ValidString(r.Metadata[k]) {
			return fmt.Errorf("metadata %q is not valid UTF-8 (save the file as UTF-8)", k)
		}
	}
	// Sorted so a row with two bad values always reports the same one.
	names := make([]string, 0, len(knownMetadata))
	for k := range r.Metadata {
		if knownMetadata[k] != nil {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, k := range names {
		if err := knownMetadata[k](r.Metadata[k]); err != nil {
			return err
		}
	}
	return nil
}

// trimIdentity trims the identity fields and the endpoint in place.
func trimIdentity(r *resource.Resource) {
	for _, p := range []*string{&r.Site, &r.Class, &r.Subclass, &r.Type, &r.ID, &r.Endpoint} {
		*p = strings.TrimSpace(*p)
	}
}
