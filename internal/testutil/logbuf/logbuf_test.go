package logbuf

import (
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// TestConcurrentWrites: lines logged from many goroutines all arrive whole
// (run with -race: the buffer is shared).
func TestConcurrentWrites(t *testing.T) {
	var buf Buffer
	logger := buf.Logger(slog.LevelInfo)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				logger.Info("hello", "worker", i)
				_ = buf.String()
			}
		}()
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 400 {
		t.Fatalf("%d lines, want 400", len(lines))
	}
	for _, l := range lines {
		if !strings.Contains(l, "msg=hello worker=") {
			t.Fatalf("mangled line %q", l)
		}
	}
}

// TestLevel: the logger drops what is below its level.
func TestLevel(t *testing.T) {
	var buf Buffer
	logger := buf.Logger(slog.LevelWarn)
	logger.Info("quiet")
	logger.Warn("loud")
	if s := buf.String(); strings.Contains(s, "quiet") || !strings.Contains(s, "loud") {
		t.Fatalf("logged %q", s)
	}
}
