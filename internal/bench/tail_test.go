package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// The tailer reads only complete lines, counts every line, and measures
// latency from status groups' metric timestamps.
func TestTailerLatency(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.jsonl")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tl := runTailer(t, path)

	now := float64(time.Now().UnixNano()) / 1e9
	status := func(age float64) string {
		return fmt.Sprintf(`{"metrics_group_interval":60,"dimensions":[],"metrics_group_type":"status","metrics":[{"metric_creation_timestamp":%.3f,"metric_type":"gauge","metric_name":"polling_status","metric_value":0}]}`+"\n", now-age)
	}
	other := `{"metrics_group_type":"interface","metrics":[{"metric_creation_timestamp":1,"metric_name":"bits_in"}]}` + "\n"
	// 98 lines 0.1 s old and 2 lines 2 s old: the p99 is one of the latter
	// (with one, it was a 0.1 s line, whose histogram bucket's middle can
	// read 98.6 ms when the tailer is quick).
	for i := 0; i < 98; i++ {
		fmt.Fprint(f, status(0.1))
	}
	fmt.Fprint(f, status(2))
	fmt.Fprint(f, status(2))
	fmt.Fprint(f, other)
	fmt.Fprint(f, `{"metrics_group_type":"status","metrics":[{"metric_creation_timestamp":`) // incomplete: not read yet
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, _, lines := tl.quantiles()
		if lines == 101 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("tailer read %d lines, want 101", lines)
		}
		time.Sleep(20 * time.Millisecond)
	}
	p50, p99, _ := tl.quantiles()
	if p50 < 90*time.Millisecond || p50 > 400*time.Millisecond {
		t.Errorf("p50 = %v, want about 100ms", p50)
	}
	if p99 < 1900*time.Millisecond || p99 > 2500*time.Millisecond {
		t.Errorf("p99 = %v, want about 2s", p99)
	}
	tl.reset()
	if _, _, lines := tl.quantiles(); lines != 0 {
		t.Errorf("reset kept %d lines", lines)
	}
}

// A line longer than the tailer's buffer is still read whole, and a large
// backlog is counted line by line.
func TestTailerLongLinesAndBacklog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.jsonl")
	long := `{"metrics_group_type":"interface","x":"` + strings.Repeat("a", 3<<20) + `"}` + "\n"
	var backlog strings.Builder
	backlog.WriteString(long)
	for i := 0; i < 20000; i++ {
		fmt.Fprintf(&backlog, `{"metrics_group_type":"interface","seq":%d}`+"\n", i)
	}
	if err := os.WriteFile(path, []byte(backlog.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	tl := runTailer(t, path)
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, _, lines := tl.quantiles()
		if lines == 20001 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("tailer counted %d lines, want 20001", lines)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The file sink rotates by size: the tailer finishes the old file and
// follows the new one at the same path.
func TestTailerFollowsRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.jsonl")
	line := `{"metrics_group_type":"interface"}` + "\n"
	if err := os.WriteFile(path, []byte(strings.Repeat(line, 10)), 0o600); err != nil {
		t.Fatal(err)
	}
	tl := runTailer(t, path)
	waitLines := func(want uint64) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			if _, _, n := tl.quantiles(); n == want {
				return
			}
			if time.Now().After(deadline) {
				_, _, n := tl.quantiles()
				t.Fatalf("tailer counted %d lines, want %d", n, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitLines(10)
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(strings.Repeat(line, 7)), 0o600); err != nil {
		t.Fatal(err)
	}
	waitLines(17)
}

// While polls average more than sampleAbove lines — in bursts, as the sink
// writes batches — the tailer looks at one line in sampleStride; once the
// file is quiet again, at every line.
func TestTailerSampler(t *testing.T) {
	var s sampler
	taken := func(n int) (k int) {
		for range n {
			if s.take() {
				k++
			}
		}
		return k
	}
	if got := taken(4000); got != 4000 {
		t.Fatalf("first poll: %d of 4000 lines taken, want all", got)
	}
	// A burst of 2,000 lines every tenth poll: 200 lines per poll.
	for range 10 {
		s.endPoll(2000)
		for range 9 {
			s.endPoll(0)
		}
	}
	if got, want := taken(4000), 4000/sampleStride; got != want {
		t.Fatalf("in bursts averaging %d lines per poll: %d of 4000 lines taken, want %d", 2*sampleAbove, got, want)
	}
	for range 100 {
		s.endPoll(sampleAbove / 10)
	}
	if got := taken(100); got != 100 {
		t.Fatalf("after quiet polls: %d of 100 lines taken, want all", got)
	}
}

// The tailer reads when the sink writes, not on a 20ms clock: idle, it reads
// the file about once a second (its safety tick), and a line written is
// read without waiting for that tick.
func TestTailerReadsOnWrite(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("inotify: Linux only; elsewhere the tailer polls every 20ms")
	}
	path := filepath.Join(t.TempDir(), "m.jsonl")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tl := runTailer(t, path)
	time.Sleep(100 * time.Millisecond) // started and read the empty file
	p0 := tl.polls.Load()
	time.Sleep(500 * time.Millisecond)
	if idle := tl.polls.Load() - p0; idle > 2 {
		t.Errorf("idle for 500ms, the tailer read the file %d times (a 20ms poll: ~25)", idle)
	}
	for i := range 3 {
		fmt.Fprintln(f, `{"metrics_group_type":"interface"}`)
		start := time.Now()
		for {
			if _, _, n := tl.quantiles(); n == uint64(i+1) {
				break
			}
			if time.Since(start) > 5*time.Second {
				t.Fatalf("line %d not read after 5s", i+1)
			}
			time.Sleep(time.Millisecond)
		}
		// The safety tick is 1s: reading sooner than that every time
		// means the write woke the tailer.
		if d := time.Since(start); d > 900*time.Millisecond {
			t.Errorf("line %d read %v after its write: not woken by it", i+1, d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// runTailer starts a tailer of path, stopped when the test ends.
func runTailer(t *testing.T, path string) *tailer {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	tl := newTailer(path)
	go tl.run(ctx)
	return tl
}
