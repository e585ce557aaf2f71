package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/testutil/freeport"
	"github.com/panoptes-go/panoptes/internal/web"
)

// TestDemoStatusPage: `panoptes demo` prints the status page's URL, and
// within one interval of the node running the page's API lists the 20 demo
// devices, each polled successfully by this node, and a device's page holds
// its interfaces read back from the bus.
func TestDemoStatusPage(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs the panoptes binary")
	}
	const interval = 10 * time.Second
	p := startPanoptes(t, "demo", "--dir", t.TempDir(), "--interval", interval.String(),
		"--base-port", strconv.Itoa(freeport.UDPBlock(t, 20)), "--http", freeTCP(t))
	urlRE := regexp.MustCompile(`status page → (http://\S+/) `)
	var page string
	waitFor(t, "the status page's URL and the node running", time.Minute, p, func() bool {
		m := urlRE.FindStringSubmatch(p.log())
		if m != nil {
			page = m[1]
		}
		return page != "" && strings.Contains(p.log(), "panoptes running")
	})
	running := time.Now()

	get := func(path string, v any) int {
		t.Helper()
		resp, err := http.Get(page + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if v != nil && resp.StatusCode == 200 {
			if err := json.Unmarshal(body, v); err != nil {
				t.Fatalf("GET %s: %v\n%.300s", path, err, body)
			}
		}
		return resp.StatusCode
	}
	var list web.DeviceList
	for {
		if code := get("api/v1/devices?limit=100", &list); code == 200 && list.Total == 20 {
			ok := 0
			for _, d := range list.Devices {
				if d.StatusName == "success" && d.Owner != "" && d.LastPoll != nil && d.Checks == 2 { // interface and uptime
					ok++
				}
			}
			if ok == 20 {
				break
			}
		}
		// One interval from the node running, and a little for a busy machine.
		if time.Since(running) > interval+5*time.Second {
			t.Fatalf("the status page lists %d devices, %d of 20 polled successfully, %v after the node started: %+v",
				list.Total, countStatus(list, "success"), time.Since(running).Round(100*time.Millisecond), list.Devices)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("the page showed the 20 devices polled %v after the node started", time.Since(running).Round(100*time.Millisecond))

	var det web.DeviceDetail
	if code := get("api/v1/devices/"+url.PathEscape(list.Devices[0].Key), &det); code != 200 || len(det.Groups["interface"]) < 48 || len(det.GroupsError) > 0 {
		t.Fatalf("device %s: %d, %d interface groups, errors %v, checks %+v", list.Devices[0].ID, code, len(det.Groups["interface"]), det.GroupsError, det.Checks)
	}
	resp, err := http.Get(page)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `<script src="assets/app.js">`) {
		t.Fatalf("GET %s: %d %.200s", page, resp.StatusCode, body)
	}
}

func countStatus(l web.DeviceList, name string) int {
	n := 0
	for _, d := range l.Devices {
		if d.StatusName == name {
			n++
		}
	}
	return n
}
