package discovery

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/plugin"
	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/testutil/logbuf"
)

func TestApplyDiffCounts(t *testing.T) {
	inv := newMemInventory()
	m := NewManager(ManagerOptions{Inventory: inv})
	ctx := context.Background()

	d, err := m.Apply(ctx, "csv", result(3, res("a", "10.0.0.1", "csv", nil), res("b", "10.0.0.2", "csv", nil),
		res("c", "10.0.0.3", "csv", nil)), 0)
	if err != nil || d != (Diff{Added: 3}) {
		t.Fatalf("first apply: %+v %v", d, err)
	}

	// a unchanged (a newer timestamp is not a change), b updated (metadata), c removed, d added.
	a := res("a", "10.0.0.1", "csv", nil)
	a.CreationTimestamp += 60
	b := res("b", "10.0.0.2", "csv", map[string]string{"model": "x"})
	d, err = m.Apply(ctx, "csv", result(3, a, b, res("d", "10.0.0.4", "csv", nil)), 0)
	if err != nil || d != (Diff{Added: 1, Updated: 1, Removed: 1, Unchanged: 1}) {
		t.Fatalf("second apply: %+v %v", d, err)
	}
	got := inv.snapshot()
	if len(got) != 3 || got[b.Key()].Metadata["model"] != "x" || got[res("c", "", "", nil).Key()] != nil {
		t.Fatalf("inventory = %v", got)
	}
	if inv.puts != 5 || inv.deletes != 1 {
		t.Errorf("puts %d deletes %d, want 5 and 1: unchanged resources must not be rewritten", inv.puts, inv.deletes)
	}
	if g := value(t, m.metrics.resources.WithLabelValues("csv")); g != 3 {
		t.Errorf("resources gauge = %v, want 3", g)
	}
	if n := value(t, m.metrics.runs.WithLabelValues("csv", resultOK)); n != 2 {
		t.Errorf("ok runs = %v, want 2", n)
	}
}

func TestApplyLeavesOtherSourcesAlone(t *testing.T) {
	cmdb := res("core1", "10.9.9.9", "cmdb", map[string]string{"owner": "neteng"})
	shared := res("shared", "10.9.9.8", "cmdb", nil)
	inv := newMemInventory(cmdb, shared)
	logger, logs := testLogger(slog.LevelInfo)
	m := NewManager(ManagerOptions{Inventory: inv, Logger: logger})

	// csv also claims "shared": the first owner keeps it, the conflict is counted and logged.
	claim := res("shared", "10.0.0.99", "csv", nil)
	d, err := m.Apply(context.Background(), "csv", result(2, res("a", "10.0.0.1", "csv", nil), claim), 0)
	if err != nil || d != (Diff{Added: 1, Conflicts: 1}) {
		t.Fatalf("apply: %+v %v", d, err)
	}
	// An empty csv set must not touch cmdb's resources either (and is refused anyway).
	got := inv.snapshot()
	if !reflect.DeepEqual(got[cmdb.Key()], cmdb) || !reflect.DeepEqual(got[shared.Key()], shared) {
		t.Fatalf("cmdb's resources changed: %+v %+v", got[cmdb.Key()], got[shared.Key()])
	}
	if !strings.Contains(logs.String(), "another source already provides them") || !strings.Contains(logs.String(), "(from cmdb)") {
		t.Errorf("conflict not logged: %s", logs)
	}
	// Removing everything csv produced leaves cmdb's resources.
	d, err = m.Apply(context.Background(), "csv", result(1, res("b", "10.0.0.2", "csv", nil)), 0)
	if err != nil || d.Removed != 1 || d.Added != 1 {
		t.Fatalf("apply: %+v %v", d, err)
	}
	if got := inv.snapshot(); len(got) != 3 || got[cmdb.Key()] == nil || got[shared.Key()] == nil {
		t.Fatalf("inventory = %v", got)
	}
}

// loaded returns a manager whose inventory holds devices.csv under source "csv".
func loaded(t *testing.T) (*Manager, *memInventory, *logbuf.Buffer) {
	t.Helper()
	inv := newMemInventory(res("other", "10.9.9.9", "cmdb", nil))
	logger, logs := testLogger(slog.LevelDebug)
	m := NewManager(ManagerOptions{Inventory: inv, Logger: logger})
	src := newSource(t, "csv", "csv", "testdata/devices.csv", Defaults{Site: "dc1"})
	if d, err := m.Sync(context.Background(), "csv", src, 0); err != nil || d.Added != 3 {
		t.Fatalf("initial sync: %+v %v", d, err)
	}
	return m, inv, logs
}

func TestBrokenSetsKeepPreviousInventory(t *testing.T) {
	for _, tc := range []struct {
		file, result string
		ratio        float64
		why          string
	}{
		{"testdata/empty.csv", resultFailed, 0, "the file is empty"},
		{"testdata/nope.csv", resultFailed, 0, "no such file"},
		{"testdata/missing_header.csv", resultFailed, 0, "no id column"},
		{"testdata/header_only.csv", resultKeptPrevious, 0, "the source returned no resources"},
		{"testdata/truncated.csv", resultKeptPrevious, 0, "only 0 of 1 rows are valid"},
		{"testdata/mostly_invalid.csv", resultKeptPrevious, 0, "only 1 of 4 rows are valid (25%, below the minimum 50%)"},
		{"testdata/bad_rows.csv", resultKeptPrevious, 0.9, "only 7 of 14 rows are valid (50%, below the minimum 90%)"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			m, inv, logs := loaded(t)
			before := inv.snapshot()
			src := newSource(t, "csv", "csv", tc.file, Defaults{Site: "dc1"})
			_, err := m.Sync(context.Background(), "csv", src, tc.ratio)
			if !errors.Is(err, ErrKeptPrevious) || !strings.Contains(err.Error(), tc.why) {
				t.Fatalf("err = %v, want ErrKeptPrevious saying %q", err, tc.why)
			}
			if !reflect.DeepEqual(inv.snapshot(), before) {
				t.Fatal("the inventory changed")
			}
			if n := value(t, m.metrics.runs.WithLabelValues("csv", tc.result)); n != 1 {
				t.Errorf("runs{result=%s} = %v, want 1", tc.result, n)
			}
			if g := value(t, m.metrics.resources.WithLabelValues("csv")); g != 3 {
				t.Errorf("resources gauge = %v, want 3 (the kept inventory)", g)
			}
			if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "kept the previous inventory") {
				t.Errorf("log does not say the inventory was kept:\n%s", logs)
			}
		})
	}
}

func TestApplyNilResultAndDefaultRatio(t *testing.T) {
	inv := newMemInventory()
	m := NewManager(ManagerOptions{Inventory: inv})
	if _, err := m.Apply(context.Background(), "csv", nil, 0); !errors.Is(err, ErrKeptPrevious) {
		t.Fatalf("nil result: err = %v", err)
	}
	// Exactly half valid passes the default ratio; just under does not.
	if _, err := m.Apply(context.Background(), "csv", result(2, res("a", "x", "csv", nil)), 0); err != nil {
		t.Fatalf("1 of 2 valid: %v", err)
	}
	if _, err := m.Apply(context.Background(), "csv", result(3, res("a", "x", "csv", nil)), 0); !errors.Is(err, ErrKeptPrevious) {
		t.Fatalf("1 of 3 valid: err = %v", err)
	}
	// A new source whose first file is empty is fine: there is nothing to keep.
	if d, err := m.Apply(context.Background(), "new", result(0), 0); err != nil || d != (Diff{}) {
		t.Fatalf("empty first set: %+v %v", d, err)
	}
}

func TestApplyInventoryFailureDeletesNothing(t *testing.T) {
	inv := newMemInventory(res("a", "10.0.0.1", "csv", nil), res("b", "10.0.0.2", "csv", nil))
	inv.failPut = errors.New("kv: timeout")
	m := NewManager(ManagerOptions{Inventory: inv})
	_, err := m.Apply(context.Background(), "csv", result(1, res("c", "10.0.0.3", "csv", nil)), 0)
	if err == nil || !strings.Contains(err.Error(), "store resource dc1|network|switch|generic|c: kv: timeout") {
		t.Fatalf("err = %v", err)
	}
	if len(inv.snapshot()) != 2 {
		t.Fatal("resources were removed although the new ones could not be stored")
	}
	if n := value(t, m.metrics.runs.WithLabelValues("csv", resultFailed)); n != 1 {
		t.Errorf("failed runs = %v", n)
	}
}

func TestSyncSummaryLine(t *testing.T) {
	path := writeFile(t, "devices.csv", "id,endpoint,site\nsw1,10.0.0.1,dc1\nsw2,,dc1\nsw3,10.0.0.3,dc1\n")
	logger, logs := testLogger(slog.LevelInfo)
	m := NewManager(ManagerOptions{Inventory: newMemInventory(), Logger: logger})
	if _, err := m.Sync(context.Background(), "csv", newSource(t, "csv", "csv", path, Defaults{}), 0); err != nil {
		t.Fatal(err)
	}
	want := "discovery csv: 2 resources (2 added, 0 updated, 0 removed), 1 row rejected: " + path + ":3: endpoint is empty"
	if !strings.Contains(logs.String(), `msg="`+want+`"`) {
		t.Errorf("log = %s\nwant message %q", logs, want)
	}
	if n := value(t, m.metrics.rejected.WithLabelValues("csv")); n != 1 {
		t.Errorf("rejected counter = %v", n)
	}
	// Many rejects are summarised, not all listed.
	got := rejectSummary(make([]RowError, 8))
	if !strings.HasPrefix(got, "8 rows rejected: ") || !strings.HasSuffix(got, "; and 3 more") {
		t.Errorf("summary = %q", got)
	}
}

func TestSecretsNeverLoggedOrStored(t *testing.T) {
	m, inv, logs := loaded(t) // debug level: everything is logged
	if _, err := m.Sync(context.Background(), "csv", newSource(t, "csv", "csv", "testdata/devices.csv", Defaults{Site: "dc1"}), 0); err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	stored, err := json.Marshal(inv.snapshot())
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"public", "s3cr3t-community"} {
		if strings.Contains(out, secret) || strings.Contains(string(stored), secret) {
			t.Errorf("secret %q leaked:\nlog: %s\nstored: %s", secret, out, stored)
		}
	}
	// One warning naming the column; the next run repeats it only at debug level.
	if n := strings.Count(out, "level=WARN msg=\"discovery csv: testdata/devices.csv: metadata \\\"snmp_community\\\" looks like a secret"); n != 1 {
		t.Errorf("%d warn-level secret warnings, want 1:\n%s", n, out)
	}
	if !strings.Contains(out, "level=DEBUG msg=\"discovery csv: testdata/devices.csv: metadata \\\"snmp_community\\\"") {
		t.Errorf("the repeated warning is not at debug level:\n%s", out)
	}
}

// countingSource counts Discover calls and returns a fixed set.
type countingSource struct {
	calls atomic.Int32
	set   []*resource.Resource
}

func (c *countingSource) Discover(context.Context) (*Result, error) {
	c.calls.Add(1)
	return result(len(c.set), c.set...), nil
}

func TestRunPeriodicallyUntilCancelled(t *testing.T) {
	inv := newMemInventory()
	m := NewManager(ManagerOptions{Inventory: inv})
	a := &countingSource{set: []*resource.Resource{res("a", "10.0.0.1", "a", nil)}}
	b := &countingSource{set: []*resource.Resource{res("b", "10.0.0.2", "b", nil)}}
	cfgs := []config.Source{{Name: "a"}, {Name: "b", MinValidRatio: 0.5}}
	sources := map[string]Source{"a": a, "b": b}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, sources, cfgs, 10*time.Millisecond) }()
	deadline := time.Now().Add(5 * time.Second)
	for a.calls.Load() < 3 || b.calls.Load() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("runs: a %d b %d after 5s", a.calls.Load(), b.calls.Load())
		}
		time.Sleep(2 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run returned %v on cancel", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if got := inv.snapshot(); len(got) != 2 {
		t.Fatalf("inventory = %v", got)
	}

	// The first run is immediate, not after one interval.
	c := &countingSource{set: a.set}
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	go func() { done <- m.Run(ctx2, map[string]Source{"a": c}, cfgs[:1], time.Hour) }()
	for c.calls.Load() == 0 {
		if time.Now().After(deadline.Add(5 * time.Second)) {
			t.Fatal("no immediate first run")
		}
		time.Sleep(2 * time.Millisecond)
	}
	cancel2()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestRunRejectsBadArguments(t *testing.T) {
	m := NewManager(ManagerOptions{Inventory: newMemInventory()})
	if err := m.Run(context.Background(), nil, nil, 0); err == nil || !strings.Contains(err.Error(), "interval") {
		t.Errorf("interval 0: %v", err)
	}
	err := m.Run(context.Background(), map[string]Source{}, []config.Source{{Name: "x"}}, time.Second)
	if err == nil || !strings.Contains(err.Error(), `source "x"`) {
		t.Errorf("missing source: %v", err)
	}
}

func TestMetricsRegistered(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewManager(ManagerOptions{Inventory: newMemInventory(), Registerer: reg})
	NewManager(ManagerOptions{Inventory: newMemInventory(), Registerer: reg}) // shares, does not panic
	if _, err := m.Apply(context.Background(), "csv", &Result{Set: &resource.Set{Resources: []*resource.Resource{res("a", "x", "csv", nil)}},
		Rows: 2, Rejected: []RowError{{File: "f", Line: 2, Reason: "id is empty"}}}, 0); err != nil {
		t.Fatal(err)
	}
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range fams {
		names[f.GetName()] = true
	}
	for _, n := range []string{"panoptes_discovery_resources", "panoptes_discovery_runs_total",
		"panoptes_discovery_rows_rejected_total", "panoptes_discovery_last_success_timestamp_seconds"} {
		if !names[n] {
			t.Errorf("metric %s not registered; have %v", n, maps.Keys(names))
		}
	}
	if n := value(t, m.metrics.rejected.WithLabelValues("csv")); n != 1 {
		t.Errorf("rejected = %v", n)
	}
}

func TestRegistry(t *testing.T) {
	mustPanic := func(name string, f func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Errorf("%s did not panic", name)
			}
		}()
		f()
	}
	noop := func(plugin.Block, Deps) (Source, error) { return nil, nil }
	Register("test-registry", func(o plugin.Block, d Deps) (Source, error) {
		var c struct {
			Path string `yaml:"path"`
		}
		if err := o.Decode(&c); err != nil {
			return nil, err
		}
		if c.Path == "" {
			return nil, plugin.Errorf("path", "is empty")
		}
		return newSource(t, d.Name, FormatCSV, c.Path, d.Defaults), nil
	})
	mustPanic("empty name", func() { Register("", noop) })
	mustPanic("duplicate", func() { Register("test-registry", noop) })
	mustPanic("nil factory", func() { Register("x-nil", nil) })
	mustPanic("no inventory", func() { NewManager(ManagerOptions{}) })

	if got := Plugins(); !slices.Contains(got, "test-registry") || !slices.IsSorted(got) {
		t.Errorf("Plugins() = %v", got)
	}
	_, err := Build("ldap", plugin.Block{}, Deps{Name: "s"})
	if err == nil || !strings.Contains(err.Error(), `unknown discovery source "ldap" (registered: `) {
		t.Errorf("unknown plugin: %v", err)
	}
	_, err = Build("test-registry", plugin.BlockOf(map[string]any{"path": ""}), Deps{Name: "s"})
	if err == nil || err.Error() != "path: is empty" {
		t.Errorf("a factory's field error is located: %v", err)
	}
	src, err := Build("test-registry", plugin.BlockOf(map[string]any{"path": "testdata/devices.csv"}), Deps{Name: "s", Defaults: Defaults{Site: "dc1"}})
	if err != nil {
		t.Fatal(err)
	}
	if res := discover(t, src); res.Set.Resources[0].Plugin != "s" || res.Set.Resources[0].Class != FallbackClass {
		t.Errorf("the factory gets the name and the defaults with fallbacks: %+v", res.Set.Resources[0])
	}
	if _, err = Build("test-registry", plugin.BlockOf(map[string]any{"path": "x"}), Deps{}); err == nil {
		t.Error("a source without a name was accepted")
	}
}

func TestIsSecretName(t *testing.T) {
	for name, want := range map[string]bool{
		"snmp_community": true, "community": true, "ro_community": true, "password": true, "enable_password": true,
		"v3_passphrase": true, "client_secret": true, "api_token": true, "auth_key": true, "priv_key": true,
		"authkey": true, "API-Key": true, "psk": true,
		"snmp_credential": false, "model": false, "keyboard": false, "monkey": false, "_resource_ttl": false,
		"location": false, "snmp_port": false, "keystone_region": false,
	} {
		if got := IsSecretName(name); got != want {
			t.Errorf("IsSecretName(%q) = %v, want %v", name, got, want)
		}
	}
}

// value reads a gauge or counter (testutil would pull in another module).
func value(t *testing.T, m prometheus.Metric) float64 {
	t.Helper()
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		t.Fatal(err)
	}
	switch {
	case d.Gauge != nil:
		return d.Gauge.GetValue()
	case d.Counter != nil:
		return d.Counter.GetValue()
	}
	t.Fatalf("metric %v is neither a gauge nor a counter", m.Desc())
	return 0
}
