package sdnotify

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// listen is systemd's side: a datagram socket the service writes to.
func listen(t *testing.T, name string) *net.UnixConn {
	t.Helper()
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func read(t *testing.T, c *net.UnixConn) string {
	t.Helper()
	buf := make([]byte, 4096)
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := c.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	return string(buf[:n])
}

func TestReadyAndStopping(t *testing.T) {
	for _, name := range []string{
		filepath.Join(t.TempDir(), "notify"),                                // a path, as systemd gives
		"@panoptes-sdnotify-test-" + strings.ReplaceAll(t.Name(), "/", "-"), // abstract
	} {
		c := listen(t, name)
		t.Setenv("NOTIFY_SOCKET", name)
		if err := Ready(true); err != nil {
			t.Fatal(err)
		}
		if got := read(t, c); !strings.HasPrefix(got, "READY=1\n") {
			t.Errorf("%s: ready sent %q, want READY=1 first", name, got)
		}
		if err := Ready(false); err != nil {
			t.Fatal(err)
		}
		if got := read(t, c); !strings.HasPrefix(got, "STOPPING=1\n") {
			t.Errorf("%s: not ready sent %q, want STOPPING=1 first", name, got)
		}
	}
}

// A reload is RELOADING=1 with the monotonic clock, then READY=1 with the
// outcome.
func TestReloading(t *testing.T) {
	name := filepath.Join(t.TempDir(), "notify")
	c := listen(t, name)
	t.Setenv("NOTIFY_SOCKET", name)
	if err := Reloading(); err != nil {
		t.Fatal(err)
	}
	got := read(t, c)
	var usec int64
	if !strings.HasPrefix(got, "RELOADING=1\nMONOTONIC_USEC=") {
		t.Fatalf("reloading sent %q, want RELOADING=1 and MONOTONIC_USEC", got)
	}
	if _, err := fmt.Sscanf(strings.Split(got, "\n")[1], "MONOTONIC_USEC=%d", &usec); err != nil || usec <= 0 {
		t.Errorf("MONOTONIC_USEC in %q: %d, %v", got, usec, err)
	}
	if err := Reloaded("refused (restart needed)"); err != nil {
		t.Fatal(err)
	}
	if got := read(t, c); got != "READY=1\nSTATUS=running; last reload: refused (restart needed)" {
		t.Errorf("reloaded sent %q", got)
	}
}

func TestNoSocketIsANoOp(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	if err := Ready(true); err != nil {
		t.Errorf("without NOTIFY_SOCKET: %v, want nil", err)
	}
}

func TestMissingSocketNamesIt(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "gone")
	t.Setenv("NOTIFY_SOCKET", missing)
	err := Ready(true)
	if err == nil || !strings.Contains(err.Error(), "NOTIFY_SOCKET="+missing) {
		t.Errorf("err %v, want one naming NOTIFY_SOCKET=%s", err, missing)
	}
}
