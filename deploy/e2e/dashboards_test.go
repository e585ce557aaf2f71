package e2e

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/testutil/freeport"
	"github.com/panoptes-go/panoptes/internal/testutil/influx"
	"github.com/panoptes-go/panoptes/internal/testutil/promserver"
)

var ruleFiles = []string{"../prometheus/panoptes-recording.yml", "../prometheus/panoptes-alerts.yml"}

// TestDashboardQueries runs the pipeline into InfluxDB and two Prometheus
// servers, one scraping the prometheus sink and the node's /metrics, one
// fed by the prometheus_remote_write sink, both loading the rules. Then
// every query of every dashboard runs against each store it is written for,
// twice: with every variable at All (allValue), and with every variable at
// all the values its own query returns (a multi-value selection, formatted
// as Grafana does). A query that returns no series, or an error, fails the
// test, and so does a rule whose evaluation fails on real data, or alerts
// other than those the devices call for (the dead device unreachable, the
// edge router's BGP session in state active), pending or firing.
func TestDashboardQueries(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the pipeline, InfluxDB and Prometheus")
	}
	influxSrv := influx.Start(t)
	remote := promserver.Start(t, promserver.Options{RuleFiles: ruleFiles})
	httpAddr, exposition := freeport.Addr(freeport.TCP(t)), freeport.Addr(freeport.TCP(t))
	scrape := promserver.Start(t, promserver.Options{ScrapeTargets: []string{httpAddr, exposition}, RuleFiles: ruleFiles})
	started := time.Now()
	startPipeline(t, stores{InfluxURL: influxSrv.URL, InfluxDB: "panoptes", RemoteWriteURL: remote.RemoteWriteURL()}, httpAddr, exposition)

	scraped, written := newPromStore("prometheus (scraping)", scrape.URL), newPromStore("prometheus (remote write)", remote.URL)
	influxDB := &influxStore{url: influxSrv.URL, db: "panoptes", client: &http.Client{Timeout: 15 * time.Second}}
	var runs []dashRun
	for _, pattern := range []string{"../grafana/prometheus/*.json", "../grafana/influxdb/*.json"} {
		files, _ := filepath.Glob(pattern)
		if len(files) == 0 {
			t.Fatalf("no dashboards match %s", pattern)
		}
		for _, f := range files {
			d, err := readDashboard(f)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case strings.Contains(f, "influxdb"):
				runs = append(runs, dashRun{file: f, d: d, st: influxDB})
			case strings.HasSuffix(f, "panoptes-collector.json"): // the nodes' /metrics are scraped
				runs = append(runs, dashRun{file: f, d: d, st: scraped})
			default:
				runs = append(runs, dashRun{file: f, d: d, st: scraped}, dashRun{file: f, d: d, st: written})
			}
		}
	}

	// Rates need two polls, recording rules an evaluation, quantiles two
	// scrapes: ask again until everything answers or the deadline passes.
	deadline := started.Add(3 * time.Minute)
	pending := map[string]string{}
	done := map[string]bool{}
	for {
		clear(pending)
		for _, r := range runs {
			r.check(t, done, pending)
		}
		for _, p := range []*promStore{scraped, written} {
			if err := p.rulesHealthy(context.Background()); err != nil {
				pending[p.name()+": rules"] = err.Error()
			}
			if err := p.expectedAlerts(context.Background()); err != nil {
				pending[p.name()+": alerts"] = err.Error()
			}
		}
		if len(pending) == 0 {
			break
		}
		if time.Now().After(deadline) {
			keys := make([]string, 0, len(pending))
			for k := range pending {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				t.Errorf("%s: %s", k, pending[k])
			}
			t.Fatalf("%d of %d dashboard queries and checks still fail %s after the pipeline started", len(pending), len(pending)+len(done), time.Since(started).Round(time.Second))
		}
		time.Sleep(2 * time.Second)
	}
	t.Logf("%d queries and checks of %d dashboard runs answered, %s after the pipeline started", len(done), len(runs), time.Since(started).Round(time.Second))
}

// dashRun is one dashboard against one store.
type dashRun struct {
	file string
	d    dashboard
	st   store
}

var variants = []string{"All", "every value"}

// check runs what of r has not answered yet: its variables, its panels'
// queries in both variants, and (Prometheus) that every metric it names
// exists, so that an `or vector(0)` cannot hide a misspelt name.
func (r dashRun) check(t *testing.T, done map[string]bool, pending map[string]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	prefix := filepath.Base(r.file) + " on " + r.st.name()
	to := time.Now()
	from := to.Add(-10 * time.Minute)
	for _, variant := range variants {
		vals, err := r.resolve(ctx, variant, from, to)
		if err != nil {
			pending[prefix+" ["+variant+"]: variables"] = err.Error()
			continue
		}
		for _, q := range r.d.queries() {
			key := fmt.Sprintf("%s [%s]: panel %q query %s", prefix, variant, q.Panel, q.Target.RefID)
			if done[key] {
				continue
			}
			text := q.Target.Expr + q.Target.Query
			expanded := interpolate(text, vals)
			n, err := r.st.series(ctx, q.Target, expanded)
			switch {
			case err != nil:
				pending[key] = fmt.Sprintf("%v\n\t%s", err, expanded)
			case n == 0:
				pending[key] = "no series\n\t" + expanded
			default:
				done[key] = true
			}
		}
	}
	if p, ok := r.st.(*promStore); ok {
		for _, name := range metricNames(r.d) {
			key := prefix + ": metric " + name
			if done[key] {
				continue
			}
			n, err := p.series(ctx, target{Instant: true}, `group({__name__="`+name+`"})`)
			if err == nil && n > 0 {
				done[key] = true
			} else {
				pending[key] = fmt.Sprintf("no such series (%v)", err)
			}
		}
	}
}

// resolve gives each variable its value in the variant: All is the
// variable's allValue; every value is what its query returns (after the
// variables before it), selected together.
func (r dashRun) resolve(ctx context.Context, variant string, from, to time.Time) (map[string]string, error) {
	vals := r.st.builtins(from, to)
	for _, v := range r.d.Templating.List {
		if v.Type != "query" {
			continue
		}
		got, err := r.st.values(ctx, interpolate(v.Query, vals))
		if err != nil {
			return nil, fmt.Errorf("variable %s: %v", v.Name, err)
		}
		if len(got) == 0 {
			return nil, fmt.Errorf("variable %s: its query returns no values: %s", v.Name, interpolate(v.Query, vals))
		}
		if variant == "All" && v.IncludeAll && v.AllValue != "" {
			vals[v.Name] = v.AllValue
		} else {
			vals[v.Name] = r.st.format(got)
		}
	}
	return vals, nil
}

var metricName = regexp.MustCompile(`\b(panoptes_[a-z0-9_]+|[a-z_]+:[a-z0-9_]+:[a-z0-9_]+|process_[a-z_]+|go_[a-z_]+)\b`)

// metricNames is every metric a Prometheus dashboard's queries name.
func metricNames(d dashboard) []string {
	var names []string
	for _, q := range d.queries() {
		for _, m := range metricName.FindAllString(q.Target.Expr, -1) {
			if !slices.Contains(names, m) {
				names = append(names, m)
			}
		}
	}
	for _, v := range d.Templating.List {
		for _, m := range metricName.FindAllString(v.Query, -1) {
			if !slices.Contains(names, m) {
				names = append(names, m)
			}
		}
	}
	slices.Sort(names)
	return names
}

// rulesHealthy is nil when every loaded rule has been evaluated without
// error (a many-to-many match on real labels, a bad function...).
func (p *promStore) rulesHealthy(ctx context.Context) error {
	var data struct {
		Groups []struct {
			Name  string
			Rules []struct {
				Name, Health, LastError string
			}
		}
	}
	if err := p.get(ctx, "/api/v1/rules", nil, &data); err != nil {
		return err
	}
	var bad []string
	n := 0
	for _, g := range data.Groups {
		for _, r := range g.Rules {
			n++
			if r.Health != "ok" {
				bad = append(bad, fmt.Sprintf("%s/%s: %s %s", g.Name, r.Name, r.Health, r.LastError))
			}
		}
	}
	if n == 0 {
		return fmt.Errorf("no rules loaded")
	}
	if len(bad) > 0 {
		return fmt.Errorf("%s", strings.Join(bad, "; "))
	}
	return nil
}

// expectedAlerts is nil when the device and BGP-down alerts pending or
// firing are exactly those the simulated site calls for: the device that
// does not answer is unreachable, the edge router's session with
// 203.0.113.9 (state active, admin running) is down. Their for: clauses
// keep them pending during the test; the labels come from the real
// pipeline, which is what this checks against the rules' expressions.
func (p *promStore) expectedAlerts(ctx context.Context) error {
	var data struct {
		Alerts []struct {
			Labels map[string]string
			State  string
		}
	}
	if err := p.get(ctx, "/api/v1/alerts", nil, &data); err != nil {
		return err
	}
	want := map[string]bool{
		"PanoptesDeviceUnreachable dead-0003":                 false,
		"PanoptesBGPSessionDown edge-router-0002 203.0.113.9": false,
	}
	var unexpected []string
	for _, a := range data.Alerts {
		name := a.Labels["alertname"]
		// Only the alerts on devices and sessions being down are held to the
		// fixture: the collector's depend on the machine's load, and the
		// simulator moves every counter (established transitions, and the
		// errors of one interface in eight, at 1-4 a second).
		if name != "PanoptesDeviceUnreachable" && name != "PanoptesDeviceAuthFailure" && name != "PanoptesBGPSessionDown" {
			continue
		}
		key := strings.TrimSpace(name + " " + a.Labels["resource_id"] + " " + a.Labels["peer_address"])
		if _, ok := want[key]; ok {
			want[key] = true
			continue
		}
		unexpected = append(unexpected, fmt.Sprintf("%s (%s) %v", name, a.State, a.Labels))
	}
	var missing []string
	for k, seen := range want {
		if !seen {
			missing = append(missing, k)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 || len(unexpected) > 0 {
		return fmt.Errorf("alerts missing: %v; unexpected: %v", missing, unexpected)
	}
	return nil
}
