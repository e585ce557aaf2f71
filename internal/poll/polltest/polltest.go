// Package polltest helps the tests of polling plugins: a resource and a
// clock to poll with, checks run through a real Runner and pool against a
// real agent, and readers of what a check returned.
package polltest

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/poll"
	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/snmp"
	"github.com/panoptes-go/panoptes/internal/testutil/snmpagent"
)

// Resource is the resource plugin tests poll (Clone it to change it).
var Resource = &resource.Resource{
	Site: "site1", Class: "network", Subclass: "switch", Type: "cisco",
	ID: "sw1.example.com", Endpoint: "sw1.example.com", Plugin: "discovery_csv",
}

// Now is the check's start in plugin tests: the groups' creation time.
var Now = time.Unix(1535497112, 75_000_000)

// Integration skips under -short (and fails under CI=true without them)
// a test that runs the agents binaries.
func Integration(t *testing.T, binaries ...string) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: runs real SNMP agents")
	}
	snmpagent.Need(t, binaries...)
}

// RunCheck polls the agent at addr with the registered plugin (default
// options) through a Runner and a real pool, as the poller does, and
// returns the status and the groups before the status group, each
// validated.
func RunCheck(t *testing.T, plugin, addr string, cred snmp.Credential, snmpCfg poll.SNMPOptions) (int, []*metric.Group) {
	t.Helper()
	snmpCfg.Credential = "test"
	snmpCfg.Credentials = map[string]*snmp.Credential{"test": &cred}
	pool := snmp.NewPool(snmp.PoolOptions{})
	t.Cleanup(func() { _ = pool.Close() })
	r := poll.NewRunner(poll.RunnerOptions{SNMP: snmpCfg, Pool: pool, Logger: slog.New(slog.NewTextHandler(LogWriter{t}, nil))})
	p, err := poll.New(plugin, nil)
	if err != nil {
		t.Fatal(err)
	}
	res := Resource.Clone()
	res.Endpoint = addr
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	set := r.Run(ctx, plugin, p, res, time.Minute)
	status, groups := StatusOfSet(t, set, plugin)
	for _, g := range groups {
		if err := g.Validate(); err != nil {
			t.Errorf("invalid group: %v", err)
		}
	}
	return status, groups
}

// StatusOfSet checks that set (a minute's check of plugin) ends with a
// well-formed status group and returns its status and the groups before
// it.
func StatusOfSet(t *testing.T, set *metric.GroupSet, plugin string) (int, []*metric.Group) {
	t.Helper()
	if set == nil || len(set.Groups) == 0 {
		t.Fatal("Run returned no status group")
	}
	s := set.Groups[len(set.Groups)-1]
	if err := s.Validate(); err != nil {
		t.Fatalf("status group invalid: %v", err)
	}
	if s.Type != poll.StatusGroupType || s.Dimension(poll.PluginDimension) != plugin || len(s.Metrics) != 1 ||
		s.Metrics[0].Name != poll.StatusMetric || s.Metrics[0].Type != metric.Gauge ||
		s.Interval != 60 || s.CreationTimestamp == 0 || s.Metrics[0].Timestamp < s.CreationTimestamp {
		t.Fatalf("bad status group: %+v", s)
	}
	return int(s.Metrics[0].Value.Int64()), set.Groups[:len(set.Groups)-1]
}

// Gauge is the value of the gauge name in g; the test fails without one.
func Gauge(t *testing.T, g *metric.Group, name string) float64 {
	t.Helper()
	m, ok := g.Metric(name)
	if !ok || m.Type != metric.Gauge {
		t.Fatalf("metric %s missing or not a gauge: %+v", name, g.Metrics)
	}
	return m.Value.Float64()
}

// GetFunc is an SNMP GET written as a function.
type GetFunc func(ctx context.Context, t snmp.Target, oids []string) ([]snmp.Varbind, error)

// Get calls f.
func (f GetFunc) Get(ctx context.Context, t snmp.Target, oids []string) ([]snmp.Varbind, error) {
	return f(ctx, t, oids)
}

// LogWriter shows a log in the test's output.
type LogWriter struct{ T *testing.T }

func (l LogWriter) Write(p []byte) (int, error) {
	l.T.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// Check builds every polling plugin of cfg, as start-up does, and returns
// their problems located (file:line: key: reason): give it to
// config.Load or config.Parse.
func Check(cfg *config.Config) error {
	var errs []error
	for i, pc := range cfg.Polling.Plugins {
		if pc.Plugin == "" {
			continue // config.Validate reported it
		}
		if _, err := poll.Build(pc.Plugin, pc.Options); err != nil {
			errs = append(errs, cfg.Locate("polling.plugins", i, "plugin", err))
		}
	}
	return errors.Join(errs...)
}

// Load loads a plugin's sample config through the real loader, with its
// polling plugins checked, and returns the config and the plugins built,
// by instance name.
func Load(t *testing.T, path string) (*config.Config, map[string]poll.Plugin) {
	t.Helper()
	cfg, err := config.Load(path, Check)
	if err != nil {
		t.Fatal(err)
	}
	plugins := map[string]poll.Plugin{}
	for _, pc := range cfg.Polling.Plugins {
		p, err := poll.Build(pc.Plugin, pc.Options)
		if err != nil {
			t.Fatalf("%s: %v", pc.Name, err)
		}
		plugins[pc.Name] = p
	}
	if len(plugins) == 0 {
		t.Fatalf("%s has no polling plugin", path)
	}
	return cfg, plugins
}

// BadOptions loads each yaml (a config's polling section; credentials are
// added) and checks that it fails with want, which names file, line and
// key: "bad.yaml:6: polling.plugins[0].options.x: ...".
func BadOptions(t *testing.T, cases map[string]string) {
	t.Helper()
	const creds = "snmp: {credential: a, credentials: {a: {version: 2c, community: c}}}\n"
	for yaml, want := range cases {
		_, err := config.Parse("bad.yaml", []byte(creds+yaml), func(string) (string, bool) { return "", false }, Check)
		if err == nil || err.Error() != want {
			t.Errorf("%q:\n got %v\nwant %s", yaml, err, want)
		}
	}
}
