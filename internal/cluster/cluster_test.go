package cluster

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/panoptes-go/panoptes/internal/bus"
)

func openBus(t *testing.T) jetstream.JetStream {
	t.Helper()
	if testing.Short() {
		t.Skip("runs an embedded NATS server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := bus.Open(ctx, bus.Options{DataDir: t.TempDir(), MaxBytes: 64 << 20, Name: t.Name()})
	if err != nil {
		t.Fatalf("open bus: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b.JetStream()
}

func join(t *testing.T, js jetstream.JetStream, id, site string, hb time.Duration, roles ...string) *Cluster {
	t.Helper()
	if len(roles) == 0 {
		roles = []string{RolePoller, RoleDiscovery, RoleResourceManager}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Join(ctx, Options{JS: js, Self: Member{ID: id, Site: site, Roles: roles, Capacity: 1, Version: "test"}, Heartbeat: hb})
	if err != nil {
		t.Fatalf("join %s: %v", id, err)
	}
	t.Cleanup(c.Abandon)
	if err := c.Start(ctx); err != nil {
		t.Fatalf("start %s: %v", id, err)
	}
	return c
}

// waitFor polls cond until it holds, failing after d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > d {
			t.Fatalf("%s: not true after %s", what, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

func ids(ms []Member) []string { return sortedIDs(ms) }

// settle waits until no node sees a member still joining (before its
// JoinAt, the keys moving to it have two owners, in turn).
func settle(t *testing.T, cs ...*Cluster) {
	t.Helper()
	waitFor(t, 5*time.Second, "every join time passed", func() bool {
		for _, c := range cs {
			if len(c.Joining()) != 0 {
				return false
			}
		}
		return true
	})
}

func leaders(cs ...*Cluster) []string {
	var out []string
	for _, c := range cs {
		if c.IsLeader() {
			out = append(out, c.ID())
		}
	}
	return out
}

// Three nodes agree on the pollers and on one leader; a node that dies
// silently is dropped after the TTL and its leadership passes on; a node
// that leaves gracefully is dropped at once.
func TestMembershipAndLeadership(t *testing.T) {
	js := openBus(t)
	const hb = 200 * time.Millisecond
	a := join(t, js, "a", "lab", hb)
	b := join(t, js, "b", "lab", hb)
	c := join(t, js, "c", "lab", hb)
	other := join(t, js, "o", "remote", hb)
	consumer := join(t, js, "k", "lab", hb, "consumer")
	all := []*Cluster{a, b, c}
	want := []string{"a", "b", "c"}
	waitFor(t, 2*time.Second, "every node sees pollers a, b, c", func() bool {
		for _, n := range all {
			if !slices.Equal(ids(n.Pollers()), want) {
				return false
			}
		}
		return true
	})
	settle(t, a, b, c, other, consumer)
	if got := ids(other.Pollers()); !slices.Equal(got, []string{"o"}) {
		t.Errorf("remote site's pollers = %v, want only o", got)
	}
	if consumer.IsLeader() || len(consumer.Owned([]string{"x", "y"})) != 0 {
		t.Error("a consumer-only node leads or owns resources")
	}
	waitFor(t, 2*time.Second, "one leader in lab", func() bool { return len(leaders(all...)) == 1 })
	if !other.IsLeader() {
		t.Error("the only node of site remote is not its leader")
	}

	// Ownership: every key has exactly one owner among the three.
	ks := keys(300)
	count := map[string]int{}
	for _, n := range all {
		for k := range n.Owned(ks) {
			count[k]++
		}
	}
	for _, k := range ks {
		if count[k] != 1 {
			t.Fatalf("key %s has %d owners, want 1", k, count[k])
		}
	}

	// Kill the leader silently: it is dropped after the TTL, another leads.
	var dead *Cluster
	for _, n := range all {
		if n.IsLeader() {
			dead = n
		}
	}
	dead.Abandon()
	var alive []*Cluster
	for _, n := range all {
		if n != dead {
			alive = append(alive, n)
		}
	}
	ttl := ttlBeats * hb
	took := waitFor(t, ttl+5*hb, "survivors drop the killed node", func() bool {
		for _, n := range alive {
			if slices.Contains(ids(n.Pollers()), dead.ID()) {
				return false
			}
		}
		return true
	})
	elected := waitFor(t, ttl+5*hb, "a survivor becomes leader", func() bool { return len(leaders(alive...)) == 1 })
	t.Logf("killed %s (leader): dropped after %s, new leader %v after %s more (TTL %s)", dead.ID(), took, leaders(alive...), elected, ttl)

	// Graceful leave: dropped well before the TTL, leadership handed over.
	var leaving, staying *Cluster
	if alive[0].IsLeader() {
		leaving, staying = alive[0], alive[1]
	} else {
		leaving, staying = alive[1], alive[0]
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := leaving.Leave(ctx); err != nil {
		t.Fatalf("leave: %v", err)
	}
	if len(leaving.Owned(ks)) != 0 || leaving.IsLeader() {
		t.Error("a draining node still owns resources or leads")
	}
	waitFor(t, ttl/2, "the other drops the draining node before the TTL", func() bool {
		return slices.Equal(ids(staying.Pollers()), []string{staying.ID()})
	})
	if err := leaving.Close(ctx); err != nil {
		t.Fatalf("close: %v", err)
	}
	waitFor(t, 3*hb, "the remaining node leads", staying.IsLeader)
	t.Logf("graceful leave: handed over in %s", time.Since(start))
	before := testutil.ToFloat64(staying.m.ownershipChanges)
	if got := len(staying.Owned(ks)); got != len(ks) {
		t.Errorf("the last poller owns %d of %d keys", got, len(ks))
	}
	if got := testutil.ToFloat64(staying.m.owned); got != float64(len(ks)) {
		t.Errorf("resources owned metric = %v, want %d", got, len(ks))
	}
	if testutil.ToFloat64(staying.m.ownershipChanges) <= before {
		t.Error("taking over the others' keys did not count ownership changes")
	}
	if got := testutil.ToFloat64(staying.m.members.WithLabelValues("lab")); got != 2 { // staying and the consumer
		t.Errorf("members{site=lab} = %v, want 2", got)
	}
}

// ReadStatus sees the members and the leaders, and says clearly when no
// node has ever joined.
func TestReadStatus(t *testing.T) {
	js := openBus(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := ReadStatus(ctx, js); err != ErrNoCluster {
		t.Fatalf("ReadStatus on an empty bus = %v, want ErrNoCluster", err)
	}
	for i := range 3 {
		join(t, js, fmt.Sprintf("n%d", i), "lab", time.Second)
	}
	var st *Status
	waitFor(t, 5*time.Second, "a leader key for lab", func() bool {
		var err error
		if st, err = ReadStatus(ctx, js); err != nil {
			t.Fatal(err)
		}
		return st.Leaders["lab"].ID != ""
	})
	if got := ids(st.Members); !slices.Equal(got, []string{"n0", "n1", "n2"}) {
		t.Errorf("members = %v", got)
	}
	if l, ok := st.Leaders["lab"]; !ok || !slices.Contains([]string{"n0", "n1", "n2"}, l.ID) {
		t.Errorf("leaders = %v, want one of n0..n2 for lab", st.Leaders)
	}
	for _, m := range st.Members {
		if age := m.Age(time.Now()); age < 0 || age > 5*time.Second || !m.Has(RolePoller) {
			t.Errorf("member %s: age %s, roles %v", m.ID, age, m.Roles)
		}
	}
}

func TestJoinRejectsBadID(t *testing.T) {
	if _, err := Join(context.Background(), Options{Self: Member{ID: "a.b"}}); err == nil {
		t.Fatal("joined with an id containing a dot")
	}
}
