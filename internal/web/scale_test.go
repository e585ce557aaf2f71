package web

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/checkstate"
	"github.com/panoptes-go/panoptes/internal/inventory"
	"github.com/panoptes-go/panoptes/internal/resource"
)

// scaleDevices is the fleet the device list must handle.
const scaleDevices = 10_000

// The device list over 10,000 inventory resources, their checks recorded
// on two nodes: pages stay small and answers come within bounds generous
// enough for a shared two-core machine (these are not benchmarks: the
// bounds catch a quadratic or unpaginated path, not a slow one).
func TestDeviceListAt10000(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 resources in real NATS KV: not in -short")
	}
	tb := newTestbed(t, 0)
	setup := time.Now()
	// Written as Store.Put writes them (validated, JSON, under KVKey), but
	// published asynchronously to the bucket's stream: 10,000 acknowledged
	// puts one after the other take most of a minute on a busy machine.
	for i := range scaleDevices {
		r := &resource.Resource{Site: tb.site, Class: "network", Subclass: "switch", Type: []string{"cisco", "juniper", "arista"}[i%3],
			ID: fmt.Sprintf("sw-%05d.example.net", i), Endpoint: fmt.Sprintf("10.%d.%d.%d", i/65536, i/256%256, i%256),
			Metadata: map[string]string{"rack": fmt.Sprintf("r%03d", i%200), "model": "WS-C3750"}, Plugin: "csv"}
		if err := r.Validate(); err != nil {
			t.Fatal(err)
		}
		data, _ := json.Marshal(r)
		if _, err := tb.js.PublishAsync("$KV."+inventory.Bucket+"."+inventory.KVKey(r.Key()), data); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-tb.js.PublishAsyncComplete():
	case <-time.After(time.Minute):
		t.Fatal("the inventory's puts were not acknowledged within a minute")
	}
	a := tb.addNode("node-a", true)
	b := tb.addNode("node-b", true)
	tb.waitMembers(2)
	tb.waitIndex(scaleDevices)
	t.Logf("%d resources in KV and in both nodes' indexes in %v", scaleDevices, time.Since(setup))

	// Every node records its owned devices' checks, a third of them failing
	// with a reason (what a states answer carries).
	now := time.Now()
	for _, n := range []*testNode{a, b} {
		snap := n.index.Snapshot()
		keys := make([]string, len(snap))
		for i, r := range snap {
			keys[i] = r.Key()
		}
		owned := n.cl.Owned(keys)
		for i, r := range snap {
			if !owned[r.Key()] {
				continue
			}
			for _, p := range []string{"interface", "uptime"} {
				run := checkstate.Run{Plugin: p, Interval: time.Minute, Start: now.Add(-time.Duration(i) * time.Millisecond), End: now,
					NextDue: now.Add(time.Minute - time.Duration(i)*time.Millisecond)}
				if i%3 == 0 && p == "interface" {
					run.Status, run.Reason = 3, "timeout: no answer from 10.0.0.1:161 within 2s (1 retry)"
				}
				n.book.Record(r.Key(), run)
			}
		}
	}
	// A node's states answer for 5,000 devices is ~300 KB, within the
	// bus's maximum payload (1 MiB); node-b sends its answers in parts of
	// 16 KiB, as a larger fleet's would be.
	b.web.partSize = 16 << 10
	big, _ := json.Marshal(b.web.localStates(nil))
	t.Logf("node-b's states answer: %d bytes, %d parts", len(big), (len(big)+b.web.partSize-1)/b.web.partSize)

	all := []struct {
		path     string
		total    int
		devices  int
		maxBytes int
	}{
		{"/api/v1/devices", scaleDevices, DefaultLimit, 32 << 10},
		{"/api/v1/devices?offset=9990", scaleDevices, 10, 16 << 10},
		{"/api/v1/devices?sort=status&order=desc&limit=100", scaleDevices, 100, 64 << 10},
		{"/api/v1/devices?status=failing&sort=last_poll", 3334, DefaultLimit, 48 << 10},
		{"/api/v1/devices?limit=1000&sort=next_due", scaleDevices, 1000, 640 << 10},
		{"/api/v1/devices?q=r007&filter=" + "resource_type%20%3D%20%22cisco%22", 17, 17, 16 << 10},
	}
	cases := []int{0, 1, 2, 3, 4, 5}
	bound := 10 * time.Second
	if raceDetector {
		// Under the race detector: the cases that differ most, each bound
		// widened as the detector slows the work.
		cases = []int{0, 3, 4}
		bound = 60 * time.Second
	}
	for _, i := range cases {
		c := all[i]
		var list DeviceList
		start := time.Now()
		code, size := getJSON(t, a, c.path, &list)
		took := time.Since(start)
		t.Logf("GET %s: %d bytes in %v", c.path, size, took)
		if code != 200 || list.Total != c.total || len(list.Devices) != c.devices || !list.Peers.Complete {
			t.Errorf("GET %s: %d, total %d, %d devices, peers %+v", c.path, code, list.Total, len(list.Devices), list.Peers)
		}
		if size > c.maxBytes {
			t.Errorf("GET %s: %d bytes, want at most %d", c.path, size, c.maxBytes)
		}
		if took > bound {
			t.Errorf("GET %s took %v (bound %v)", c.path, took, bound)
		}
		for _, d := range list.Devices {
			if d.StatusName == "unknown" || d.Owner == "" {
				t.Fatalf("GET %s: device %s has no state: %+v", c.path, d.ID, d)
			}
		}
	}
	var o Overview
	start := time.Now()
	code, size := getJSON(t, b, "/api/v1/overview", &o)
	t.Logf("GET /api/v1/overview: %d bytes in %v", size, time.Since(start))
	if code != 200 || o.Devices != scaleDevices || o.ByStatus["timeout"] != 3334 || o.ByStatus["success"] != scaleDevices-3334 || size > 256<<10 {
		t.Errorf("overview: %d, %d bytes, by status %v", code, size, o.ByStatus)
	}
	if time.Since(start) > bound {
		t.Errorf("overview took %v", time.Since(start))
	}
}
