// Package freeport picks loopback ports for servers a test starts.
package freeport

import (
	"errors"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
)

// TCP returns a loopback TCP port that was free a moment ago and that no
// other test holds. It is chosen below Linux's ephemeral range (32768+): a
// port the kernel hands out for ":0" is soon handed out again to some other
// test's outgoing connection, and a server that binds it a little later
// fails with "address in use".
func TCP(t testing.TB) int {
	t.Helper()
	return pick(t, "TCP", func(port int) bool {
		l, err := net.Listen("tcp", Addr(port))
		if err != nil {
			return false
		}
		l.Close()
		return true
	})
}

// Addr is 127.0.0.1:port.
func Addr(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }

// UDP returns a loopback UDP port that was free a moment ago and that no
// other test holds, below the ephemeral range for the same reason as TCP: a
// simulated agent that is stopped and started again on it must find it
// still free.
func UDP(t testing.TB) int {
	t.Helper()
	return pick(t, "UDP", udpFree)
}

// UDPBlock returns the first of n consecutive loopback UDP ports, each free
// a moment ago and held for the test: a simulator whose device i listens on
// base+i (panoptes demo, panoptes bench --base-port).
func UDPBlock(t testing.TB, n int) int {
	t.Helper()
	for range 200 {
		base := 20000 + rand.IntN(12000-n)
		var releases []func()
		ok := true
		for port := base; ok && port < base+n; port++ {
			var release func()
			if release, ok = reserve(t, port); ok {
				releases = append(releases, release)
				ok = udpFree(port)
			}
		}
		if ok {
			for _, r := range releases {
				t.Cleanup(r)
			}
			return base
		}
		for _, r := range releases {
			r()
		}
	}
	t.Fatalf("no %d consecutive free loopback UDP ports in 20000-31999 after 200 tries", n)
	return 0
}

func udpFree(port int) bool {
	c, err := net.ListenPacket("udp", Addr(port))
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// pick draws ports in 20000-31999 until one is reserved for t and free.
func pick(t testing.TB, proto string, free func(port int) bool) int {
	t.Helper()
	for range 200 {
		port := 20000 + rand.IntN(12000)
		release, ok := reserve(t, port)
		if !ok {
			continue
		}
		if free(port) {
			t.Cleanup(release)
			return port
		}
		release()
	}
	t.Fatalf("no free loopback %s port in 20000-31999 after 200 tries", proto)
	return 0
}

// reserve claims port until the test ends, across every test process of
// the machine: between the check that a port is free and the server that
// binds it, a parallel test (of this package or of another one that go
// test runs beside it) could be handed the same port; each port has a lock
// file, flock'ed while a test holds it. The kernel drops the lock when the
// process exits, so a test killed mid-way leaves nothing held. Where the
// directory cannot be used, ports are only checked, not reserved.
func reserve(t testing.TB, port int) (release func(), ok bool) {
	dir := filepath.Join(os.TempDir(), "panoptes-freeport")
	if err := os.MkdirAll(dir, 0o777|os.ModeSticky); err != nil {
		t.Logf("freeport: %v (ports are not reserved across tests)", err)
		return func() {}, true
	}
	// Shared by every user's tests (CI as root, then a developer): the
	// umask took write access away; give it back where we may.
	_ = os.Chmod(dir, 0o777|os.ModeSticky)
	name := filepath.Join(dir, strconv.Itoa(port))
	f, err := os.OpenFile(name, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		t.Logf("freeport: %v (ports are not reserved across tests)", err)
		return func() {}, true
	}
	_ = f.Chmod(0o666)
	// A flock belongs to the open file, so a second open in this process
	// conflicts too: parallel tests of one package are kept apart as well.
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, false
		}
		t.Logf("freeport: lock %s: %v (ports are not reserved across tests)", f.Name(), err)
		return func() {}, true
	}
	return func() { f.Close() }, true
}
