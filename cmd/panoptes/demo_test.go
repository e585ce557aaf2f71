package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/testutil/freeport"
)

// TestDemo runs `panoptes demo` as a user does: metrics of every simulated
// device reach the file within a minute, the console prints its summary
// line, and Ctrl-C (SIGINT) stops it cleanly without failed checks (the
// simulated devices outlive the node's last polls).
func TestDemo(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs the panoptes binary")
	}
	dir := t.TempDir()
	p := startPanoptes(t, "demo", "--dir", dir, "--devices", "3", "--interval", "2s",
		"--base-port", strconv.Itoa(freeport.UDPBlock(t, 3)), "--http", freeTCP(t))

	out := filepath.Join(dir, "metrics.jsonl")
	start := time.Now()
	waitFor(t, "every simulated device's interface groups and a summary line", time.Minute, p, func() bool {
		if !strings.Contains(p.log(), "msg=polled") {
			return false
		}
		data, err := os.ReadFile(out)
		if err != nil || len(data) == 0 {
			return false
		}
		seen := map[string]bool{}
		for line := range strings.SplitSeq(strings.TrimSpace(string(data)), "\n") {
			g, err := metric.Decode([]byte(line))
			if err != nil {
				t.Fatalf("a line of %s is not a metrics group: %v\n%.200s", out, err, line)
			}
			if g.Type == "interface" {
				seen[g.Resource.ID] = true
			}
		}
		return len(seen) == 3
	})
	t.Logf("metrics of 3 devices written %s after start", time.Since(start).Round(100*time.Millisecond))

	// Rates are on: from the second poll, bits/s and packets/s beside the
	// totals, and the summary line names the busiest interfaces.
	waitFor(t, "bits and packets rates and a summary line naming the busiest interfaces", time.Minute, p, func() bool {
		if !strings.Contains(p.log(), `busiest="`) {
			return false
		}
		data, _ := os.ReadFile(out)
		for line := range strings.SplitSeq(strings.TrimSpace(string(data)), "\n") {
			g, err := metric.Decode([]byte(line))
			if err != nil || g.Type != "interface" {
				continue
			}
			_, bits := g.Metric("bits_in_rate")
			_, packets := g.Metric("total_packets_out_rate")
			if bits && packets {
				return true
			}
		}
		return false
	})

	_ = p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-p.done:
		if p.err != nil {
			t.Errorf("panoptes demo exited with %v after SIGINT", p.err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("panoptes demo did not stop within 30s of SIGINT")
	}
	if n := strings.Count(p.log(), "check failed"); n > 0 {
		t.Errorf("%d checks failed; none should (the devices must outlive the node's last polls)", n)
	}
	if !strings.Contains(p.log(), "panoptes stopped") {
		t.Error(`no "panoptes stopped" line at the end`)
	}
}
