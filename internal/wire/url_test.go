package wire

import "testing"

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"nats-route://10.0.0.1:6222", true},
		{" nats://user:pw@hub:4222 ", true},
		{"tls://hub:7422", true},
		{"nats-leaf://hub", true},
		{"http://hub:4222", false},
		{"hub:4222", false},
		{"nats-route://", false},
		{"://x", false},
		{"nats-route://host:port:bad\x7f", false},
		{"", false},
	} {
		u, ok := ParseURL(tc.in, "nats-route", "nats", "nats-leaf", "tls")
		if ok != tc.want || ok && u.Host == "" {
			t.Errorf("ParseURL(%q) = %v, %v; want ok %v", tc.in, u, ok, tc.want)
		}
	}
	if _, ok := ParseURL("nats://hub:4222", "nats-route"); ok {
		t.Error("a scheme not listed was accepted")
	}
}
