// Package prometheus_test checks Panoptes' Prometheus rules with promtool
// (Debian's prometheus package): the files load, every alert has a unit
// test that makes it fire, and every recorded series the dashboards read is
// recorded here.
package prometheus_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

var ruleFiles = []string{"panoptes-recording.yml", "panoptes-alerts.yml"}

func promtool(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("promtool"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/bin/promtool"); err == nil {
		return "/usr/bin/promtool"
	}
	const how = "install Debian's prometheus package, which has promtool"
	if os.Getenv("CI") == "true" {
		t.Fatalf("promtool not found (CI=true): %s", how)
	}
	t.Skipf("promtool not found; %s", how)
	return ""
}

func run(t *testing.T, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, promtool(t), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	t.Logf("promtool %s:\n%s", strings.Join(args, " "), out)
}

func TestCheckRules(t *testing.T) {
	run(t, append([]string{"check", "rules"}, ruleFiles...)...)
}

func TestRuleUnitTests(t *testing.T) {
	files, err := filepath.Glob("tests/*.test.yml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no unit tests under tests/: %v", err)
	}
	run(t, append([]string{"test", "rules"}, files...)...)
}

type ruleFile struct {
	Groups []struct {
		Name  string
		Rules []struct {
			Alert, Record, Expr string
		}
	}
}

func readRules(t *testing.T, path string) ruleFile {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f ruleFile
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return f
}

// TestEveryAlertTested: each alert of panoptes-alerts.yml is expected to
// fire (a non-empty exp_alerts) in some unit test, and is also seen quiet.
func TestEveryAlertTested(t *testing.T) {
	type alertTest struct {
		Alertname string
		ExpAlerts []any `yaml:"exp_alerts"`
	}
	var unit struct {
		Tests []struct {
			AlertRuleTest []alertTest `yaml:"alert_rule_test"`
		}
	}
	fires, quiet := map[string]bool{}, map[string]bool{}
	files, _ := filepath.Glob("tests/*.test.yml")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		unit.Tests = nil
		if err := yaml.Unmarshal(b, &unit); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, tc := range unit.Tests {
			for _, a := range tc.AlertRuleTest {
				if len(a.ExpAlerts) > 0 {
					fires[a.Alertname] = true
				} else {
					quiet[a.Alertname] = true
				}
			}
		}
	}
	n := 0
	for _, g := range readRules(t, "panoptes-alerts.yml").Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			n++
			if !fires[r.Alert] {
				t.Errorf("alert %s: no unit test makes it fire", r.Alert)
			}
			if !quiet[r.Alert] {
				t.Errorf("alert %s: no unit test sees it quiet (before its for, or below its threshold)", r.Alert)
			}
		}
	}
	if n < 6 {
		t.Errorf("%d alerts in panoptes-alerts.yml", n)
	}
}

// recorded matches a recording rule's name (level:metric:operation).
var recorded = regexp.MustCompile(`\b[a-z_]+:[a-z0-9_]+:[a-z0-9_]+\b`)

// TestDashboardsUseRecordedSeries: every level:metric:operation series a
// dashboard or an alert reads is recorded by panoptes-recording.yml.
func TestDashboardsUseRecordedSeries(t *testing.T) {
	var records []string
	for _, g := range readRules(t, "panoptes-recording.yml").Groups {
		for _, r := range g.Rules {
			records = append(records, r.Record)
		}
	}
	used := map[string]string{}
	dashboards, _ := filepath.Glob("../grafana/prometheus/*.json")
	if len(dashboards) == 0 {
		t.Fatal("no dashboards under ../grafana/prometheus")
	}
	for _, f := range dashboards {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range recorded.FindAllString(string(b), -1) {
			used[m] = f
		}
	}
	for _, g := range readRules(t, "panoptes-alerts.yml").Groups {
		for _, r := range g.Rules {
			for _, m := range recorded.FindAllString(r.Expr, -1) {
				used[m] = "panoptes-alerts.yml " + r.Alert
			}
		}
	}
	if len(used) == 0 {
		t.Fatal("no recorded series used: the pattern is wrong")
	}
	for name, where := range used {
		if !slices.Contains(records, name) {
			t.Errorf("%s reads %s, which panoptes-recording.yml does not record", where, name)
		}
	}
}
