package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/checkstate"
	"github.com/panoptes-go/panoptes/internal/resource"
)

// Two nodes of one site poll the simulator's devices they own; either
// node's API lists every device with its owner and status, and a device
// owned by the other node shows its checks and latest groups, read back
// from the stream by sequence through the owner.
func TestDevicesAcrossNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("real NATS and simulated devices: not in -short")
	}
	tb := newTestbed(t, 8)
	// A device nobody answers for: its checks fail.
	dead := &resource.Resource{Site: tb.site, Class: "network", Subclass: "switch", Type: "generic", ID: "dead-1",
		Endpoint: "127.0.0.1:9", Plugin: "test"}
	tb.put(dead)
	a := tb.addNode("node-a", true)
	b := tb.addNode("node-b", true)
	tb.waitMembers(2)
	tb.waitIndex(9)
	tb.pollOnce(a, "interface", "uptime")
	tb.pollOnce(b, "interface", "uptime")

	var list DeviceList
	if code, _ := getJSON(t, a, "/api/v1/devices?limit=100", &list); code != 200 {
		t.Fatalf("devices: %d", code)
	}
	if list.Total != 9 || len(list.Devices) != 9 || !list.Peers.Complete || list.Peers.Asked != 2 {
		t.Fatalf("list: total %d, %d devices, peers %+v", list.Total, len(list.Devices), list.Peers)
	}
	owners := map[string]int{}
	var remote Device
	for _, d := range list.Devices {
		owners[d.Owner]++
		if d.ID == "dead-1" {
			if d.StatusName == "success" || d.Status <= 0 || d.Reason == "" || d.Plugin == "" {
				t.Errorf("dead device: %+v", d)
			}
			continue
		}
		if d.StatusName != "success" || d.LastPoll == nil || d.NextDue == nil || d.Checks != 2 {
			t.Errorf("device %s: %+v", d.ID, d)
		}
		if d.Owner == "node-b" {
			remote = d
		}
	}
	if owners["node-a"] == 0 || owners["node-b"] == 0 || owners["node-a"]+owners["node-b"] != 9 {
		t.Fatalf("owners: %v", owners)
	}
	if remote.Key == "" {
		t.Fatal("node-b owns no live device")
	}

	// The device page of node-b's device, asked of node-a.
	var det DeviceDetail
	if code, _ := getJSON(t, a, keyPath(remote.Key), &det); code != 200 {
		t.Fatalf("device: %d", code)
	}
	if det.Owner != "node-b" || det.StatusName != "success" || len(det.Checks) != 2 || !det.Peers.Complete {
		t.Fatalf("device detail: owner %q status %q checks %d peers %+v", det.Owner, det.StatusName, len(det.Checks), det.Peers)
	}
	for _, c := range det.Checks {
		if c.Node != "node-b" || c.StatusName != "success" || len(c.History) != 1 || c.History[0].Runs != 1 || c.NextDue == nil {
			t.Errorf("check %+v", c)
		}
	}
	ifs := det.Groups["interface"]
	want := 48
	if strings.HasPrefix(remote.ID, "router400") {
		want = 400
	}
	if len(ifs) < want || len(det.GroupsError) != 0 {
		t.Fatalf("%s: %d interface groups (want at least %d), errors %v", remote.ID, len(ifs), want, det.GroupsError)
	}
	if ifs[0].Dimensions["interface_name"] == "" || ifs[0].Metrics["bits_in"].String() == "" {
		t.Fatalf("interface group: %+v", ifs[0])
	}
	// Natural order: the second interface's name sorts after the first.
	if naturalCompare(ifs[0].Dimensions["interface_name"], ifs[1].Dimensions["interface_name"]) >= 0 {
		t.Errorf("interfaces out of order: %q, %q", ifs[0].Dimensions["interface_name"], ifs[1].Dimensions["interface_name"])
	}
	if sys := det.Groups["system"]; len(sys) != 1 || sys[0].Metrics["uptime_seconds"].Float64() <= 0 {
		t.Fatalf("system group: %+v", sys)
	}
	if _, ok := det.Groups["status"]; ok {
		t.Fatal("status groups are in Checks, not Groups")
	}

	// Filters, status, sorting and paging.
	if getJSON(t, a, "/api/v1/devices?status=failing", &list); list.Total != 1 || list.Devices[0].ID != "dead-1" || list.Counts[list.Devices[0].StatusName] != 1 {
		t.Fatalf("failing: %+v", list)
	}
	f := url.QueryEscape(fmt.Sprintf(`resource_id = %q`, remote.ID))
	if getJSON(t, a, "/api/v1/devices?filter="+f, &list); list.Total != 1 || list.Devices[0].Key != remote.Key || list.Devices[0].StatusName != "success" {
		t.Fatalf("filter: %+v", list)
	}
	if getJSON(t, a, "/api/v1/devices?q=DEAD", &list); list.Total != 1 {
		t.Fatalf("search: %+v", list)
	}
	if getJSON(t, b, "/api/v1/devices?sort=status&order=desc&limit=1", &list); list.Total != 9 || list.Devices[0].ID != "dead-1" {
		t.Fatalf("sort by status: %+v", list.Devices)
	}
	var p1, p2 DeviceList
	getJSON(t, a, "/api/v1/devices?limit=4", &p1)
	getJSON(t, a, "/api/v1/devices?limit=4&offset=4", &p2)
	if len(p1.Devices) != 4 || len(p2.Devices) != 4 || p1.Devices[3].ID >= p2.Devices[0].ID {
		t.Fatalf("pages: %v then %v", ids(p1.Devices), ids(p2.Devices))
	}
	for _, bad := range []string{"filter=" + url.QueryEscape(`resource_colour = "red"`), "sort=colour", "limit=0", "status=purple", "order=up"} {
		var e map[string]string
		if code, _ := getJSON(t, a, "/api/v1/devices?"+bad, &e); code != http.StatusBadRequest || e["error"] == "" {
			t.Errorf("%s: %d %v", bad, code, e)
		}
	}
	var e map[string]string
	if code, _ := getJSON(t, a, keyPath("lab|network|switch|generic|nope"), &e); code != 404 || !strings.Contains(e["error"], "nope") {
		t.Errorf("unknown device: %d %v", code, e)
	}
}

func ids(ds []Device) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	return out
}

// A member that does not answer (no Web) is reported missing once the
// timeout passes, and its devices show as unknown; the others' are known.
func TestSilentPeer(t *testing.T) {
	if testing.Short() {
		t.Skip("real NATS and simulated devices: not in -short")
	}
	tb := newTestbed(t, 6)
	a := tb.addNode("node-a", true)
	silent := tb.addNode("node-s", false)
	a.web.opts.PeerTimeout = 500 * time.Millisecond
	tb.waitMembers(2)
	tb.waitIndex(6)
	tb.pollOnce(a, "uptime")
	tb.pollOnce(silent, "uptime") // recorded, but nobody asks it
	var list DeviceList
	start := time.Now()
	getJSON(t, a, "/api/v1/devices", &list)
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("took %v waiting for a silent peer (timeout 500ms)", took)
	}
	if list.Peers.Complete || len(list.Peers.Missing) != 1 || list.Peers.Missing[0] != "node-s" {
		t.Fatalf("peers: %+v", list.Peers)
	}
	known, unknown := 0, 0
	for _, d := range list.Devices {
		switch {
		case d.Owner == "node-s" && d.StatusName == "unknown":
			unknown++
		case d.Owner == "node-a" && d.StatusName == "success":
			known++
		default:
			t.Errorf("device %s owned by %s: %s", d.ID, d.Owner, d.StatusName)
		}
	}
	if known == 0 || unknown == 0 {
		t.Fatalf("known %d unknown %d", known, unknown)
	}
}

// A check whose groups the bus did not place (no refs: buffered, or acked
// too late) says so on the device page instead of showing nothing.
func TestDeviceWithoutRefs(t *testing.T) {
	if testing.Short() {
		t.Skip("real NATS: not in -short")
	}
	tb := newTestbed(t, 0)
	r := &resource.Resource{Site: tb.site, Class: "network", Subclass: "switch", Type: "generic", ID: "sw1", Endpoint: "192.0.2.1"}
	tb.put(r)
	a := tb.addNode("node-a", true)
	tb.waitMembers(1)
	tb.waitIndex(1)
	now := time.Now()
	a.book.Record(r.Key(), checkstate.Run{Plugin: "interface", Interval: time.Minute, Start: now.Add(-time.Second), End: now, NextDue: now.Add(time.Minute)})
	var det DeviceDetail
	if code, _ := getJSON(t, a, keyPath(r.Key()), &det); code != 200 {
		t.Fatalf("device: %d", code)
	}
	if len(det.Checks) != 1 || det.StatusName != "success" || len(det.Groups) != 0 ||
		len(det.GroupsError) != 1 || !strings.Contains(det.GroupsError[0], "interface: the bus has not told where") {
		t.Fatalf("device without refs: %+v", det)
	}
}
