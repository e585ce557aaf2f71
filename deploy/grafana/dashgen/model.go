package dashgen

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// SchemaVersion is the dashboard JSON schema the files declare: 38 is
// Grafana 10.0's, which every Grafana 10.x and 11.x reads (newer versions
// migrate it forward on load; nothing here uses a later feature).
const SchemaVersion = 38

// Datasource types the dashboards are written for.
const (
	Prometheus = "prometheus"
	InfluxDB   = "influxdb"
)

// DatasourceVar is the name of every dashboard's datasource variable: panels
// refer to "${datasource}", never to an instance's uid, so a dashboard
// imports into any Grafana and lets the user pick the store.
const DatasourceVar = "datasource"

// Dashboard is what a definition says; Render turns it into Grafana's JSON.
type Dashboard struct {
	UID, Title, Description string
	Datasource              string // Prometheus or InfluxDB
	Tags                    []string
	Time, Refresh           string // "now-6h", "1m"
	Vars                    []Var
	Rows                    []Row
}

// Var is a query variable (multi-value, with All), evaluated in order: a
// later one may use an earlier one.
type Var struct {
	Name, Label string
	Query       string // PromQL label_values(...) or InfluxQL SHOW TAG VALUES
	Single      bool   // one value, no All (the default is multi-value with All)
}

// Row groups panels under a title; a collapsed row holds its panels inside
// it, as Grafana stores them, until opened.
type Row struct {
	Title     string
	Collapsed bool
	Panels    []Panel
}

// Panel kinds.
const (
	TimeSeries    = "timeseries"
	Stat          = "stat"
	Table         = "table"
	StateTimeline = "state-timeline"
)

// Panel is one visualization. W and H are in grid units (24 across).
type Panel struct {
	Type, Title, Description string
	W, H                     int
	Unit                     string
	Min, Max                 *float64
	Decimals                 *int
	Targets                  []Target
	Mappings                 []Mapping // value → text (states, polling statuses)
	Thresholds               []Step    // stat and table colours; default green
	NoValue                  string    // shown when the query returns nothing (a count of none)
	Stack                    bool      // timeseries: stacked
	NegativeRefIDs           []string  // timeseries: these queries drawn below the axis (out, tx)
	Legend                   []string  // timeseries legend calcs as a table, e.g. mean, max, lastNotNull
	Overrides                []Override
	Transformations          []any // table: Grafana transformations, as written
}

// Target is one query. For Prometheus Expr is PromQL and Legend its
// legendFormat; for InfluxDB Expr is raw InfluxQL and Legend its alias.
type Target struct {
	Expr, Legend string
	Instant      bool // Prometheus: one value per series (tables, stats)
	Table        bool // result as a table (Prometheus format table, InfluxDB resultFormat table)
}

// Mapping shows a value as text, with a colour.
type Mapping struct {
	Value       string
	Text, Color string
}

// Step is a threshold: from Value up, Color (the first step's Value is ignored: base).
type Step struct {
	Value float64
	Color string
}

// Override changes one field's config: Matcher is "byName", "byRegexp" or
// "byFrameRefID"; Props are Grafana's field config properties (id → value).
type Override struct {
	Matcher, Option string
	Props           []Prop
}

// Prop is one field config property of an override.
type Prop struct {
	ID    string
	Value any
}

// F and I are shorthands for optional numbers in definitions.
func F(v float64) *float64 { return &v }
func I(v int) *int         { return &v }

// Render returns the dashboard as Grafana's JSON, indented, ending in a
// newline: the bytes committed under deploy/grafana.
func (d Dashboard) Render() ([]byte, error) {
	if d.Datasource != Prometheus && d.Datasource != InfluxDB {
		return nil, fmt.Errorf("dashboard %s: datasource %q", d.UID, d.Datasource)
	}
	ds := dsRef{Type: d.Datasource, UID: "${" + DatasourceVar + "}"}
	out := jDashboard{
		Annotations: jAnnotations{List: []jAnnotation{{
			BuiltIn: 1, Datasource: dsRef{Type: "grafana", UID: "-- Grafana --"}, Enable: true, Hide: true,
			IconColor: "rgba(0, 211, 255, 1)", Name: "Annotations & Alerts", Type: "dashboard",
		}}},
		Description: d.Description, Editable: true, GraphTooltip: 1,
		Links: []jLink{{AsDropdown: true, Icon: "external link", IncludeVars: true, KeepTime: true,
			Tags: []string{"panoptes"}, Title: "Panoptes", Type: "dashboards"}},
		Refresh: d.Refresh, SchemaVersion: SchemaVersion, Tags: d.Tags,
		Time: jTime{From: d.Time, To: "now"}, Timezone: "browser", Title: d.Title, UID: d.UID, Version: 1,
	}
	out.Templating.List = append(out.Templating.List, jVar{
		Type: "datasource", Name: DatasourceVar, Label: "Data source", Query: d.Datasource,
		Current: map[string]any{}, Options: []any{}, Refresh: 1,
	})
	for _, v := range d.Vars {
		jv := jVar{
			Type: "query", Name: v.Name, Label: v.Label, Datasource: &ds, Definition: v.Query, Query: v.Query,
			Current: map[string]any{}, Options: []any{}, Refresh: 2, Sort: 1,
			Multi: !v.Single, IncludeAll: !v.Single,
		}
		if !v.Single {
			jv.AllValue = ".*"
		}
		out.Templating.List = append(out.Templating.List, jv)
	}
	id, y := 1, 0
	for _, row := range d.Rows {
		jr := jPanel{ID: id, Type: "row", Title: row.Title, GridPos: jGrid{H: 1, W: 24, X: 0, Y: y}, Collapsed: new(row.Collapsed)}
		id++
		y++
		var inner []jPanel
		x, rowH, top := 0, 0, y
		for _, p := range row.Panels {
			if p.W <= 0 || p.W > 24 || p.H <= 0 {
				return nil, fmt.Errorf("dashboard %s: panel %q: size %dx%d", d.UID, p.Title, p.W, p.H)
			}
			if x+p.W > 24 {
				x, y, rowH = 0, y+rowH, 0
			}
			jp, err := renderPanel(p, ds, d.Datasource)
			if err != nil {
				return nil, fmt.Errorf("dashboard %s: panel %q: %w", d.UID, p.Title, err)
			}
			jp.ID, jp.GridPos = id, jGrid{H: p.H, W: p.W, X: x, Y: y}
			id++
			x += p.W
			rowH = max(rowH, p.H)
			inner = append(inner, jp)
		}
		y += rowH
		if row.Collapsed {
			jr.Panels = inner
			if jr.Panels == nil {
				jr.Panels = []jPanel{}
			}
			out.Panels = append(out.Panels, jr)
			// A collapsed row takes one grid unit; its panels keep their
			// positions for when it opens, below it.
			y = top
			continue
		}
		jr.Panels = []jPanel{}
		out.Panels = append(out.Panels, jr)
		out.Panels = append(out.Panels, inner...)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func renderPanel(p Panel, ds dsRef, dsType string) (jPanel, error) {
	if len(p.Targets) == 0 {
		return jPanel{}, fmt.Errorf("no query")
	}
	jp := jPanel{Type: p.Type, Title: p.Title, Description: p.Description, Datasource: &ds}
	fc := jFieldDefaults{Unit: p.Unit, Min: p.Min, Max: p.Max, Decimals: p.Decimals, NoValue: p.NoValue,
		Color: map[string]any{"mode": "palette-classic"}, Mappings: []any{}}
	steps := []map[string]any{{"color": "green", "value": nil}}
	if len(p.Thresholds) > 0 {
		steps = steps[:0]
		for i, s := range p.Thresholds {
			step := map[string]any{"color": s.Color, "value": s.Value}
			if i == 0 {
				step["value"] = nil
			}
			steps = append(steps, step)
		}
	}
	fc.Thresholds = map[string]any{"mode": "absolute", "steps": steps}
	if len(p.Mappings) > 0 {
		opts := map[string]any{}
		for i, m := range p.Mappings {
			opts[m.Value] = map[string]any{"text": m.Text, "color": m.Color, "index": i}
		}
		fc.Mappings = []any{map[string]any{"type": "value", "options": opts}}
	}
	legend := map[string]any{"displayMode": "list", "placement": "bottom", "showLegend": true, "calcs": []string{}}
	if len(p.Legend) > 0 {
		legend = map[string]any{"displayMode": "table", "placement": "bottom", "showLegend": true, "calcs": p.Legend}
	}
	switch p.Type {
	case TimeSeries:
		stacking := "none"
		if p.Stack {
			stacking = "normal"
		}
		fc.Custom = map[string]any{
			"drawStyle": "line", "lineInterpolation": "linear", "lineWidth": 1, "fillOpacity": 10,
			"gradientMode": "none", "showPoints": "never", "pointSize": 4, "spanNulls": false,
			"axisPlacement": "auto", "axisLabel": "", "axisCenteredZero": false, "scaleDistribution": map[string]any{"type": "linear"},
			"stacking": map[string]any{"mode": stacking, "group": "A"}, "thresholdsStyle": map[string]any{"mode": "off"},
			"hideFrom": map[string]any{"legend": false, "tooltip": false, "viz": false},
		}
		jp.Options = map[string]any{"legend": legend, "tooltip": map[string]any{"mode": "multi", "sort": "desc"}}
	case Stat:
		fc.Color = map[string]any{"mode": "thresholds"}
		jp.Options = map[string]any{
			"reduceOptions": map[string]any{"calcs": []string{"lastNotNull"}, "fields": "", "values": false},
			"colorMode":     "value", "graphMode": "area", "justifyMode": "auto", "orientation": "auto", "textMode": "auto",
		}
	case Table:
		fc.Color = map[string]any{"mode": "thresholds"}
		fc.Custom = map[string]any{"align": "auto", "cellOptions": map[string]any{"type": "auto"}, "inspect": false, "filterable": true}
		jp.Options = map[string]any{"showHeader": true, "cellHeight": "sm",
			"footer": map[string]any{"show": false, "reducer": []string{"sum"}, "countRows": false, "fields": ""}}
	case StateTimeline:
		fc.Color = map[string]any{"mode": "thresholds"}
		fc.Custom = map[string]any{"lineWidth": 0, "fillOpacity": 80, "hideFrom": map[string]any{"legend": false, "tooltip": false, "viz": false}}
		jp.Options = map[string]any{"mergeValues": true, "showValue": "auto", "alignValue": "left", "rowHeight": 0.9,
			"legend":  map[string]any{"displayMode": "list", "placement": "bottom", "showLegend": true},
			"tooltip": map[string]any{"mode": "single", "sort": "none"}}
	default:
		return jPanel{}, fmt.Errorf("panel type %q", p.Type)
	}
	jp.FieldConfig = &jFieldConfig{Defaults: fc, Overrides: []jOverride{}}
	for _, r := range p.NegativeRefIDs {
		jp.FieldConfig.Overrides = append(jp.FieldConfig.Overrides, jOverride{
			Matcher:    jMatcher{ID: "byFrameRefID", Options: r},
			Properties: []jProp{{ID: "custom.transform", Value: "negative-Y"}},
		})
	}
	for _, o := range p.Overrides {
		jo := jOverride{Matcher: jMatcher{ID: o.Matcher, Options: o.Option}, Properties: []jProp{}}
		for _, pr := range o.Props {
			jo.Properties = append(jo.Properties, jProp(pr))
		}
		jp.FieldConfig.Overrides = append(jp.FieldConfig.Overrides, jo)
	}
	jp.Transformations = p.Transformations
	if jp.Transformations == nil {
		jp.Transformations = []any{}
	}
	for i, t := range p.Targets {
		ref := string(rune('A' + i))
		switch dsType {
		case Prometheus:
			format := "time_series"
			if t.Table {
				format = "table"
			}
			jp.Targets = append(jp.Targets, jTarget{RefID: ref, Datasource: &ds, Expr: t.Expr, LegendFormat: t.Legend,
				EditorMode: "code", Format: format, Range: new(!t.Instant), Instant: new(t.Instant)})
		case InfluxDB:
			format := "time_series"
			if t.Table {
				format = "table"
			}
			jp.Targets = append(jp.Targets, jTarget{RefID: ref, Datasource: &ds, Query: t.Expr, RawQuery: new(true),
				Alias: t.Legend, ResultFormat: format})
		}
	}
	return jp, nil
}

// Grafana's JSON, field order as Grafana writes it where it matters little.

type dsRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type jDashboard struct {
	Annotations          jAnnotations `json:"annotations"`
	Description          string       `json:"description"`
	Editable             bool         `json:"editable"`
	FiscalYearStartMonth int          `json:"fiscalYearStartMonth"`
	GraphTooltip         int          `json:"graphTooltip"`
	ID                   *int         `json:"id"`
	Links                []jLink      `json:"links"`
	Panels               []jPanel     `json:"panels"`
	Refresh              string       `json:"refresh"`
	SchemaVersion        int          `json:"schemaVersion"`
	Tags                 []string     `json:"tags"`
	Templating           struct {
		List []jVar `json:"list"`
	} `json:"templating"`
	Time       jTime          `json:"time"`
	Timepicker map[string]any `json:"timepicker"`
	Timezone   string         `json:"timezone"`
	Title      string         `json:"title"`
	UID        string         `json:"uid"`
	Version    int            `json:"version"`
	WeekStart  string         `json:"weekStart"`
}

type jAnnotations struct {
	List []jAnnotation `json:"list"`
}

type jAnnotation struct {
	BuiltIn    int    `json:"builtIn"`
	Datasource dsRef  `json:"datasource"`
	Enable     bool   `json:"enable"`
	Hide       bool   `json:"hide"`
	IconColor  string `json:"iconColor"`
	Name       string `json:"name"`
	Type       string `json:"type"`
}

type jLink struct {
	AsDropdown  bool     `json:"asDropdown"`
	Icon        string   `json:"icon"`
	IncludeVars bool     `json:"includeVars"`
	KeepTime    bool     `json:"keepTime"`
	Tags        []string `json:"tags"`
	TargetBlank bool     `json:"targetBlank"`
	Title       string   `json:"title"`
	Tooltip     string   `json:"tooltip"`
	Type        string   `json:"type"`
	URL         string   `json:"url"`
}

type jTime struct {
	From string `json:"from"`
	To   string `json:"to"`
}

type jVar struct {
	AllValue    string         `json:"allValue,omitempty"`
	Current     map[string]any `json:"current"`
	Datasource  *dsRef         `json:"datasource,omitempty"`
	Definition  string         `json:"definition,omitempty"`
	Hide        int            `json:"hide"`
	IncludeAll  bool           `json:"includeAll"`
	Label       string         `json:"label"`
	Multi       bool           `json:"multi"`
	Name        string         `json:"name"`
	Options     []any          `json:"options"`
	Query       string         `json:"query"`
	Refresh     int            `json:"refresh"`
	Regex       string         `json:"regex"`
	SkipURLSync bool           `json:"skipUrlSync"`
	Sort        int            `json:"sort"`
	Type        string         `json:"type"`
}

type jGrid struct {
	H int `json:"h"`
	W int `json:"w"`
	X int `json:"x"`
	Y int `json:"y"`
}

type jPanel struct {
	Collapsed       *bool          `json:"collapsed,omitempty"`
	Datasource      *dsRef         `json:"datasource,omitempty"`
	Description     string         `json:"description,omitempty"`
	FieldConfig     *jFieldConfig  `json:"fieldConfig,omitempty"`
	GridPos         jGrid          `json:"gridPos"`
	ID              int            `json:"id"`
	Options         map[string]any `json:"options,omitempty"`
	Panels          []jPanel       `json:"panels,omitempty"`
	Targets         []jTarget      `json:"targets,omitempty"`
	Title           string         `json:"title"`
	Transformations []any          `json:"transformations,omitempty"`
	Type            string         `json:"type"`
}

type jFieldConfig struct {
	Defaults  jFieldDefaults `json:"defaults"`
	Overrides []jOverride    `json:"overrides"`
}

type jFieldDefaults struct {
	Color      map[string]any `json:"color"`
	Custom     map[string]any `json:"custom,omitempty"`
	Decimals   *int           `json:"decimals,omitempty"`
	Mappings   []any          `json:"mappings"`
	Max        *float64       `json:"max,omitempty"`
	Min        *float64       `json:"min,omitempty"`
	NoValue    string         `json:"noValue,omitempty"`
	Thresholds map[string]any `json:"thresholds"`
	Unit       string         `json:"unit,omitempty"`
}

type jOverride struct {
	Matcher    jMatcher `json:"matcher"`
	Properties []jProp  `json:"properties"`
}

type jMatcher struct {
	ID      string `json:"id"`
	Options string `json:"options"`
}

type jProp struct {
	ID    string `json:"id"`
	Value any    `json:"value"`
}

type jTarget struct {
	Alias        string `json:"alias,omitempty"`
	Datasource   *dsRef `json:"datasource"`
	EditorMode   string `json:"editorMode,omitempty"`
	Expr         string `json:"expr,omitempty"`
	Format       string `json:"format,omitempty"`
	Instant      *bool  `json:"instant,omitempty"`
	LegendFormat string `json:"legendFormat,omitempty"`
	Query        string `json:"query,omitempty"`
	Range        *bool  `json:"range,omitempty"`
	RawQuery     *bool  `json:"rawQuery,omitempty"`
	RefID        string `json:"refId"`
	ResultFormat string `json:"resultFormat,omitempty"`
}
