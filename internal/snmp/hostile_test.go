package snmp

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/sim"
)

const oidIfDescr = ".1.3.6.1.2.1.2.2.1.2"

// hostileDevice starts one simulated switch48 device that misbehaves as h says.
func hostileDevice(t *testing.T, h sim.Hostile) *sim.Device {
	t.Helper()
	d := startSim(t, 1).Devices()[0]
	d.SetHostile(h)
	return d
}

// TestWalkLimit: the walks under one WalkLimit stop, together, once they
// pass it, with ErrWalkLimit (kind internal) and no varbinds; the agent
// was asked for no more than the limit and one response.
func TestWalkLimit(t *testing.T) {
	d := hostileDevice(t, sim.Hostile{TableRows: 20_000})
	p, _, _ := testPool(t, 1)
	target := simTarget(d)
	target.MaxRepetitions = 100

	ctx := WithWalkLimit(context.Background(), 30_000)
	vbs, err := p.Walk(ctx, target, oidIfDescr)
	if err != nil || len(vbs) != 20_000 {
		t.Fatalf("first column: %d varbinds, %v; want 20000 within the limit", len(vbs), err)
	}
	before := d.Stats().Varbinds
	vbs, err = p.Walk(ctx, target, ".1.3.6.1.2.1.2.2.1.10")
	if !errors.Is(err, ErrWalkLimit) || vbs != nil || KindOf(err) != KindInternal {
		t.Fatalf("second column under the same limit: %d varbinds, %v (kind %v); want ErrWalkLimit", len(vbs), err, KindOf(err))
	}
	if asked := d.Stats().Varbinds - before; asked > 10_000+100 {
		t.Errorf("the second walk read %d varbinds; the limit left 10000 (+ one response)", asked)
	}
	t.Log(err)
}

// TestWalkLimitEndlessTable: a table that never ends (an agent whose OIDs
// increase forever, in answers as large as a datagram) stops at the limit.
// The number of varbinds the agent answered is the counted bound. A walk
// whose ctx has no limit gets DefaultWalkLimit of its own.
func TestWalkLimitEndlessTable(t *testing.T) {
	if l := walkLimitOf(context.Background()); l.limit != DefaultWalkLimit || l.left.Load() != DefaultWalkLimit {
		t.Fatalf("a walk without a limit in its ctx gets %d (%d left), want DefaultWalkLimit", l.limit, l.left.Load())
	}
	d := hostileDevice(t, sim.Hostile{TableRows: 1<<31 - 1, Oversize: true})
	p, _, _ := testPool(t, 1)
	const limit = 100_000
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	vbs, err := p.Walk(WithWalkLimit(ctx, limit), simTarget(d), oidIfDescr)
	if !errors.Is(err, ErrWalkLimit) || vbs != nil {
		t.Fatalf("endless table: %d varbinds, %v; want ErrWalkLimit", len(vbs), err)
	}
	// Oversized answers hold ~2,500 varbinds each: the walk may pass the
	// limit by one answer before it stops.
	if got := d.Stats().Varbinds; got < limit || got > limit+5_000 {
		t.Errorf("agent answered %d varbinds; want the limit %d (+ one answer)", got, limit)
	}
}

// TestWalkLimitBoundsMemory measures what a walked varbind costs while a
// walk's result is held (DefaultWalkLimit's comment relies on it): a
// 100,000-row column's live heap, divided by its rows.
func TestWalkLimitBoundsMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("walks 100,000 rows")
	}
	const rows = 100_000
	d := hostileDevice(t, sim.Hostile{TableRows: rows})
	p, _, _ := testPool(t, 1)
	target := simTarget(d)
	target.MaxRepetitions = 200
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	before := heap()
	vbs, err := p.Walk(context.Background(), target, ".1.3.6.1.2.1.2.2.1.10")
	if err != nil || len(vbs) != rows {
		t.Fatalf("walk: %d varbinds, %v", len(vbs), err)
	}
	held := heap() - before
	runtime.KeepAlive(vbs)
	perVarbind := float64(held) / rows
	t.Logf("%d varbinds held in %.1f MB: %.0f bytes each; a check at DefaultWalkLimit holds at most %.0f MB",
		rows, float64(held)/1e6, perVarbind, perVarbind*DefaultWalkLimit/1e6)
	if perVarbind > 150 {
		t.Errorf("a walked varbind holds %.0f bytes; DefaultWalkLimit's bound (about 130 MB a check) assumes about 130", perVarbind)
	}
}

// TestWalkLoop: an agent whose walk goes back is in a loop, whether it
// jumps back inside the subtree or out of it (which a walk must not take
// for the table's end: the table would be cut short without an error).
func TestWalkLoop(t *testing.T) {
	for _, h := range []sim.Hostile{{Stuck: true}, {LoopEvery: 40}, {LoopEvery: 3}} {
		d := hostileDevice(t, h)
		p, _, _ := testPool(t, 1)
		for _, root := range []string{".1.3.6.1.2.1.2.2.1.1", ".1.3.6.1.2.1.31.1.1.1.6"} {
			vbs, err := p.Walk(context.Background(), simTarget(d), root)
			if !errors.Is(err, ErrNotIncrease) || vbs != nil || KindOf(err) != KindInternal {
				t.Errorf("%+v, walk %s: %d varbinds, %v; want ErrNotIncrease", h, root, len(vbs), err)
			}
		}
	}
}

// TestRequestIDsScrambled: the shared socket's request ids are unique and
// never the previous one's neighbour.
func TestRequestIDsScrambled(t *testing.T) {
	var mx mux
	seen := map[int32]bool{}
	prev := mx.nextID()
	for range 100_000 {
		id := mx.nextID()
		if seen[id] || id <= 0 || id-prev == 1 || prev-id == 1 {
			t.Fatalf("id %d after %d (seen before: %v)", id, prev, seen[id])
		}
		seen[id], prev = true, id
	}
}

// TestWrongRequestID: an agent answering with the request's id + 1 gets its
// answers dropped, even while other requests to it are pending (concurrent
// walks on the shared socket): every walk times out, none takes another's
// answer.
func TestWrongRequestID(t *testing.T) {
	d := hostileDevice(t, sim.Hostile{WrongRequestID: true})
	p, _, _ := testPool(t, 4)
	target := simTarget(d)
	target.Timeout, target.Retries = 300*time.Millisecond, 1
	roots := []string{".1.3.6.1.2.1.2.2.1.1", ".1.3.6.1.2.1.2.2.1.2", ".1.3.6.1.2.1.2.2.1.10", ".1.3.6.1.2.1.31.1.1.1.6"}
	errs := make([]error, len(roots))
	n := make([]int, len(roots))
	done := make(chan int)
	for i, root := range roots {
		go func() {
			vbs, err := p.Walk(context.Background(), target, root)
			n[i], errs[i] = len(vbs), err
			done <- i
		}()
	}
	for range roots {
		<-done
	}
	for i, root := range roots {
		if KindOf(errs[i]) != KindTimeout || n[i] != 0 {
			t.Errorf("walk %s: %d varbinds, %v; want a timeout", root, n[i], errs[i])
		}
	}
}
