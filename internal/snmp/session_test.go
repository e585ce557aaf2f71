package snmp

import (
	"context"
	"testing"
	"time"
)

// TestWalkSized: a walk's expected size changes how its result is
// allocated, never what it holds, whether the guess is right, short or long.
func TestWalkSized(t *testing.T) {
	tg := simTarget(startSim(t, 1).Devices()[0])
	for _, transport := range []string{"shared", "connected"} {
		t.Run(transport, func(t *testing.T) {
			p := NewPool(PoolOptions{ConnectedSockets: transport == "connected"})
			defer p.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			for _, root := range []string{oidIfTable, oidIfXTable} {
				want, err := p.Walk(ctx, tg, root)
				if err != nil {
					t.Fatal(err)
				}
				if len(want) < 100 {
					t.Fatalf("walk %s: %d varbinds, want a 48-port table", root, len(want))
				}
				for _, size := range []int{1, len(want) / 2, len(want), 10 * len(want)} {
					got, err := p.WalkSized(ctx, tg, root, size)
					if err != nil {
						t.Fatal(err)
					}
					sameNames(t, root, got, want)
					if r := tg.MaxRepetitions; size == len(want) && cap(got) != (size/r+1)*r {
						t.Errorf("walk %s sized %d: capacity %d, want %d (allocated once)", root, size, cap(got), (size/r+1)*r)
					}
					// The same walk into the earlier result's array (a
					// caller that is done with it), and into one too small.
					for _, buf := range [][]Varbind{got, got[:0:1]} {
						into, err := p.WalkSizedInto(ctx, tg, root, size, buf)
						if err != nil {
							t.Fatal(err)
						}
						sameNames(t, root, into, want)
						if reused := &buf[:1][0] == &into[0]; reused != (cap(buf) >= cap(got)) {
							t.Errorf("walk %s sized %d into a buffer of %d: in its array %v", root, size, cap(buf), reused)
						}
					}
				}
			}
		})
	}
}

// sameNames fails the test unless got and want have the same names and
// types in the same order (a simulated device's counters move meanwhile).
func sameNames(t *testing.T, what string, got, want []Varbind) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d varbinds, want %d", what, len(got), len(want))
	}
	for i := range got {
		if got[i].Name != want[i].Name || got[i].Type != want[i].Type {
			t.Fatalf("%s: varbind %d is %s (%v), want %s (%v)", what, i, got[i].Name, got[i].Type, want[i].Name, want[i].Type)
		}
	}
}
