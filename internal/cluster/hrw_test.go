package cluster

import (
	"fmt"
	"math"
	"testing"
)

func members(ids ...string) []Member {
	out := make([]Member, len(ids))
	for i, id := range ids {
		out[i] = Member{ID: id, Capacity: 1}
	}
	return out
}

func keys(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("lab|network|switch|generic|sw%05d", i)
	}
	return out
}

// Every node gets about 1/N of the keys.
func TestOwnerBalance(t *testing.T) {
	ms := members("poller-1", "poller-2", "poller-3", "poller-4", "poller-5")
	ks := keys(20000)
	count := map[string]int{}
	for _, owner := range Assign(ms, ks) {
		count[owner]++
	}
	want := float64(len(ks)) / float64(len(ms))
	for _, m := range ms {
		if dev := math.Abs(float64(count[m.ID])-want) / want; dev > 0.05 {
			t.Errorf("%s owns %d keys, want %.0f ±5%%", m.ID, count[m.ID], want)
		}
	}
	t.Logf("shares over %d keys: %v", len(ks), count)
}

// A node joining takes about 1/N and no key moves between the old nodes;
// a node leaving gives away only its own keys.
func TestOwnerMinimalMovement(t *testing.T) {
	ks := keys(10000)
	before := Assign(members("a", "b", "c"), ks)
	after := Assign(members("a", "b", "c", "d"), ks)
	moved := 0
	for _, k := range ks {
		if before[k] == after[k] {
			continue
		}
		moved++
		if after[k] != "d" {
			t.Fatalf("key %s moved from %s to %s: only moves to the new node are allowed", k, before[k], after[k])
		}
	}
	if share := float64(moved) / float64(len(ks)); share < 0.22 || share > 0.28 {
		t.Errorf("the joining node took %.3f of the keys, want about 0.25", share)
	}
	gone := Assign(members("a", "c", "d"), ks)
	for _, k := range ks {
		if after[k] != "b" && gone[k] != after[k] {
			t.Fatalf("key %s moved from %s to %s although only b left", k, after[k], gone[k])
		}
	}
}

// A member with twice the capacity owns about twice as many keys.
func TestOwnerCapacity(t *testing.T) {
	ms := []Member{{ID: "big", Capacity: 2}, {ID: "small-1", Capacity: 1}, {ID: "small-2", Capacity: 1}}
	count := map[string]int{}
	for _, owner := range Assign(ms, keys(20000)) {
		count[owner]++
	}
	if r := float64(count["big"]) / float64(count["small-1"]); r < 1.8 || r > 2.2 {
		t.Errorf("big/small share = %.2f (%v), want about 2", r, count)
	}
}

func TestOwnerEdgeCases(t *testing.T) {
	if got := Owner(nil, "k"); got != "" {
		t.Errorf("Owner of no members = %q, want empty", got)
	}
	ms := members("x", "y")
	a, b := Owner(ms, "k"), Owner([]Member{ms[1], ms[0]}, "k")
	if a != b {
		t.Errorf("owner depends on member order: %q vs %q", a, b)
	}
	// Pinned values: the hash must never change between versions, or
	// nodes of different versions would disagree on owners.
	const pinnedHash = 0x1a12cfba0e27e237
	if h := pairHash("node-1", "lab|network|switch|generic|sw1"); h != pinnedHash {
		t.Errorf("pairHash changed: %#x, want %#x", h, pinnedHash)
	}
}

func BenchmarkOwner(b *testing.B) {
	ms := members("p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8")
	ks := keys(1024)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		_ = Owner(ms, ks[i&1023])
	}
}
