package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// A dashboard as Grafana reads it: only what the test needs.
type dashboard struct {
	Title      string `json:"title"`
	Templating struct {
		List []variable `json:"list"`
	} `json:"templating"`
	Panels []panel `json:"panels"`
}

type variable struct {
	Name       string `json:"name"`
	Type       string `json:"type"`
	Query      string `json:"query"`
	AllValue   string `json:"allValue"`
	Multi      bool   `json:"multi"`
	IncludeAll bool   `json:"includeAll"`
}

type panel struct {
	Title   string   `json:"title"`
	Type    string   `json:"type"`
	Panels  []panel  `json:"panels"` // a collapsed row's
	Targets []target `json:"targets"`
}

type target struct {
	RefID   string `json:"refId"`
	Expr    string `json:"expr"`  // Prometheus
	Query   string `json:"query"` // InfluxDB
	Instant bool   `json:"instant"`
	Hide    bool   `json:"hide"`
}

func readDashboard(path string) (dashboard, error) {
	var d dashboard
	b, err := os.ReadFile(path)
	if err != nil {
		return d, err
	}
	if err := json.Unmarshal(b, &d); err != nil {
		return d, fmt.Errorf("%s: %w", path, err)
	}
	return d, nil
}

// queries is every visible target of every panel, rows opened.
func (d dashboard) queries() []query {
	var out []query
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			walk(p.Panels)
			for _, t := range p.Targets {
				if !t.Hide {
					out = append(out, query{Panel: p.Title, Target: t})
				}
			}
		}
	}
	walk(d.Panels)
	return out
}

type query struct {
	Panel  string
	Target target
}

// store runs a dashboard's queries the way its Grafana datasource would.
type store interface {
	name() string
	// values runs a variable's query.
	values(ctx context.Context, q string) ([]string, error)
	// series runs a panel's query and returns how many series it gave.
	series(ctx context.Context, t target, q string) (int, error)
	// format writes a variable's selected values into a query: Grafana's
	// regex formatting of a multi-value variable for this datasource.
	format(selected []string) string
	// builtins are Grafana's macros ($__interval, $timeFilter, ...).
	builtins(from, to time.Time) map[string]string
}

var varRef = regexp.MustCompile(`\$\{?(\w+)\}?`)

// interpolate replaces $name and ${name} by their values; names it does not
// know (InfluxDB's $tag_ alias patterns) stay.
func interpolate(q string, vals map[string]string) string {
	return varRef.ReplaceAllStringFunc(q, func(m string) string {
		name := strings.Trim(m, "${}")
		if v, ok := vals[name]; ok {
			return v
		}
		return m
	})
}

// promStore is a Prometheus server, queried over its HTTP API.
type promStore struct {
	label, url string
	client     *http.Client
}

func newPromStore(label, url string) *promStore {
	return &promStore{label: label, url: url, client: &http.Client{Timeout: 15 * time.Second}}
}

func (p *promStore) name() string { return p.label }

func (p *promStore) get(ctx context.Context, path string, v url.Values, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url+path+"?"+v.Encode(), nil)
	if err != nil {
		return err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	var r struct {
		Status, Error string
		Data          json.RawMessage
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return fmt.Errorf("%s: %s: %.200s", path, resp.Status, body)
	}
	if r.Status != "success" {
		return fmt.Errorf("%s", r.Error)
	}
	return json.Unmarshal(r.Data, out)
}

var labelValues = regexp.MustCompile(`^label_values\((.+),\s*(\w+)\)$`)

// values answers label_values(selector, label) as Grafana does, from the
// series API.
func (p *promStore) values(ctx context.Context, q string) ([]string, error) {
	m := labelValues.FindStringSubmatch(strings.TrimSpace(q))
	if m == nil {
		return nil, fmt.Errorf("not label_values(selector, label): %s", q)
	}
	var series []map[string]string
	now := time.Now()
	v := url.Values{"match[]": {m[1]}, "start": {unix(now.Add(-10 * time.Minute))}, "end": {unix(now)}}
	if err := p.get(ctx, "/api/v1/series", v, &series); err != nil {
		return nil, err
	}
	var out []string
	for _, s := range series {
		if val := s[m[2]]; val != "" && !slices.Contains(out, val) {
			out = append(out, val)
		}
	}
	slices.Sort(out)
	return out, nil
}

func (p *promStore) series(ctx context.Context, t target, q string) (int, error) {
	var r struct {
		Result []json.RawMessage `json:"result"`
	}
	now := time.Now()
	if t.Instant {
		if err := p.get(ctx, "/api/v1/query", url.Values{"query": {q}, "time": {unix(now)}}, &r); err != nil {
			return 0, err
		}
		return len(r.Result), nil
	}
	v := url.Values{"query": {q}, "start": {unix(now.Add(-10 * time.Minute))}, "end": {unix(now)}, "step": {"2"}}
	if err := p.get(ctx, "/api/v1/query_range", v, &r); err != nil {
		return 0, err
	}
	return len(r.Result), nil
}

// format is Grafana's Prometheus formatting of a multi-value variable:
// each value regex-escaped, its backslashes doubled for the PromQL string,
// several joined in a group.
func (p *promStore) format(selected []string) string {
	esc := make([]string, len(selected))
	for i, s := range selected {
		esc[i] = strings.ReplaceAll(regexp.QuoteMeta(s), `\`, `\\`)
	}
	if len(esc) == 1 {
		return esc[0]
	}
	return "(" + strings.Join(esc, "|") + ")"
}

func (p *promStore) builtins(from, to time.Time) map[string]string {
	r := to.Sub(from)
	return map[string]string{
		"__interval": "2s", "__interval_ms": "2000", "__rate_interval": "30s",
		"__range": strconv.Itoa(int(r.Seconds())) + "s", "__range_s": strconv.Itoa(int(r.Seconds())),
	}
}

// influxStore is an InfluxDB 1.x database, queried with InfluxQL.
type influxStore struct {
	url, db string
	client  *http.Client
}

func (s *influxStore) name() string { return "influxdb" }

type influxSeries struct {
	Name    string   `json:"name"`
	Columns []string `json:"columns"`
	Values  [][]any  `json:"values"`
}

func (s *influxStore) query(ctx context.Context, q string) ([]influxSeries, error) {
	v := url.Values{"db": {s.db}, "q": {q}, "epoch": {"ms"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/query?"+v.Encode(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out struct {
		Results []struct {
			Series []influxSeries `json:"series"`
			Error  string         `json:"error"`
		} `json:"results"`
		Error string `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("HTTP %s: %w", resp.Status, err)
	}
	if out.Error != "" {
		return nil, fmt.Errorf("%s", out.Error)
	}
	var series []influxSeries
	for _, r := range out.Results {
		if r.Error != "" {
			return nil, fmt.Errorf("%s", r.Error)
		}
		series = append(series, r.Series...)
	}
	return series, nil
}

// values answers SHOW TAG VALUES: the value column of every row.
func (s *influxStore) values(ctx context.Context, q string) ([]string, error) {
	series, err := s.query(ctx, q)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, sr := range series {
		col := slices.Index(sr.Columns, "value")
		if col < 0 {
			return nil, fmt.Errorf("no value column in %v", sr.Columns)
		}
		for _, row := range sr.Values {
			if v, ok := row[col].(string); ok && !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

func (s *influxStore) series(ctx context.Context, _ target, q string) (int, error) {
	series, err := s.query(ctx, q)
	return len(series), err
}

// format is Grafana's InfluxDB formatting of a multi-value variable inside
// /^...$/: each value regex-escaped (slashes too), several in a group.
func (s *influxStore) format(selected []string) string {
	esc := make([]string, len(selected))
	for i, v := range selected {
		esc[i] = strings.ReplaceAll(regexp.QuoteMeta(v), "/", `\/`)
	}
	if len(esc) == 1 {
		return esc[0]
	}
	return "(" + strings.Join(esc, "|") + ")"
}

func (s *influxStore) builtins(from, to time.Time) map[string]string {
	return map[string]string{
		"__interval": "2s", "__interval_ms": "2000",
		"timeFilter": fmt.Sprintf("time >= %dms and time <= %dms", from.UnixMilli(), to.UnixMilli()),
	}
}

func unix(t time.Time) string { return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64) }
