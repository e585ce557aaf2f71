package node

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/parts"
	"github.com/panoptes-go/panoptes/internal/snmp"
	"github.com/panoptes-go/panoptes/internal/testutil/logbuf"
	"github.com/panoptes-go/panoptes/internal/testutil/snmpagent"
	"github.com/prometheus/client_golang/prometheus"
)

// polled is one status group of a file sink's output.
type polled struct {
	created float64
	status  int64
}

// statuses reads the status groups in a file sink's output, by resource id.
func statuses(t *testing.T, path string) map[string][]polled {
	t.Helper()
	out := map[string][]polled{}
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return out
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		g, err := metric.Decode(sc.Bytes())
		if err != nil || g.Type != "status" {
			continue // a line being written
		}
		m, _ := g.Metric("polling_status")
		out[g.Resource.ID] = append(out[g.Resource.ID], polled{g.CreationTimestamp, m.Value.Int64()})
	}
	return out
}

// TestReloadRotatedV3 rotates an SNMPv3 user's passphrases on a running
// node polling two real net-snmp agents, as an operator does: the config
// first (a reload), then the agents (snmpusm passwd). At the reload the
// sessions of the old passphrases close (idle, they would otherwise stay
// until the pool's idle timeout, set to an hour here), although user, level and protocols are
// unchanged; until the agents change, each device's polls end in the
// auth_failure status (refused, not hung); then they succeed, and the
// sessions open are those of the new passphrases only. No passphrase
// reaches the log or the sink.
func TestReloadRotatedV3(t *testing.T) {
	if testing.Short() {
		t.Skip("starts snmpd and runs an embedded bus for several seconds")
	}
	snmpagent.Need(t, "snmpd", "snmpusm")
	const secret = "v3-Rotation-Zebra-77"
	admin := snmpagent.V3User{Name: "panoptes-admin", Level: "authPriv",
		AuthProto: "SHA", AuthPass: "admin-auth-pass", PrivProto: "AES", PrivPass: "admin-priv-pass"}
	user := snmpagent.V3User{Name: "panoptes-rotated", AuthPass: secret + "-auth-1", PrivPass: secret + "-priv-1"}
	dir := t.TempDir()
	var inv strings.Builder
	inv.WriteString("id,endpoint,site,class\n")
	var agents []*snmpagent.Agent
	for i := range 2 {
		a := snmpagent.StartSnmpdWith(t, snmpagent.SnmpdOptions{Admin: admin, Managed: []string{user.Name}})
		user = a.CreateUser(t, admin, user)
		agents = append(agents, a)
		fmt.Fprintf(&inv, "host%d,%s,lab,server\n", i, a.Addr())
	}
	write(t, filepath.Join(dir, "devices.csv"), inv.String())
	cfgPath := filepath.Join(dir, "p.yaml")
	load := func(u snmpagent.V3User) *config.Config {
		t.Helper()
		write(t, cfgPath, fmt.Sprintf(`site: lab
data_dir: data
http: {listen: ""}
discovery:
  sources: [{name: lab, plugin: csv, path: devices.csv}]
snmp:
  credential: c
  timeout: 1s
  retries: 1
  credentials:
    c: {version: "3", username: %s, security_level: authPriv, auth_protocol: SHA, auth_passphrase: %s, priv_protocol: AES, priv_passphrase: %s}
polling:
  plugins: [{name: uptime, plugin: uptime, interval: 1s}]
sinks:
  - {name: a, type: file, path: a.jsonl, batch_timeout: 100ms}
`, u.Name, u.AuthPass, u.PrivPass))
		cfg, err := config.Load(cfgPath, Check)
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	cur := load(user)
	logs := &logbuf.Buffer{}
	// Idle sessions would otherwise close after 10 s (parts.PoolOptions),
	// soon enough to pass the wait below without Retain on a slow machine.
	defer func(f func(config.SNMP, *slog.Logger, prometheus.Registerer) snmp.PoolOptions) { poolOptions = f }(poolOptions)
	poolOptions = func(c config.SNMP, l *slog.Logger, r prometheus.Registerer) snmp.PoolOptions {
		o := parts.PoolOptions(c, l, r)
		o.IdleTimeout = time.Hour
		return o
	}
	n, err := New(cur, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	sink := filepath.Join(dir, "a.jsonl")
	waitUntil := func(what string, d time.Duration, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(d)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out after %v waiting for %s", d, what)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// every reports whether each device has a status group created after
	// since and the last such is want.
	every := func(since time.Time, want int64) bool {
		st := statuses(t, sink)
		for i := range agents {
			var last *polled
			for _, p := range st[fmt.Sprintf("host%d", i)] {
				if p.created > float64(since.UnixMilli())/1000 {
					last = &p
				}
			}
			if last == nil || last.status != want {
				return false
			}
		}
		return true
	}
	sessionsOpen := func() float64 {
		mfs, err := n.Registry().Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() == "panoptes_snmp_sessions_open" {
				return mf.GetMetric()[0].GetGauge().GetValue()
			}
		}
		t.Fatal("no panoptes_snmp_sessions_open")
		return 0
	}
	start := time.Now()
	waitUntil("every device polled with the first passphrases", 30*time.Second, func() bool { return every(start, metric.StatusSuccess) })
	if open := sessionsOpen(); open < float64(len(agents)) {
		t.Fatalf("%v sessions open while polling, want one per device (%d)", open, len(agents))
	}

	// The config first: the agents still know the old passphrases only.
	next := load(snmpagent.V3User{Name: user.Name, AuthPass: secret + "-auth-2", PrivPass: secret + "-priv-2"})
	d := config.Compare(cur, next)
	if err := d.Err(); err != nil {
		t.Fatal(err)
	}
	reloaded := time.Now()
	if err := n.Reload(ctx, next, d); err != nil {
		t.Fatalf("reload %s: %v", d, err)
	}
	cur = next
	// Polls with the new passphrases fail at once and keep no session, so
	// what stays open is the old passphrases' sessions, idle, unless the
	// reload closed them.
	waitUntil("the old passphrases' sessions closed at the reload (the idle timeout is an hour here)", 20*time.Second, func() bool { return sessionsOpen() == 0 })
	t.Logf("old sessions closed %v after the reload", time.Since(reloaded).Round(time.Millisecond))
	waitUntil("every device's polls refused: auth_failure", 20*time.Second, func() bool { return every(reloaded, metric.StatusAuthFailure) })

	// Then the agents.
	for _, a := range agents {
		a.Passwd(t, admin, a.V3[user.Name], secret+"-auth-2", secret+"-priv-2")
	}
	rotatedAt := time.Now()
	waitUntil("every device polled with the new passphrases", 20*time.Second, func() bool { return every(rotatedAt, metric.StatusSuccess) })
	if open := sessionsOpen(); open > float64(len(agents)) {
		t.Errorf("%v sessions open, want at most one per device (%d)", open, len(agents))
	}
	b, _ := os.ReadFile(sink)
	if strings.Contains(logs.String(), secret) || strings.Contains(string(b), secret) {
		t.Errorf("a passphrase reached the log or the sink")
	}
}
