package snmp

import (
	"context"
	"fmt"
	"testing"
	"unsafe"
)

// TestWalkColumnsIn: a column walk into an Arena returns what walking each
// root alone returns (names and types; values are checked by the
// interface plugin's tests), whatever max-repetitions and expected size,
// on both transports; from the second walk on, the names and numbers are
// decoded into the arena's memory, the same at every walk (no new text
// arena or word slab), and the results point into it.
func TestWalkColumnsIn(t *testing.T) {
	d := startSim(t, 1).Devices()[0]
	for _, transport := range []string{"shared", "connected"} {
		for _, reps := range []int{7, 49} {
			for _, size := range []int{0, 48} {
				t.Run(fmt.Sprintf("%s/reps%d/size%d", transport, reps, size), func(t *testing.T) {
					p := NewPool(PoolOptions{ConnectedSockets: transport == "connected"})
					defer p.Close()
					tg := simTarget(d)
					tg.MaxRepetitions = reps
					want := walkEach(t, p, tg, columnRoots)
					a := new(Arena)
					var text *byte
					var words *uint64
					for round := range 4 {
						out := make([][]Varbind, len(columnRoots))
						if err := p.WalkColumnsIn(context.Background(), tg, columnRoots, size, out, a); err != nil {
							t.Fatal(err)
						}
						for i, root := range columnRoots {
							sameNames(t, fmt.Sprintf("round %d, column %s", round, root), out[i], want[i])
						}
						if round < 2 {
							text, words = unsafe.SliceData(a.text), unsafe.SliceData(a.words)
							continue
						}
						if unsafe.SliceData(a.text) != text || unsafe.SliceData(a.words) != words || text == nil || words == nil {
							t.Fatalf("round %d: the walk did not decode into the arena's memory", round)
						}
						// A column walk's answers: the names of columnRoots[0] are in
						// the arena (the scalar's GET is decoded on its own).
						name := unsafe.StringData(out[0][0].Name)
						if base := uintptr(unsafe.Pointer(text)); uintptr(unsafe.Pointer(name)) < base || uintptr(unsafe.Pointer(name)) >= base+uintptr(cap(a.text)) {
							t.Fatalf("round %d: %s is not in the arena", round, out[0][0].Name)
						}
					}
				})
			}
		}
	}
}

// TestArenaGrows: an arena too small for a walk (8 bytes and a word, for
// ~7 KB and 300 words) is replaced by one of the size the walk took, once.
func TestArenaGrows(t *testing.T) {
	a := &Arena{text: make([]byte, 0, 8), words: make([]uint64, 0, 1)}
	d := decoder{walk: true}
	a.lend(&d)
	for range 300 {
		d.left = 100
		if _, ok := d.oidText([]byte{0x2b, 6, 1, 2, 1, 2, 2, 1, 10, byte(len(d.text) % 100)}); !ok {
			t.Fatal("oidText")
		}
		d.prevOID = nil
		_ = boxWord(&d, uint64(1<<20))
	}
	used := d.spentText + len(d.text)
	a.take(&d)
	if used < 4096 || a.text != nil || a.wantText < used || a.wantWords < 300 {
		t.Fatalf("after a walk of %d bytes of text: arena %d bytes, next %d bytes, %d words", used, cap(a.text), a.wantText, a.wantWords)
	}
	d = decoder{walk: true}
	a.lend(&d)
	if cap(d.text) < used || cap(d.words) < 300 {
		t.Fatalf("the next walk starts with %d bytes and %d words, want %d and 300", cap(d.text), cap(d.words), used)
	}
	// A walk that fits keeps the arena's memory.
	text := unsafe.SliceData(d.text)
	d.text = append(d.text, "1.3.6"...)
	a.take(&d)
	if unsafe.SliceData(a.text) != text || a.wantText != 0 {
		t.Fatal("an arena that held its walk was not kept")
	}
}
