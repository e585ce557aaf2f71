package resource

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// SplitEndpoint parses a resource_endpoint: "host", "host:port",
// "[v6]:port", "[v6]" or a bare IPv6 address. port is 0 when the endpoint
// has none. host is an IP address or a DNS name (letters, digits, '-', '_'
// and dots; a name whose labels are all numbers must be an IPv4 address, so
// 999.1.1.1 and 10.0.0 are refused rather than sent to a resolver). The
// error says what is wrong, without repeating the endpoint; callers add it.
//
// Discovery checks every row with it, and the poller builds its targets with
// it, so an endpoint that would never be polled is a row error, not a check
// that fails forever.
func SplitEndpoint(ep string) (host string, port int, err error) {
	ep = strings.TrimSpace(ep)
	if ep == "" {
		return "", 0, errors.New("empty endpoint")
	}
	if _, err := netip.ParseAddr(ep); err == nil { // IPv4 or bare IPv6
		return ep, 0, nil
	}
	if strings.HasPrefix(ep, "[") && strings.HasSuffix(ep, "]") {
		h := ep[1 : len(ep)-1]
		if a, err := netip.ParseAddr(h); err != nil || !a.Is6() {
			return "", 0, fmt.Errorf("%q in brackets is not an IPv6 address", h)
		}
		return h, 0, nil
	}
	if strings.Contains(ep, "://") {
		return "", 0, errors.New("is a URL: want host, host:port or [ipv6]:port")
	}
	if !strings.Contains(ep, ":") {
		if err := checkHostName(ep); err != nil {
			return "", 0, err
		}
		return ep, 0, nil
	}
	h, p, err := net.SplitHostPort(ep)
	if err != nil {
		return "", 0, errors.New("want host, host:port or [ipv6]:port")
	}
	if h == "" {
		return "", 0, errors.New("empty host")
	}
	if strings.HasPrefix(ep, "[") {
		if a, err := netip.ParseAddr(h); err != nil || !a.Is6() {
			return "", 0, fmt.Errorf("%q in brackets is not an IPv6 address", h)
		}
	} else if _, err := netip.ParseAddr(h); err != nil {
		if err := checkHostName(h); err != nil {
			return "", 0, err
		}
	}
	n, err := strconv.Atoi(p)
	switch {
	case err != nil:
		return "", 0, fmt.Errorf("port %q is not a number (want 1-65535)", p)
	case n < 1 || n > 65535:
		return "", 0, fmt.Errorf("port %d is out of range (want 1-65535)", n)
	}
	return h, n, nil
}

// checkHostName accepts a DNS name as resolvers do (RFC 1123 labels, also
// '_' which some internal zones use), and refuses an all-numeric name that
// is not an IPv4 address: no top-level domain is all digits, so such a name
// is a mistyped address.
func checkHostName(h string) error {
	name := strings.TrimSuffix(h, ".")
	if name == "" || len(name) > 253 {
		return fmt.Errorf("host %q is not a host name or IP address", h)
	}
	numeric := true
	for label := range strings.SplitSeq(name, ".") {
		if label == "" || len(label) > 63 {
			return fmt.Errorf("host %q has an empty or over-long label", h)
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("host %q: a label starts or ends with '-'", h)
		}
		for _, c := range []byte(label) {
			switch {
			case c >= '0' && c <= '9':
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '-', c == '_':
				numeric = false
			default:
				return fmt.Errorf("host %q contains %q: want a host name, an IPv4 address or [ipv6]", h, rune(c))
			}
		}
	}
	if numeric {
		return fmt.Errorf("host %q is not a valid IPv4 address", h)
	}
	return nil
}
