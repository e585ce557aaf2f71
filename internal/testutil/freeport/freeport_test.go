package freeport

import "testing"

// While a test holds a port, no other test is handed it: 500 ports drawn
// from 12,000 would repeat one with near certainty (birthday odds) if
// the ports were only checked free.
func TestHeldPortsAreNotHandedOutAgain(t *testing.T) {
	seen := map[int]bool{}
	for range 250 {
		for _, p := range []int{TCP(t), UDP(t)} {
			if seen[p] {
				t.Fatalf("port %d handed out twice while held", p)
			}
			seen[p] = true
		}
	}
	held := TCP(t)
	if _, ok := reserve(t, held); ok {
		t.Fatalf("port %d reserved twice", held)
	}
}

// Once the test that held a port ends, the port can be reserved again.
func TestPortReleasedAtTestEnd(t *testing.T) {
	var p int
	t.Run("holder", func(t *testing.T) { p = TCP(t) })
	release, ok := reserve(t, p)
	if !ok {
		t.Fatalf("port %d still held after its test ended", p)
	}
	release()
}

// A block's ports are all held: none is handed out singly, and two blocks
// do not overlap.
func TestBlockHeld(t *testing.T) {
	held := map[int]bool{}
	for range 20 {
		base := UDPBlock(t, 25)
		for p := base; p < base+25; p++ {
			if held[p] {
				t.Fatalf("port %d in two blocks", p)
			}
			held[p] = true
		}
	}
	for range 300 {
		if p := UDP(t); held[p] {
			t.Fatalf("port %d of a block handed out singly", p)
		}
	}
}
