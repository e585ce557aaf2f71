// Package freeport picks loopback TCP ports for servers a test starts.
package freeport

import (
	"math/rand/v2"
	"net"
	"strconv"
	"testing"
)

// TCP returns a loopback TCP port that was free a moment ago. It is chosen
// below Linux's ephemeral range (32768+): a port the kernel hands out for
// ":0" is soon handed out again to some other test's outgoing connection,
// and a server that binds it a little later fails with "address in use".
func TCP(t testing.TB) int {
	t.Helper()
	for range 100 {
		port := 20000 + rand.IntN(12000)
		l, err := net.Listen("tcp", Addr(port))
		if err == nil {
			l.Close()
			return port
		}
	}
	t.Fatal("no free loopback TCP port in 20000-31999 after 100 tries")
	return 0
}

// Addr is 127.0.0.1:port.
func Addr(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }

// UDP returns a loopback UDP port that was free a moment ago, below the
// ephemeral range for the same reason as TCP: a simulated agent that is
// stopped and started again on it must find it still free.
func UDP(t testing.TB) int {
	t.Helper()
	for range 100 {
		port := 20000 + rand.IntN(12000)
		c, err := net.ListenPacket("udp", Addr(port))
		if err == nil {
			c.Close()
			return port
		}
	}
	t.Fatal("no free loopback UDP port in 20000-31999 after 100 tries")
	return 0
}
