package devicestate

import (
	"slices"
	"testing"

	"github.com/panoptes-go/panoptes/internal/cluster"
)

func TestDepartures(t *testing.T) {
	prev := map[string]bool{"kept": true, "moved": true, "removed": true}
	now := map[string]bool{"kept": true, "new": true}
	inventory := map[string]bool{"kept": true, "moved": true, "new": true}
	forget, remove := departures(prev, now, inventory)
	if !slices.Equal(forget, []string{"moved"}) || !slices.Equal(remove, []string{"removed"}) {
		t.Errorf("forget %v remove %v; want [moved] and [removed]", forget, remove)
	}
}

func TestSignature(t *testing.T) {
	a := []cluster.Member{{ID: "b", Capacity: 1}, {ID: "a", Capacity: 2}}
	b := []cluster.Member{{ID: "a", Capacity: 2}, {ID: "b", Capacity: 1}}
	if signature(a) != signature(b) || signature(a) == signature(a[:1]) || signature(a) == signature([]cluster.Member{{ID: "a", Capacity: 1}, {ID: "b", Capacity: 1}}) {
		t.Error("signature must depend on the members and capacities, not their order")
	}
}
