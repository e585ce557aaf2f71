package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/testutil/lldplab"
	"github.com/panoptes-go/panoptes/internal/testutil/snmpagent"
)

const (
	ifTable  = ".1.3.6.1.2.1.2.2.1"
	ifXTable = ".1.3.6.1.2.1.31.1.1.1"
)

// compareInterfaces checks that every interface snmpbulkwalk reads has one
// interface group with the same name and values. With exact false (a live
// agent whose counters move), counters must be at least the walked values.
func compareInterfaces(t *testing.T, groups []*metric.Group, resourceID string, walk map[string]map[string]snmpagent.WalkRow, exact bool) {
	t.Helper()
	byName := map[string]*metric.Group{}
	for _, g := range groups {
		if g.Type == "interface" && g.Resource.ID == resourceID {
			byName[g.Dimension("interface_name")] = g // the latest poll wins
		}
	}
	if len(byName) != len(walk) {
		t.Errorf("%s: %d interface groups, snmpbulkwalk has %d interfaces", resourceID, len(byName), len(walk))
	}
	for idx, row := range walk {
		name := ""
		if r, ok := row[ifXTable+".1"]; ok && r.Value != "" {
			name = hexText(t, r.Value)
		} else {
			name = hexText(t, row[ifTable+".2"].Value)
		}
		g := byName[name]
		if g == nil {
			t.Errorf("%s: interface %s (ifIndex %s) has no group", resourceID, name, idx)
			continue
		}
		if want := hexText(t, row[ifTable+".2"].Value); g.Dimension("description") != want {
			t.Errorf("%s %s: description %q, want ifDescr %q", resourceID, name, g.Dimension("description"), want)
		}
		pick := func(hc, low string) (uint64, bool) {
			if v, ok := walkUint(t, row, hc); ok && hc != "" {
				return v, true
			}
			return walkUint(t, row, low)
		}
		type check struct {
			metric   string
			hc, low  string
			mult     uint64
			isGauge  bool
			optional bool
		}
		checks := []check{
			{"bits_in", ifXTable + ".6", ifTable + ".10", 8, false, false},
			{"bits_out", ifXTable + ".10", ifTable + ".16", 8, false, false},
			{"unicast_packets_in", ifXTable + ".7", ifTable + ".11", 1, false, false},
			{"unicast_packets_out", ifXTable + ".11", ifTable + ".17", 1, false, false},
			{"errors_in", "", ifTable + ".14", 1, false, false},
			{"errors_out", "", ifTable + ".20", 1, false, false},
			{"discards_in", "", ifTable + ".13", 1, false, false},
			{"discards_out", "", ifTable + ".19", 1, false, false},
			{"admin_state", "", ifTable + ".7", 1, true, false},
			{"oper_state", "", ifTable + ".8", 1, true, false},
			{"mtu", "", ifTable + ".4", 1, true, true},
		}
		for _, c := range checks {
			want, ok := pick(c.hc, c.low)
			m, has := g.Metric(c.metric)
			if !ok {
				if has && !c.optional {
					t.Errorf("%s %s: %s = %v but the agent has no such column", resourceID, name, c.metric, m.Value)
				}
				continue
			}
			if !has {
				t.Errorf("%s %s: no %s metric (agent has %d)", resourceID, name, c.metric, want*c.mult)
				continue
			}
			got := m.Value.Uint64()
			want *= c.mult
			switch {
			case c.isGauge && m.Type != metric.Gauge, !c.isGauge && m.Type != metric.Counter:
				t.Errorf("%s %s: %s has type %s", resourceID, name, c.metric, m.Type)
			case (exact || c.isGauge) && got != want:
				t.Errorf("%s %s: %s = %d, snmpbulkwalk says %d", resourceID, name, c.metric, got, want)
			case !exact && got < want:
				t.Errorf("%s %s: counter %s = %d went below the earlier walk's %d", resourceID, name, c.metric, got, want)
			}
		}
	}
}

func TestPollMatchesBulkWalk(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("integration test: needs snmpsim and snmpd")
	}
	sim := snmpagent.StartSnmpsim(t, "cisco_16_switch")
	walk := walkInterfaces(t, []string{"-v2c", "-c", "cisco_16_switch"}, sim.Addr())
	code, stdout, stderr := runMain(t, "poll", "--endpoint", sim.Addr(), "--community", "cisco_16_switch")
	if code != 0 {
		t.Fatalf("poll: code %d\n%s", code, stderr)
	}
	var set struct {
		Groups []*metric.Group `json:"metrics_group_set"`
	}
	if err := json.Unmarshal([]byte(stdout), &set); err != nil {
		t.Fatalf("poll output is not a metrics group set: %v\n%.500s", err, stdout)
	}
	for _, g := range set.Groups {
		if err := g.Validate(); err != nil {
			t.Errorf("invalid group: %v", err)
		}
	}
	compareInterfaces(t, set.Groups, sim.Addr(), walk, true)
	if st := statusOf(set.Groups)[sim.Addr()]; st != metric.StatusSuccess {
		t.Errorf("polling_status = %d", st)
	}
}

func TestPollV3AndFailures(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("integration test: needs snmpd")
	}
	agent := snmpagent.StartSnmpd(t)
	u := agent.V3["panoptes-sha-aes"]
	cfg := filepath.Join(t.TempDir(), "p.yaml")
	writeFile(t, cfg, fmt.Sprintf(`snmp:
  timeout: 500ms
  retries: 0
  credential: v3
  credentials:
    v3: {version: 3, username: %s, security_level: authPriv, auth_protocol: SHA, auth_passphrase: %s, priv_protocol: AES, priv_passphrase: %s}
    wrong: {version: 3, username: %s, security_level: authPriv, auth_protocol: SHA, auth_passphrase: WRONG-PASSPHRASE-1, priv_protocol: AES, priv_passphrase: %s}
`, u.Name, u.AuthPass, u.PrivPass, u.Name, u.PrivPass))

	walk := walkInterfaces(t, u.Args(), agent.Addr())
	code, stdout, stderr := runMain(t, "poll", "--endpoint", agent.Addr(), "--credential", "v3", "--config", cfg)
	if code != 0 {
		t.Fatalf("v3 poll: code %d\n%s", code, stderr)
	}
	var set metric.GroupSet
	if err := json.Unmarshal([]byte(stdout), &set); err != nil {
		t.Fatal(err)
	}
	compareInterfaces(t, set.Groups, agent.Addr(), walk, false)

	code, stdout, stderr = runMain(t, "poll", "--endpoint", agent.Addr(), "--credential", "wrong", "--config", cfg)
	if code != 1 || !strings.Contains(stderr, "polling status 1 (auth_failure)") {
		t.Errorf("wrong passphrase: code %d, stderr %q", code, stderr)
	}
	if strings.Contains(stdout+stderr, "WRONG-PASSPHRASE-1") || strings.Contains(stdout+stderr, u.PrivPass) {
		t.Errorf("output leaks a passphrase:\n%s\n%s", stdout, stderr)
	}

	code, _, stderr = runMain(t, "poll", "--endpoint", agent.Addr(), "--community", "not-the-community", "--timeout", "300ms")
	if code != 1 || !strings.Contains(stderr, "polling status 3 (timeout)") {
		t.Errorf("wrong community: code %d, stderr %q", code, stderr)
	}
	if strings.Contains(stderr, "not-the-community") {
		t.Errorf("stderr leaks the community: %s", stderr)
	}
}

func httpGet(url string) (int, string) {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestRunEndToEnd runs the binary against real agents and broken devices,
// kills it with SIGKILL, restarts it without discovery, and checks that the
// inventory survived and that every metric that reached the bus reached the
// file sink.
func TestRunEndToEnd(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("integration test: needs snmpsim, snmpd and the panoptes binary")
	}
	// The host agent's ifTable is this host's: no lldplab veths may come
	// and go between the walk and the polls compared with it.
	lldplab.Exclude(t)
	sim := snmpagent.StartSnmpsim(t, "cisco_16_switch")
	agent := snmpagent.StartSnmpd(t)
	u := agent.V3["panoptes-sha-aes"]
	simWalk := walkInterfaces(t, []string{"-v2c", "-c", "cisco_16_switch"}, sim.Addr())
	agentWalk := walkInterfaces(t, []string{"-v2c", "-c", "public"}, agent.Addr())

	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "devices.csv"), fmt.Sprintf(`id,endpoint,type,snmp_credential,model
cisco,%s,cisco,sim,WS-C3750
linux,%s,linux,public,net-snmp
silent,%s,generic,public,
wrong-community,%s,linux,wrong_community,
wrong-v3,%s,linux,wrong_v3,
not-snmp,%s,generic,public,
closed-port,%s,generic,public,
bad-row,,generic,public,
`, sim.Addr(), agent.Addr(), silentUDP(t), agent.Addr(), agent.Addr(), garbageUDP(t), closedUDP(t)))
	httpAddr := freeTCP(t)
	base := fmt.Sprintf(`site: lab
data_dir: data
http: {listen: %s}
snmp:
  timeout: 1500ms
  retries: 0
  credential: public
  credentials:
    public: {version: 2c, community: public}
    sim: {version: 2c, community: cisco_16_switch}
    wrong_community: {version: 2c, community: nope-nope}
    wrong_v3: {version: 3, username: %s, security_level: authPriv, auth_protocol: SHA, auth_passphrase: not-the-passphrase, priv_protocol: AES, priv_passphrase: %s}
polling:
  plugins:
    - name: interface
      interval: 2s
sinks:
  - type: file
    path: out/metrics.jsonl
`, httpAddr, u.Name, u.PrivPass)
	withDiscovery := base + "discovery:\n  interval: 1m\n  sources:\n    - plugin: csv\n      path: devices.csv\n"
	writeFile(t, filepath.Join(dir, "with-discovery.yaml"), withDiscovery)
	writeFile(t, filepath.Join(dir, "no-discovery.yaml"), base)
	out := filepath.Join(dir, "out", "metrics.jsonl")

	p := startRun(t, filepath.Join(dir, "with-discovery.yaml"))
	want := map[string]int64{
		"cisco": metric.StatusSuccess, "linux": metric.StatusSuccess, "silent": metric.StatusTimeout,
		"wrong-community": metric.StatusTimeout, "wrong-v3": metric.StatusAuthFailure,
	}
	failing := []string{"not-snmp", "closed-port"}
	// Each device's latest status is its expected one once its checks have
	// run (a loaded machine's first polls of snmpsim, a Python process, can
	// time out): wait for that, then say what differs.
	var groups []*metric.Group
	var st map[string]int64
	sink := newSinkReader(t, out)
	waitUntil(60*time.Second, func() bool {
		if !p.alive() {
			t.Fatalf("panoptes run exited: %v", p.err)
		}
		groups, _ = sink.read(t)
		st = statusOf(groups)
		for id, w := range want {
			if s, ok := st[id]; !ok || s != w {
				return false
			}
		}
		for _, id := range failing {
			if s, ok := st[id]; !ok || s == metric.StatusSuccess {
				return false
			}
		}
		return true
	})
	for id, w := range want {
		if st[id] != w {
			t.Errorf("device %s: polling_status %d, want %d (%s)", id, st[id], w, metric.StatusName(int(w)))
		}
	}
	for _, id := range failing {
		if st[id] == metric.StatusSuccess {
			t.Errorf("device %s: polling_status 0, want a failure", id)
		}
	}
	if _, ok := st["bad-row"]; ok {
		t.Errorf("the CSV row without endpoint was polled")
	}
	if !strings.Contains(p.log(), "devices.csv:9") {
		t.Errorf("the bad CSV row is not reported with file:line")
	}
	compareInterfaces(t, groups, "cisco", simWalk, true)
	compareInterfaces(t, groups, "linux", agentWalk, false)

	if code, body := httpGet("http://" + httpAddr + "/healthz"); code != 200 {
		t.Errorf("/healthz: %d %s", code, body)
	}
	if code, body := httpGet("http://" + httpAddr + "/readyz"); code != 200 {
		t.Errorf("/readyz: %d %s", code, body)
	}
	code, body := httpGet("http://" + httpAddr + "/metrics")
	for _, m := range []string{`panoptes_poll_checks_total{plugin="interface",status="timeout"}`, "panoptes_inventory_resources 7", "panoptes_poll_duration_seconds_bucket"} {
		if code != 200 || !strings.Contains(body, m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}
	for _, secret := range []string{"nope-nope", "not-the-passphrase", u.PrivPass} {
		if strings.Contains(p.log(), secret) {
			t.Errorf("the log contains the secret %q", secret)
		}
		if b, _ := os.ReadFile(out); strings.Contains(string(b), secret) {
			t.Errorf("the metrics contain the secret %q", secret)
		}
	}

	// SIGKILL: no clean shutdown. Restart without any discovery source: the
	// inventory must come back from the bus, and polling resume.
	p.kill()
	sink.killed(t) // the SIGKILL may cut the line the sink was writing
	killedAt := time.Now()
	p2 := startRun(t, filepath.Join(dir, "no-discovery.yaml"))
	read := len(groups) // before the kill: looked at already
	waitFor(t, "polls after the restart", 30*time.Second, p2, func() bool {
		groups, _ := sink.read(t)
		for _, g := range groups[min(read, len(groups)):] { // a batch cut off again shrinks groups
			if g.Type == "status" && g.Resource.ID == "cisco" && g.CreationTimestamp > float64(killedAt.UnixMilli())/1000+1 {
				return true
			}
		}
		read = len(groups)
		return false
	})
	p2.stop(t)
	checkNothingLost(t, filepath.Join(dir, "data"), out, sink.kills)
}
