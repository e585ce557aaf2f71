package cluster

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"testing"
	"time"
)

// Members stay alive on core heartbeats while the membership bucket is
// unavailable (as while its stream elects a new leader), and a member that
// dies meanwhile is still dropped after the TTL.
func TestLivenessWithoutMembersBucket(t *testing.T) {
	js := openBus(t)
	const hb = 200 * time.Millisecond
	a := join(t, js, "a", "lab", hb)
	b := join(t, js, "b", "lab", hb)
	c := join(t, js, "c", "lab", hb)
	want := []string{"a", "b", "c"}
	waitFor(t, 2*time.Second, "every node sees a, b, c", func() bool {
		return slices.Equal(ids(a.Pollers()), want) && slices.Equal(ids(b.Pollers()), want) && slices.Equal(ids(c.Pollers()), want)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := js.DeleteKeyValue(ctx, MembersBucket); err != nil {
		t.Fatal(err)
	}
	ttl := ttlBeats * hb
	for end := time.Now().Add(3 * ttl); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		for _, n := range []*Cluster{a, b, c} {
			if got := ids(n.Pollers()); !slices.Equal(got, want) {
				t.Fatalf("without the bucket, %s sees pollers %v, want %v", n.ID(), got, want)
			}
		}
	}
	c.Abandon()
	took := waitFor(t, ttl+5*hb, "a and b drop the silent c", func() bool {
		return slices.Equal(ids(a.Pollers()), []string{"a", "b"}) && slices.Equal(ids(b.Pollers()), []string{"a", "b"})
	})
	if took < ttl-2*hb {
		t.Errorf("c was dropped %s after it stopped, before the TTL %s", took, ttl)
	}
}

// A leaving member announces when it stops polling; the member taking its
// keys over polls them from then on, the others' keys at once.
func TestLeaveHandsOverAtDrainAt(t *testing.T) {
	js := openBus(t)
	const hb = 400 * time.Millisecond
	a := join(t, js, "a", "lab", hb)
	b := join(t, js, "b", "lab", hb)
	waitFor(t, 2*time.Second, "a and b see each other", func() bool {
		return len(a.Pollers()) == 2 && len(b.Pollers()) == 2
	})
	settle(t, a, b)
	ks := keys(200)
	fromA := a.Owned(ks)
	if len(fromA) == 0 || len(fromA) == len(ks) {
		t.Fatalf("a owns %d of %d keys", len(fromA), len(ks))
	}
	if !a.DrainAt().IsZero() {
		t.Fatal("DrainAt is set before Leave")
	}
	left := make(chan error, 1)
	start := time.Now()
	go func() { left <- a.Leave(context.Background()) }()
	waitFor(t, 2*time.Second, "b sees a draining", func() bool { return slices.Equal(ids(b.Pollers()), []string{"b"}) })
	at := a.DrainAt()
	if !at.After(time.Now()) {
		t.Fatalf("a's handover time %s is not ahead (now %s)", at.Format(time.StampMilli), time.Now().Format(time.StampMilli))
	}
	owned := b.Owned(ks)
	tk := b.Takeovers(owned)
	if len(owned) != len(ks) || len(tk) != len(fromA) {
		t.Fatalf("b owns %d keys, %d taken over; want %d and %d", len(owned), len(tk), len(ks), len(fromA))
	}
	for k := range fromA {
		if !tk[k].Equal(at) {
			t.Fatalf("key %s taken over from %s, want a's handover time %s", k, tk[k], at)
		}
	}
	if err := <-left; err != nil {
		t.Fatal(err)
	}
	if time.Now().Before(at) {
		t.Errorf("Leave returned before the handover time")
	}
	if tk := b.Takeovers(b.Owned(ks)); len(tk) != 0 {
		t.Errorf("after the handover time b still defers %d keys", len(tk))
	}
	t.Logf("leave: handover %s after Leave began", at.Sub(start).Round(time.Millisecond))
}

// A record arriving after a later one of the same life (the two ways, or a
// replaying watch) is ignored; a new life's, or an old version's, is not.
func TestOlderRecordIgnored(t *testing.T) {
	life := time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC)
	cur := &Member{ID: "a", Started: life, Seq: 7}
	for _, tc := range []struct {
		m     Member
		older bool
	}{
		{Member{Started: life, Seq: 6}, true},
		{Member{Started: life, Seq: 7}, true},
		{Member{Started: life, Seq: 8}, false},
		{Member{Started: life.Add(time.Millisecond), Seq: 1}, false}, // restarted
		{Member{Started: life, Seq: 0}, false},                       // no Seq: an older version
	} {
		if got := tc.m.olderThan(cur); got != tc.older {
			t.Errorf("record %+v older than seq 7: %v, want %v", tc.m, got, tc.older)
		}
	}
	if (&Member{Seq: 1}).olderThan(nil) {
		t.Error("a first record counts as older")
	}
}

// A member joining live pollers announces when it starts polling: until
// then the others keep the keys moving to it (for due times before that
// time), and it polls nothing before.
func TestJoinHandsOverAtJoinAt(t *testing.T) {
	js := openBus(t)
	const hb = 4 * time.Second // a join time 2 s ahead: the others see c well before, even on a loaded machine
	a := join(t, js, "a", "lab", hb)
	b := join(t, js, "b", "lab", hb)
	waitFor(t, 2*time.Second, "a and b see each other", func() bool {
		return len(a.Pollers()) == 2 && len(b.Pollers()) == 2
	})
	if !a.JoinAt().IsZero() && !b.JoinAt().IsZero() {
		t.Errorf("both founders have a join time (%s, %s): one of them joined nobody", a.JoinAt(), b.JoinAt())
	}
	settle(t, a, b)
	ks := keys(300)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Join(ctx, Options{JS: js, Self: Member{ID: "c", Site: "lab", Roles: []string{RolePoller}, Capacity: 1}, Heartbeat: hb})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Abandon)
	if !c.JoinAt().After(time.Now().Add(time.Hour)) {
		t.Fatalf("before Start the joining node may poll from %s; want nothing until it is announced", c.JoinAt())
	}
	started := time.Now()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	at := c.JoinAt()
	if !at.After(started) || at.Sub(started) > drainDelay(hb)+time.Second {
		t.Fatalf("join time %s, want a moment after Start (%s)", at.Format(time.StampMilli), started.Format(time.StampMilli))
	}
	waitFor(t, 2*time.Second, "a and b see c", func() bool { return len(a.Pollers()) == 3 && len(b.Pollers()) == 3 })
	if !time.Now().Before(at) {
		t.Fatalf("the others saw c only after its join time %s", at.Format(time.StampMilli))
	}
	toC := c.Owned(ks)
	if len(toC) == 0 || len(toC) == len(ks) {
		t.Fatalf("c owns %d of %d keys", len(toC), len(ks))
	}
	handed := 0
	for _, n := range []*Cluster{a, b} {
		owned := n.Owned(ks)
		hv := n.Handovers(owned)
		for k, until := range hv {
			if !toC[k] || !until.Equal(at) {
				t.Fatalf("%s hands over %s at %s; c owns it: %v, its join time %s", n.ID(), k, until, toC[k], at)
			}
		}
		handed += len(hv)
		for k := range owned {
			if toC[k] && hv[k].IsZero() {
				t.Fatalf("%s and c both own %s with no handover time", n.ID(), k)
			}
		}
	}
	if handed != len(toC) {
		t.Errorf("a and b hand over %d keys, c takes %d", handed, len(toC))
	}

	// After the join time the keys are c's alone.
	waitFor(t, 3*hb, "a and b drop c's keys", func() bool {
		for _, n := range []*Cluster{a, b} {
			for k := range n.Owned(ks) {
				if toC[k] {
					return false
				}
			}
		}
		return true
	})
	if time.Now().Before(at) {
		t.Error("a or b dropped c's keys before its join time")
	}
}

// Nodes joining close together share one join time (a key moves once);
// one joining long after another takes its own.
func TestJoinsCloseTogetherShareAJoinTime(t *testing.T) {
	js := openBus(t)
	const hb = 4 * time.Second
	a := join(t, js, "a", "lab", hb)
	b := join(t, js, "b", "lab", hb)
	bAt := b.JoinAt()
	if bAt.IsZero() {
		t.Fatal("b joined a live poller without a join time")
	}
	waitFor(t, 2*time.Second, "b's record stored (a sees b joining)", func() bool { return len(a.Joining()) == 1 })
	c := join(t, js, "c", "lab", hb)
	if time.Until(bAt) >= drainDelay(hb)/2 && !c.JoinAt().Equal(bAt) {
		t.Errorf("c joined %s before b's join time but took %s, not b's %s",
			time.Until(bAt).Round(time.Millisecond), c.JoinAt().Format(time.StampMilli), bAt.Format(time.StampMilli))
	}
	settle(t, a, b, c)
	d := join(t, js, "d", "lab", hb)
	if !d.JoinAt().After(bAt) {
		t.Errorf("d joined after every join time passed but took %s, not a time of its own", d.JoinAt().Format(time.StampMilli))
	}
}

// A node whose initial load of the members bucket counts no live poller,
// while the bucket holds another node's record, still waits for a join
// time: the load is not proof that it joins nobody. A node restarting
// (its server too) into a live cluster saw its watch end its initial
// values before the others' records came (TestClusterProcesses' graceful
// restart: pollers [n2] at Join, [n1 n2 n3] 17 ms later), polled at once
// with no join time, and the others polled its share too until they saw
// it. That race cannot be forced here: a stored record the load does not
// count as live (its heartbeat of 1 ms long past) stands in for it.
func TestJoinTimeWhenOthersStored(t *testing.T) {
	js := openBus(t)
	const hb = time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	kv, err := bucket(ctx, js, slog.New(slog.DiscardHandler), MembersBucket, ttlBeats*hb, 1)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := json.Marshal(Member{ID: "a", Site: "lab", Roles: []string{RolePoller}, Capacity: 1, Started: time.Now(), Seq: 1, Heartbeat: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, "a", rec); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond) // a's record is past its TTL (3 ms)
	c, err := Join(ctx, Options{JS: js, Self: Member{ID: "c", Site: "lab", Roles: []string{RolePoller}, Capacity: 1}, Heartbeat: hb})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Abandon)
	if p := ids(c.Pollers()); !slices.Equal(p, []string{"c"}) {
		t.Fatalf("pollers at Join %v; the test needs the load to count no other", p)
	}
	if !c.JoinAt().After(time.Now().Add(time.Hour)) {
		t.Fatalf("before Start the node may poll from %s with another member's record in the bucket; want nothing until it is announced", c.JoinAt())
	}
	started := time.Now()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if at := c.JoinAt(); !at.After(started) {
		t.Fatalf("join time %s, want a moment after Start (%s)", at.Format(time.StampMilli), started.Format(time.StampMilli))
	}
}
