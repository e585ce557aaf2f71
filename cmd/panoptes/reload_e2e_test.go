package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

const reloadDevices = 1000

// TestReloadWhilePolling runs `panoptes run` polling 1,000 simulated
// devices every 2 s, then reloads its config three times: with SIGHUP, a
// new interval (1 s) and a second sink; with POST /-/reload, a broken
// config (refused, every problem named, the metric at 0) and a changed
// http.listen (refused: restart needed). Through all of it, no device
// misses a check in the first sink (no due time without a check between
// two consecutive ones: pollGaps), the new interval is in force after
// the reload, the new sink receives the checks, and the node keeps
// running on the config it had.
func TestReloadWhilePolling(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs panoptes against 1,000 simulated devices for about 30 s")
	}
	binary(t)
	dir := t.TempDir()
	simFarm(t, dir, reloadDevices, "switch48")
	httpAddr := freeTCP(t)
	cfgPath := filepath.Join(dir, "panoptes.yaml")
	config := func(interval string, sinks ...string) string {
		var b strings.Builder
		fmt.Fprintf(&b, `site: lab
data_dir: data
http: {listen: %s}
discovery:
  sources: [{name: lab, plugin: csv, path: devices.csv}]
snmp:
  credential: sim
  credentials: {sim: {version: 2c, community: public}}
  timeout: 500ms
  retries: 0
polling:
  plugins: [{name: uptime, plugin: uptime, interval: %s}]
sinks:
`, httpAddr, interval)
		for _, s := range sinks {
			fmt.Fprintf(&b, "  - {name: %s, type: file, path: out/%[1]s.jsonl}\n", s)
		}
		return b.String()
	}
	writeFile(t, cfgPath, config("2s", "main"))
	mainOut, twoOut := filepath.Join(dir, "out", "main.jsonl"), filepath.Join(dir, "out", "two.jsonl")

	p := startRun(t, cfgPath)
	mainSink, twoSink := newSinkReader(t, mainOut), newSinkReader(t, twoOut)
	waitFor(t, "a check of every device in the sink", 60*time.Second, p, func() bool {
		groups, _ := mainSink.read(t)
		return len(statusOf(groups)) == reloadDevices
	})
	steady := time.Now()
	time.Sleep(5 * time.Second)

	// 1. SIGHUP: a new interval and a second sink.
	writeFile(t, cfgPath, config("1s", "main", "two"))
	changed := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the reload's log line", 20*time.Second, p, func() bool { return strings.Contains(p.log(), "config reloaded") })
	reloaded := time.Now() // the new interval is in force: it is logged once applied
	for _, want := range []string{"polling.plugins: changed uptime", "sinks: added two"} {
		if !strings.Contains(p.log(), want) {
			t.Errorf("the reload's log line does not say %q", want)
		}
	}
	waitFor(t, "checks in the added sink", 20*time.Second, p, func() bool {
		groups, _ := twoSink.read(t)
		return len(statusOf(groups)) == reloadDevices
	})
	time.Sleep(4 * time.Second)

	// 2. POST /-/reload of a broken config: refused, every problem named.
	writeFile(t, cfgPath, config("1s", "main", "two")+"  - {name: bad, type: file, batch_size: many}\nbogus: 1\n")
	code, body := httpPost("http://" + httpAddr + "/-/reload")
	if code != http.StatusBadRequest || !strings.Contains(body, "panoptes.yaml:16: sinks[2].batch_size") || !strings.Contains(body, "panoptes.yaml:17: bogus") {
		t.Errorf("POST /-/reload of a broken config: %d %q", code, body)
	}
	// The output reaches the test through a pipe: wait for it.
	waitFor(t, "the broken config's problems in the log", 10*time.Second, p, func() bool {
		return strings.Contains(p.log(), "panoptes.yaml:16: sinks[2].batch_size") && strings.Contains(p.log(), "panoptes.yaml:17: bogus")
	})
	_, metrics := httpGet("http://" + httpAddr + "/metrics")
	for _, want := range []string{"panoptes_config_last_reload_successful 0", `panoptes_config_reloads_total{result="invalid"} 1`, `panoptes_config_reloads_total{result="success"} 1`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q after the refused reload", want)
		}
	}
	// 3. A key only a restart applies: refused naming it.
	writeFile(t, cfgPath, strings.Replace(config("1s", "main", "two"), httpAddr, freeTCP(t), 1))
	if code, body := httpPost("http://" + httpAddr + "/-/reload"); code != http.StatusBadRequest || !strings.Contains(body, "restart needed for http.listen") {
		t.Errorf("POST /-/reload with a new http.listen: %d %q", code, body)
	}
	time.Sleep(3 * time.Second)
	if !p.alive() {
		t.Fatal("panoptes exited after the refused reloads")
	}
	end := time.Now()
	p.stop(t)

	// No check missed: between consecutive checks of a device, no due time
	// of its check without one (pollGaps: a check counts for the due time
	// at or before its start, so one started late, followed by one on
	// time, is no gap), of the 2 s schedule up to the reload, of the 1 s
	// one after; after the reload, a check every second.
	const beforeIv, afterIv = 2 * time.Second, time.Second
	byDevice, repeats := polls(t, mainSink)
	if len(byDevice) != reloadDevices {
		t.Fatalf("%d devices in the sink, want %d", len(byDevice), reloadDevices)
	}
	var missed, slow []string
	// The new interval is in force 2 s after the config changed, or once
	// the reload was logged if that was later (a loaded machine).
	after := changed.Add(2 * time.Second)
	if reloaded.After(after) {
		after = reloaded
	}
	epoch := func(at time.Time) float64 { return float64(at.UnixNano()) / 1e9 }
	for key, ts := range byDevice {
		// The pairs of checks with the later at or after steady and the
		// earlier at or before end; those whose earlier is after the
		// reload are on the 1 s schedule. (Every 2 s due time is one of
		// the 1 s schedule too: a phase is the key's hash mod interval.)
		first, _ := slices.BinarySearch(ts, epoch(steady))
		last, found := slices.BinarySearch(ts, epoch(end))
		if found {
			last++
		}
		w := ts[max(first-1, 0):min(last+1, len(ts))]
		split, _ := slices.BinarySearch(w, epoch(after))
		for split < len(w) && w[split] <= epoch(after) {
			split++
		}
		check := "uptime|" + key
		gaps := pollGaps(check, w[:min(split+1, len(w))], beforeIv)
		if split < len(w) {
			gaps = append(gaps, pollGaps(check, w[split:], afterIv)...)
		}
		for _, g := range gaps {
			missed = append(missed, fmt.Sprintf("%s: no check between %s and %s", key,
				epochTime(g[0]).Format("15:04:05.000"), epochTime(g[1]).Format("15:04:05.000")))
		}
		inAfter := 0
		for _, a := range ts {
			if a > epoch(after) && a < epoch(end) {
				inAfter++
			}
		}
		if want := int(end.Sub(after)/time.Second) - 1; inAfter < want {
			slow = append(slow, fmt.Sprintf("%s: %d checks in %v at 1s", key, inAfter, end.Sub(after).Round(time.Second)))
		}
	}
	if len(missed) > 0 {
		slices.Sort(missed)
		t.Errorf("%d missed checks, e.g. %s", len(missed), strings.Join(missed[:min(5, len(missed))], "; "))
	}
	if len(slow) > 0 {
		t.Errorf("%d devices not polled every second after the reload, e.g. %s", len(slow), strings.Join(slow[:min(5, len(slow))], "; "))
	}
	t.Logf("%d devices in the first sink, %d lines written twice; config changed at %s, reload logged by %s",
		len(byDevice), repeats, changed.Format("15:04:05.000"), reloaded.Format("15:04:05.000"))
	if _, err := os.Stat(twoOut); err != nil {
		t.Errorf("the added sink wrote nothing: %v", err)
	}
}

func httpPost(url string) (int, string) {
	resp, err := http.Post(url, "", nil)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, b.String()
}
