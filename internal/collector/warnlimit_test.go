package collector

import (
	"testing"
	"time"
)

// At most warnBurst lines a second; the first line after some were left
// out says how many.
func TestWarnLimit(t *testing.T) {
	var l warnLimit
	t0 := time.Unix(1_800_000_000, 0)
	for i := range warnBurst {
		if ok, left := l.allow(t0.Add(time.Duration(i) * time.Millisecond)); !ok || left != 0 {
			t.Fatalf("line %d: allowed %v, left out %d", i, ok, left)
		}
	}
	for i := range 5 {
		if ok, _ := l.allow(t0.Add(500*time.Millisecond + time.Duration(i))); ok {
			t.Fatalf("line %d past the burst was allowed", warnBurst+i)
		}
	}
	if ok, left := l.allow(t0.Add(time.Second)); !ok || left != 5 {
		t.Fatalf("next second: allowed %v, left out %d, want 5", ok, left)
	}
	if ok, left := l.allow(t0.Add(time.Second + time.Millisecond)); !ok || left != 0 {
		t.Fatalf("then: allowed %v, left out %d", ok, left)
	}
}
