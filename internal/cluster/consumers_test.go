package cluster

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestPartitionOwners: the members running a consumer split its
// partitions, each read by exactly one; a member that does not run it
// reads none; a draining member hands its partitions over, the last one
// keeps reading; a dead one's move after its TTL; before Start a node
// reads only a consumer nobody else runs.
func TestPartitionOwners(t *testing.T) {
	js := openBus(t)
	const hb = 200 * time.Millisecond
	joinRunning := func(id string, consumers ...string) *Cluster {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := Join(ctx, Options{JS: js, Self: Member{ID: id, Site: "hub", Roles: []string{RolePoller}, Capacity: 1, Consumers: consumers}, Heartbeat: hb})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Abandon)
		return c
	}
	a := joinRunning("a", "influx")
	if !a.OwnsPartition("influx", "P0") {
		t.Fatal("alone and not started, a does not read its consumer")
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	b := joinRunning("b", "influx", "file")
	if b.OwnsPartition("influx", "P0") && a.OwnsPartition("influx", "P0") {
		t.Fatal("b reads a's partitions before it started")
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	c := joinRunning("c") // runs no consumer
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	parts := make([]string, 9)
	for i := range parts {
		parts[i] = fmt.Sprintf("PANOPTES_METRICS_G1_P%d", i)
	}
	split := func() map[string]int {
		count := map[string]int{}
		for _, p := range parts {
			var readers []string
			for _, m := range []*Cluster{a, b, c} {
				if m.OwnsPartition("influx", p) {
					readers = append(readers, m.ID())
				}
			}
			if len(readers) != 1 {
				return nil
			}
			count[readers[0]]++
		}
		return count
	}
	waitFor(t, 5*time.Second, "a and b to split influx's partitions", func() bool {
		s := split()
		return s != nil && s["a"] > 0 && s["b"] > 0 && s["c"] == 0
	})
	for _, p := range parts {
		if !b.OwnsPartition("file", p) || a.OwnsPartition("file", p) {
			t.Fatalf("file runs on b alone, yet %s: a %v, b %v", p, a.OwnsPartition("file", p), b.OwnsPartition("file", p))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "b to read every partition while a drains", func() bool {
		s := split()
		return s != nil && s["b"] == len(parts)
	})
	b.Abandon() // dies: a, though draining, is the last to run influx
	waitFor(t, 5*time.Second, "a to read every partition again", func() bool {
		for _, p := range parts {
			if !a.OwnsPartition("influx", p) {
				return false
			}
		}
		return true
	})
}

// SetConsumers (a reload added a sink): the node reads the new consumer's
// partitions, and another node running it shares them with it.
func TestSetConsumers(t *testing.T) {
	js := openBus(t)
	const hb = 200 * time.Millisecond
	a := join(t, js, "a", "hub", hb)
	b := join(t, js, "b", "hub", hb)
	if a.OwnsPartition("two", "P0") || b.OwnsPartition("two", "P0") {
		t.Fatal("a consumer nobody runs is read")
	}
	a.SetConsumers([]string{"two"})
	if !a.OwnsPartition("two", "P0") {
		t.Fatal("a does not read the consumer it added")
	}
	b.SetConsumers([]string{"two"})
	waitFor(t, 5*time.Second, "a and b to split two's partitions", func() bool {
		var na, nb int
		for i := range 16 {
			p := fmt.Sprintf("P%d", i)
			oa, ob := a.OwnsPartition("two", p), b.OwnsPartition("two", p)
			if oa == ob {
				return false
			}
			if oa {
				na++
			} else {
				nb++
			}
		}
		return na > 0 && nb > 0
	})
	a.SetConsumers(nil)
	waitFor(t, 5*time.Second, "b to read all of two once a dropped it", func() bool {
		for i := range 16 {
			if !b.OwnsPartition("two", fmt.Sprintf("P%d", i)) || a.OwnsPartition("two", fmt.Sprintf("P%d", i)) {
				return false
			}
		}
		return true
	})
}
