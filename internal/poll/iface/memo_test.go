package iface

import (
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/poll"
	"github.com/panoptes-go/panoptes/internal/resource"
)

// TestMemoForgetsIdleDevices: the per-device memo of a device no longer
// polled here (moved to another node, removed) is dropped after
// forgetAfter, so the plugin's memory does not grow with every device a
// node ever polled; a device still polled keeps its memo.
func TestMemoForgetsIdleDevices(t *testing.T) {
	p := &Interface{}
	t0 := time.Unix(1_800_000_000, 0)
	gone := &poll.Request{Resource: &resource.Resource{Site: "s", Class: "network", Subclass: "switch", Type: "t", ID: "gone"}, Now: t0}
	kept := &poll.Request{Resource: &resource.Resource{Site: "s", Class: "network", Subclass: "switch", Type: "t", ID: "kept"}, Now: t0}
	p.memoOf(gone).rows.Store(48)
	p.memoOf(kept).rows.Store(24)
	kept.Now = t0.Add(forgetAfter + time.Minute)
	for range sweepEvery {
		p.memoOf(kept)
	}
	if _, ok := p.seen.Load(gone.Resource.Key()); ok {
		t.Error("the memo of a device not polled for over forgetAfter is still kept")
	}
	m, ok := p.seen.Load(kept.Resource.Key())
	if !ok || m.(*memo).rows.Load() != 24 {
		t.Errorf("the memo of a device still polled was dropped or reset (ok %v)", ok)
	}
}
