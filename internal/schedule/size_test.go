package schedule

import (
	"testing"
	"unsafe"
)

// TestEntrySize: a check's entry fits the 96-byte size class; the
// one-byte fields apart (between the words) took 104, allocated as 112.
func TestEntrySize(t *testing.T) {
	if n := unsafe.Sizeof(entry{}); n > 96 {
		t.Errorf("a scheduler entry takes %d bytes, want at most 96 (one-byte fields together at the end)", n)
	}
}
