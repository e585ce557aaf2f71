package resource

import "testing"

func TestSplitEndpoint(t *testing.T) {
	cases := []struct {
		ep, host string
		port     int
		err      string
	}{
		{ep: "sw1.example.com", host: "sw1.example.com"},
		{ep: "sw1.example.com.", host: "sw1.example.com."},
		{ep: "core_1-a", host: "core_1-a"},
		{ep: " 10.0.0.1:1161 ", host: "10.0.0.1", port: 1161},
		{ep: "10.0.0.1", host: "10.0.0.1"},
		{ep: "2001:db8::1", host: "2001:db8::1"},
		{ep: "[2001:db8::1]", host: "2001:db8::1"},
		{ep: "[2001:db8::1]:1161", host: "2001:db8::1", port: 1161},
		{ep: "fe80::1%eth0", host: "fe80::1%eth0"},
		{ep: "1.example.com:65535", host: "1.example.com", port: 65535},
		{ep: "", err: "empty endpoint"},
		{ep: " ", err: "empty endpoint"},
		{ep: ":161", err: "empty host"},
		{ep: "999.1.1.1:abc", err: `host "999.1.1.1" is not a valid IPv4 address`},
		{ep: "999.1.1.1", err: `host "999.1.1.1" is not a valid IPv4 address`},
		{ep: "10.0.0", err: `host "10.0.0" is not a valid IPv4 address`},
		{ep: "sw1:abc", err: `port "abc" is not a number (want 1-65535)`},
		{ep: "sw1:", err: `port "" is not a number (want 1-65535)`},
		{ep: "sw1:0", err: "port 0 is out of range (want 1-65535)"},
		{ep: "sw1:70000", err: "port 70000 is out of range (want 1-65535)"},
		{ep: "sw1:-1", err: "port -1 is out of range (want 1-65535)"},
		{ep: "[zz]:161", err: `"zz" in brackets is not an IPv6 address`},
		{ep: "[10.0.0.1]:161", err: `"10.0.0.1" in brackets is not an IPv6 address`},
		{ep: "[10.0.0.1]", err: `"10.0.0.1" in brackets is not an IPv6 address`},
		{ep: "a:b:c", err: "want host, host:port or [ipv6]:port"},
		{ep: "sw1/24", err: `host "sw1/24" contains '/': want a host name, an IPv4 address or [ipv6]`},
		{ep: "http://sw1", err: "is a URL: want host, host:port or [ipv6]:port"},
		{ep: "sw1..example", err: `host "sw1..example" has an empty or over-long label`},
		{ep: "-sw1", err: `host "-sw1": a label starts or ends with '-'`},
	}
	for _, c := range cases {
		host, port, err := SplitEndpoint(c.ep)
		if c.err != "" {
			if err == nil || err.Error() != c.err {
				t.Errorf("%q: got %q %d %v, want error %q", c.ep, host, port, err, c.err)
			}
			continue
		}
		if err != nil || host != c.host || port != c.port {
			t.Errorf("%q: got %q %d %v, want %q %d", c.ep, host, port, err, c.host, c.port)
		}
	}
}
