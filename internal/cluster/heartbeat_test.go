package cluster

import (
	"context"
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
