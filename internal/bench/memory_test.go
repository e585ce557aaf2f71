package bench

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// The memory account adds up: the classes the runtime reports are parts of
// its total, the heap's live bytes are within its objects, and the kernel's
// split of RSS is read.
func TestReadMemory(t *testing.T) {
	keep := make([]byte, 8<<20) // a live object the account must show
	for i := range keep {
		keep[i] = byte(i)
	}
	m := readMemory()
	if m.HeapObjectsBytes < uint64(len(keep)) {
		t.Errorf("heap objects %d bytes, want at least the %d held", m.HeapObjectsBytes, len(keep))
	}
	parts := m.HeapObjectsBytes + m.HeapFreeBytes + m.HeapUnusedBytes + m.HeapReleasedBytes + m.HeapStacksBytes +
		m.OSStacksBytes + m.MetadataBytes + m.ProfBucketsBytes + m.OtherBytes
	if parts > m.TotalBytes || parts < m.TotalBytes*9/10 {
		t.Errorf("classes add up to %d bytes, total %d", parts, m.TotalBytes)
	}
	if m.HeapGoalBytes == 0 || m.Goroutines == 0 || m.RSSAnonBytes <= 0 || m.RSSFileBytes <= 0 {
		t.Errorf("missing figures: %+v", m)
	}
	if keep[len(keep)-1] != byte(len(keep)-1) {
		t.Fatal("unreachable")
	}
}

func TestWriteGoroutineProfile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "g")
	if err := writeGoroutineProfile(path); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "TestWriteGoroutineProfile") {
		t.Errorf("profile lacks this test's goroutine:\n%.500s", b)
	}
}

// allocAndGC counts what is allocated and collected between two reads.
func TestAllocAndGC(t *testing.T) {
	before := allocAndGC()
	var keep [][]byte
	for range 64 {
		keep = append(keep, make([]byte, 64<<10))
	}
	runtime.GC()
	after := allocAndGC()
	if got := after[0] - before[0]; got < uint64(len(keep))*64<<10 {
		t.Errorf("allocated %d bytes between the reads, want at least %d", got, len(keep)*64<<10)
	}
	if after[1] <= before[1] {
		t.Errorf("GC cycles %d then %d, want more after runtime.GC", before[1], after[1])
	}
	runtime.KeepAlive(keep)
}
