package bus

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
)

func TestServerLogger(t *testing.T) {
	var buf bytes.Buffer
	l := &serverLogger{l: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	var _ server.Logger = l
	l.Noticef("notice %d", 1)
	l.Debugf("debug")
	l.Tracef("trace")
	if buf.Len() != 0 {
		t.Errorf("notice/debug/trace were logged: %s", buf.String())
	}
	l.Warnf("disk %s", "slow")
	l.Errorf("oops %d", 2)
	if out := buf.String(); !strings.Contains(out, "level=WARN msg=\"disk slow\"") || !strings.Contains(out, "level=ERROR msg=\"oops 2\"") {
		t.Errorf("warn/error not routed: %s", out)
	}
	if l.fatal() != "" {
		t.Error("fatal recorded before any Fatalf")
	}
	l.Fatalf("Can't start JetStream: %s", "no space")
	if got := l.fatal(); got != "Can't start JetStream: no space" {
		t.Errorf("fatal = %q", got)
	}
}

func TestSplitListen(t *testing.T) {
	for _, tc := range []struct {
		in   string
		host string
		port int
		err  bool
	}{
		{"127.0.0.1:4222", "127.0.0.1", 4222, false},
		{":0", "", server.RANDOM_PORT, false},
		{"[::1]:4333", "::1", 4333, false},
		{"4222", "", 0, true},
		{"host:http", "", 0, true},
		{"host:70000", "", 0, true},
	} {
		host, port, err := splitListen(tc.in)
		if (err != nil) != tc.err || (!tc.err && (host != tc.host || port != tc.port)) {
			t.Errorf("splitListen(%q) = %q, %d, %v", tc.in, host, port, err)
		}
	}
}

func TestServerNameStable(t *testing.T) {
	dir := t.TempDir()
	first, err := serverName(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(first, "panoptes-") || strings.ContainsAny(first, " .*>") {
		t.Errorf("server name %q", first)
	}
	again, err := serverName(dir)
	if err != nil || again != first {
		t.Errorf("second serverName = %q, %v; want %q", again, err, first)
	}
	if other, _ := serverName(t.TempDir()); other == first {
		t.Errorf("two data dirs got the same server name %q", first)
	}
}
