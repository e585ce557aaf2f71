package sdnotify

import (
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
