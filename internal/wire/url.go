package wire

import (
	"net/url"
	"slices"
	"strings"
)

// ParseURL parses one bus server URL (a cluster route, a leaf remote):
// surrounding space is ignored, and it needs a host and one of schemes.
// false means it is not such a URL; the caller says so in its own terms
// (config names the key and line, the engine its setting), without the
// credentials a URL may hold.
func ParseURL(s string, schemes ...string) (*url.URL, bool) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || u.Host == "" || !slices.Contains(schemes, u.Scheme) {
		return nil, false
	}
	return u, true
}
