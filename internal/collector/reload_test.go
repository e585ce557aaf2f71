package collector

import (
	"context"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/schedule"
)

func checksByKey(cs []schedule.Check) map[string]schedule.Check {
	m := map[string]schedule.Check{}
	for _, c := range cs {
		m[c.Key] = c
	}
	return m
}

// SetPlugins (a reload): the next reconcile schedules the new set under the
// same keys, so the scheduler keeps what did not change.
func TestSetPlugins(t *testing.T) {
	inv := fakeInventory{res("sw1", "lab", "network"), res("srv1", "lab", "server")}
	owner := &fakeOwner{owned: map[string]bool{inv[0].Key(): true, inv[1].Key(): true}}
	c, sched, poller, _, _ := newTest(t, inv, owner)
	c.Reconcile()
	before := checksByKey(sched.checks)

	plugins := slices.Clone(c.Plugins())
	plugins[0].Interval = 30 * time.Second // iface: a new interval
	plugins[1].Timeout = 0                 // up: a changed instance, its timeout back to the interval
	plugins = append(plugins, Plugin{Name: "new", Interval: 5 * time.Second, Filter: resource.MustParseFilter(`resource_id = "srv1"`)})
	c.SetPlugins(plugins)
	if got := c.Plugins()[1].Timeout; got != 10*time.Second {
		t.Errorf("a zero timeout is %v after SetPlugins, want the interval", got)
	}
	c.Reconcile()
	after := checksByKey(sched.checks)
	var keys []string
	for k := range after {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	want := []string{"iface|" + inv[0].Key(), "new|" + inv[1].Key(), "up|" + inv[1].Key(), "up|" + inv[0].Key()}
	sort.Strings(want)
	if !slices.Equal(keys, want) {
		t.Fatalf("checks after SetPlugins %v, want %v", keys, want)
	}
	if iv := after["iface|"+inv[0].Key()].Interval; iv != 30*time.Second {
		t.Errorf("iface interval %v after SetPlugins, want 30s", iv)
	}
	for _, k := range []string{"up|" + inv[0].Key(), "up|" + inv[1].Key()} {
		if after[k].Interval != before[k].Interval {
			t.Errorf("%s: interval %v, want it kept (%v)", k, after[k].Interval, before[k].Interval)
		}
	}
	// A check's run polls with the new set's instance.
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(5*time.Second))
	defer cancel()
	after["new|"+inv[1].Key()].Run(ctx)
	if !slices.Contains(poller.polled, "new|srv1") {
		t.Errorf("polled %v, want new|srv1", poller.polled)
	}

	c.SetPlugins(plugins[:1]) // up and new removed
	c.Reconcile()
	if got := len(sched.checks); got != 1 || sched.checks[0].Key != "iface|"+inv[0].Key() {
		t.Errorf("after removing plugins: %d checks, want iface's only", got)
	}
}
