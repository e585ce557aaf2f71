//go:build unix

package rotate

import (
	"bytes"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// BenchmarkWriteAll appends batches of 2,000 interface-sized lines (5.4 KB,
// ~10.8 MB a batch: what a file sink takes in per batch at 10,000 devices)
// to one growing file, each batch flushed and fsynced, and reports the
// process's CPU per byte (getrusage: user+system, and system alone). The
// first case is the engine as it was (64 KiB buffer, pages left cached),
// the last as it is. The cost of a cached page depends on the machine: in
// a VM that hands free memory back to its host, a new page faults in the
// host, so run the cases in both orders and with -count.
//
//	go test -run '^$' -bench WriteAll -benchtime 2000x -count 3 ./internal/sink/file/rotate
func BenchmarkWriteAll(b *testing.B) {
	for _, c := range []struct {
		name       string
		buffer     int
		keepCached int64
	}{
		{"buffer=64KiB/pages=cached", 64 << 10, -1},
		{"buffer=1MiB/pages=cached", 1 << 20, -1},
		{"buffer=64KiB/pages=dropped", 64 << 10, keepCached},
		{"buffer=1MiB/pages=dropped", bufferSize, keepCached},
	} {
		b.Run(c.name, func(b *testing.B) {
			line := bytes.Repeat([]byte(`{"metrics":"x"}`), 360) // 5,400 bytes
			batch := make([][]byte, 2000)
			for i := range batch {
				batch[i] = line
			}
			r := New("bench", filepath.Join(b.TempDir(), "out.jsonl"), 1<<40, 1, nil)
			r.bufferSize, r.keepCached = c.buffer, c.keepCached
			defer r.Close()
			b.SetBytes(int64(len(line)+1) * int64(len(batch)))
			user0, sys0 := rusage(b)
			b.ResetTimer()
			for range b.N {
				if err := r.WriteLines(batch); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			user1, sys1 := rusage(b)
			bytes := float64(b.N) * float64(len(line)+1) * float64(len(batch))
			b.ReportMetric(float64((user1-user0)+(sys1-sys0))/bytes, "cpu-ns/B")
			b.ReportMetric(float64(sys1-sys0)/bytes, "sys-ns/B")
		})
	}
}

func rusage(b *testing.B) (user, sys time.Duration) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
}
