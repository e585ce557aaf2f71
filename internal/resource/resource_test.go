package resource

import (
	"testing"
	"unsafe"
)

// TestFreezeSharesKey: a frozen resource hands every caller of Key the
// same string, without allocating; a clone of it computes its own again,
// so that changing the clone changes its key.
func TestFreezeSharesKey(t *testing.T) {
	r := &Resource{Site: "dc1", Class: "network", Subclass: "switch", Type: "cisco", ID: "sw1"}
	if a, b := r.Key(), r.Key(); unsafe.StringData(a) == unsafe.StringData(b) {
		t.Error("an unfrozen resource's keys are one string: Key caches without Freeze")
	}
	r.Freeze()
	a, b := r.Key(), r.Key()
	if a != "dc1|network|switch|cisco|sw1" || unsafe.StringData(a) != unsafe.StringData(b) {
		t.Errorf("frozen keys %q, %q: want one string", a, b)
	}
	// The ID is the key's tail, equal to what it was, even with the
	// separator in it (nothing refuses that), and an endpoint equal to
	// the ID shares it too.
	if r.ID != "sw1" || unsafe.StringData(r.ID) != unsafe.StringData(a[len(a)-3:]) {
		t.Errorf("frozen ID %q: want sw1, a piece of the key", r.ID)
	}
	odd := &Resource{Site: "s", ID: "a|b", Endpoint: "a|b"}
	if odd.Freeze(); odd.ID != "a|b" || odd.Key() != "s||||a|b" || odd.Endpoint != "a|b" || unsafe.StringData(odd.Endpoint) != unsafe.StringData(odd.ID) {
		t.Errorf("frozen ID %q, endpoint %q (shares the ID: %v), key %q", odd.ID, odd.Endpoint,
			unsafe.StringData(odd.Endpoint) == unsafe.StringData(odd.ID), odd.Key())
	}
	if n := testing.AllocsPerRun(100, func() { _ = r.Key() }); n != 0 {
		t.Errorf("a frozen resource's Key allocates %v times", n)
	}
	c := r.Clone()
	c.ID = "sw2"
	if c.Key() != "dc1|network|switch|cisco|sw2" || r.Key() != a {
		t.Errorf("clone's key %q, original's %q", c.Key(), r.Key())
	}
	if r.SameContent(c) || !r.SameContent(r.Clone()) {
		t.Error("SameContent: a changed clone equal, or an unchanged one not")
	}
}
