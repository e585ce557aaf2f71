package bus

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func testPending(n int) []pending {
	out := make([]pending, n)
	for i := range out {
		out[i] = pending{subject: "panoptes.metrics.s.t", id: "id" + strconv.Itoa(i), data: []byte("data-" + strconv.Itoa(i)), groups: 1}
	}
	return out
}

func TestBufferFIFOAndLimits(t *testing.T) {
	q := newBuffer(5, 1<<20, newMetrics(nil))
	if took := q.push(testPending(3)); took != 3 {
		t.Fatalf("push 3 took %d", took)
	}
	if took := q.push(testPending(4)); took != 2 {
		t.Fatalf("push 4 into 2 free slots took %d", took)
	}
	n, bytes, dropped := q.stats()
	if n != 5 || dropped != 2 || bytes <= 0 {
		t.Fatalf("stats = %d, %d, %d; want 5 held, 2 dropped", n, bytes, dropped)
	}
	head := q.peek(2)
	if head[0].id != "id0" || head[1].id != "id1" {
		t.Fatalf("peek = %v, want id0, id1", head)
	}
	q.pop(2)
	if got := q.peek(10); len(got) != 3 || got[0].id != "id2" || got[1].id != "id0" {
		t.Fatalf("after pop: %v", got)
	}
	q.pop(3)
	if n, bytes, _ := q.stats(); n != 0 || bytes != 0 || !q.empty() {
		t.Fatalf("after popping all: %d messages, %d bytes", n, bytes)
	}

	small := newBuffer(100, 3*testPending(1)[0].size(), newMetrics(nil))
	if took := small.push(testPending(5)); took != 3 {
		t.Fatalf("byte-bounded push took %d, want 3", took)
	}
	small.drop()
	if n, _, dropped := small.stats(); n != 0 || dropped != 5 {
		t.Fatalf("after drop: %d held, %d dropped; want 0, 5", n, dropped)
	}
}

func TestBufferSpillRoundTrip(t *testing.T) {
	dir := t.TempDir()
	q := newBuffer(100, 1<<20, newMetrics(nil))
	q.push(testPending(7))
	if n, err := q.spill(dir); n != 7 || err != nil {
		t.Fatalf("spill = %d, %v", n, err)
	}
	if !q.empty() {
		t.Fatal("buffer not empty after spill")
	}
	r := newBuffer(100, 1<<20, newMetrics(nil))
	if n, err := r.unspill(dir); n != 7 || err != nil {
		t.Fatalf("unspill = %d, %v", n, err)
	}
	got := r.peek(10)
	for i, p := range got {
		if p.id != "id"+strconv.Itoa(i) || string(p.data) != "data-"+strconv.Itoa(i) || p.subject != "panoptes.metrics.s.t" {
			t.Fatalf("entry %d = %+v", i, p)
		}
	}
	if n, err := r.unspill(dir); n != 0 || err != nil {
		t.Fatalf("second unspill = %d, %v; want nothing (file removed)", n, err)
	}

	// A file cut short (crash while writing) yields its whole entries and says so.
	q.push(testPending(3))
	if _, err := q.spill(dir); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, spillFile)
	raw, _ := os.ReadFile(path)
	if err := os.WriteFile(path, raw[:len(raw)-3], 0o600); err != nil {
		t.Fatal(err)
	}
	n, err := r.unspill(dir)
	if n != 2 || err == nil || !strings.Contains(err.Error(), "damaged after 2 messages") {
		t.Fatalf("unspill of a truncated file = %d, %v", n, err)
	}
}

func TestHealthDegraded(t *testing.T) {
	for _, tc := range []struct {
		h    Health
		want string
	}{
		{Health{Connected: true}, ""},
		{Health{Connected: true, Buffered: 3}, "degraded: 3 messages buffered"},
		{Health{Buffered: 10, Dropped: 2}, "degraded: 10 messages buffered (bus disconnected), 2 dropped for a full buffer"},
	} {
		if got := tc.h.Degraded(); got != tc.want {
			t.Errorf("%+v.Degraded() = %q, want %q", tc.h, got, tc.want)
		}
	}
}
