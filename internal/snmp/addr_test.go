package snmp

import (
	"net"
	"strconv"
	"testing"
)

// The pool's device key is built without allocating; it must be the
// address Target.Addr gives.
func TestAppendAddrMatchesJoinHostPort(t *testing.T) {
	for _, c := range []struct {
		host string
		port int
	}{{"127.0.0.1", 161}, {"sw1.example.com", 1161}, {"::1", 65535}, {"fe80::1%eth0", 161}, {"", 1}} {
		got := string(appendAddr(nil, c.host, c.port))
		if want := net.JoinHostPort(c.host, strconv.Itoa(c.port)); got != want {
			t.Errorf("appendAddr(%q, %d) = %q, want %q", c.host, c.port, got, want)
		}
	}
	if n := testing.AllocsPerRun(100, func() {
		var buf [64]byte
		_ = appendAddr(buf[:0], "127.0.0.1", 161)
	}); n != 0 {
		t.Errorf("appendAddr allocates %v times", n)
	}
}
