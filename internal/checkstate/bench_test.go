package checkstate

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

// BenchmarkRecord is one check run recorded into its Entry, as the
// collector does after every check. "hot" records into one entry (it
// stays in the CPU's cache); "50000" records round-robin into as many
// entries as a node at 50,000 light checks/s has, so each record finds its
// entry out of cache, as it does in a node.
//
//	go test -run '^$' -bench Record -benchmem ./internal/checkstate
func BenchmarkRecord(b *testing.B) {
	for _, n := range []int{1, 50_000} {
		name := fmt.Sprint(n)
		if n == 1 {
			name = "hot"
		}
		b.Run(name, func(b *testing.B) {
			book := New()
			entries := make([]*Entry, n)
			for i := range entries {
				entries[i] = book.Entry(fmt.Sprintf("bench|network|switch|cisco|sw%d", i/10), fmt.Sprintf("uptime-%d", i%10))
			}
			t0 := time.Now()
			refs := []MessageRef{{Stream: "PANOPTES", Seq: 1}}
			run := func(i int) Run {
				start := t0.Add(time.Duration(i) * time.Microsecond)
				return Run{Plugin: "uptime-0", Interval: time.Second, Start: start, End: start.Add(3 * time.Millisecond),
					NextDue: start.Add(time.Second), Messages: refs}
			}
			for i := range HistoryLen * n { // every ring full, as after a minute
				if n > 1 && i > 2*n {
					break
				}
				entries[i%n].Record(run(i))
			}
			b.ResetTimer()
			for i := range b.N {
				entries[i%n].Record(run(i))
			}
		})
	}
}

// BenchmarkBookBytesPerResource reports the heap a book keeps per
// resource (book-B/resource) for 10,000 resources of one check each (an
// interface poll per switch), before any run: the book's own structure,
// without the entries' history rings.
//
//	go test -run '^$' -bench BookBytes -benchtime 5x ./internal/checkstate
func BenchmarkBookBytesPerResource(b *testing.B) {
	const n = 10_000
	keys := benchKeys(n)
	var perRes float64
	for b.Loop() {
		perRes = heapGrowth(func() any {
			book := New()
			for _, k := range keys {
				book.Entry(k, "interface-0")
			}
			return book
		}) / n
	}
	b.ReportMetric(perRes, "book-B/resource")
}

// benchKeys is n switch48 resource keys, as the harness names them.
func benchKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("bench|network|switch|cisco|switch48-%05d", i)
	}
	return keys
}

// heapGrowth is the heap, in bytes, that what build returns keeps.
func heapGrowth(build func() any) float64 {
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	kept := build()
	runtime.GC()
	runtime.ReadMemStats(&m1)
	runtime.KeepAlive(kept)
	return float64(m1.HeapAlloc) - float64(m0.HeapAlloc)
}

// BenchmarkEntryBytesPerCheck reports the heap a book keeps per check
// (book-B/check) once each check's history is full: 10,000 resources of
// one one-minute check each (an interface poll per switch), HistoryLen
// runs recorded into each.
//
//	go test -run '^$' -bench EntryBytes -benchtime 3x ./internal/checkstate
func BenchmarkEntryBytesPerCheck(b *testing.B) {
	const n = 10_000
	keys := benchKeys(n)
	t0 := time.Unix(1_800_000_000, 0)
	refs := []MessageRef{{Stream: "PANOPTES", Seq: 1}}
	var perCheck float64
	for b.Loop() {
		perCheck = heapGrowth(func() any {
			book := New()
			for _, k := range keys {
				e := book.Entry(k, "interface-0")
				for i := range HistoryLen {
					start := t0.Add(time.Duration(i) * time.Minute)
					e.Record(Run{Plugin: "interface-0", Interval: time.Minute, Start: start, End: start.Add(800 * time.Millisecond),
						NextDue: start.Add(time.Minute), Messages: refs})
				}
			}
			return book
		}) / n
	}
	b.ReportMetric(perCheck, "book-B/check")
}
