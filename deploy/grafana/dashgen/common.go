package dashgen

import "strconv"

// Shorthands the definitions use.

func q(expr, legend string) Target { return Target{Expr: expr, Legend: legend} }

// instant is a Prometheus query read once, as a table (tables, stats).
func instant(expr string) Target { return Target{Expr: expr, Instant: true, Table: true} }

// cell is an instant query for a table merged from several: the
// aggregation drops the metric name, so rows of the same series match.
func cell(expr string) Target { return instant("max without () (" + expr + ")") }

// table is an InfluxDB query whose result is a table.
func table(query string) Target { return Target{Expr: query, Table: true} }

func timeseries(title, unit string, w int, targets ...Target) Panel {
	return Panel{Type: TimeSeries, Title: title, Unit: unit, W: w, H: 8, Targets: targets}
}

func stat(title, unit string, target Target) Panel {
	return Panel{Type: Stat, Title: title, Unit: unit, W: 4, H: 4, Targets: []Target{target}}
}

// inOut is a traffic-style panel: A above the axis (in), B below (out).
func inOut(title, unit string, w int, in, out Target) Panel {
	p := timeseries(title, unit, w, in, out)
	p.NegativeRefIDs = []string{"B"}
	p.Legend = []string{"mean", "max", "lastNotNull"}
	return p
}

// bad colours a stat red from 1 up: a count of things that are wrong.
func bad(p Panel) Panel {
	p.Thresholds = []Step{{0, "green"}, {1, "red"}}
	p.NoValue = "0"
	return p
}

func withDescription(p Panel, d string) Panel { p.Description = d; return p }

func withMappings(p Panel, m []Mapping) Panel { p.Mappings = m; return p }

// IF-MIB ifOperStatus / ifAdminStatus.
var ifStates = []Mapping{
	{"1", "up", "green"}, {"2", "down", "red"}, {"3", "testing", "blue"}, {"4", "unknown", "orange"},
	{"5", "dormant", "blue"}, {"6", "notPresent", "orange"}, {"7", "lowerLayerDown", "red"},
}

// Panoptes' polling status codes (the status group's polling_status).
var pollingStatuses = []Mapping{
	{"0", "success", "green"}, {"1", "authentication failure", "red"}, {"2", "network failure", "red"},
	{"3", "timeout", "red"}, {"4", "partial failure", "orange"}, {"5", "internal failure", "red"},
	{"6", "missing metrics", "orange"}, {"7", "ping failure", "red"}, {"8", "enrichment failure", "yellow"},
}

// BGP4-MIB bgpPeerState; bgpPeerAdminStatus (and the vendor tables' equivalents).
var (
	bgpStates = []Mapping{
		{"1", "idle", "red"}, {"2", "connect", "orange"}, {"3", "active", "orange"},
		{"4", "opensent", "yellow"}, {"5", "openconfirm", "yellow"}, {"6", "established", "green"},
	}
	bgpAdmin = []Mapping{{"1", "stopped", "text"}, {"2", "running", "green"}}
)

// statusNames renames the series of a "devices by polling status" panel
// (legend {{polling_status}}) to the status names, coloured alike.
func statusNames() []Override {
	var o []Override
	for _, m := range pollingStatuses {
		o = append(o, Override{Matcher: "byName", Option: m.Value, Props: []Prop{
			{"displayName", m.Text},
			{"color", map[string]any{"mode": "fixed", "fixedColor": m.Color}},
		}})
	}
	return o
}

// merged is the transformations of a table built from several instant
// queries of the same series: one row per label set, the value columns
// renamed (Value #A → names[0], ...), the labels in hide left out.
func merged(names []string, hide ...string) []any {
	rename := map[string]any{}
	for i, n := range names {
		rename["Value #"+string(rune('A'+i))] = n
	}
	if len(names) == 1 {
		rename["Value"] = names[0]
	}
	exclude := map[string]any{"Time": true}
	for _, h := range hide {
		exclude[h] = true
	}
	return []any{
		map[string]any{"id": "merge", "options": map[string]any{}},
		map[string]any{"id": "organize", "options": map[string]any{
			"excludeByName": exclude, "indexByName": map[string]any{}, "renameByName": rename,
		}},
	}
}

// columnMappings maps the values of the named table columns.
func columnMappings(m []Mapping, columns ...string) []Override {
	var o []Override
	for _, c := range columns {
		opts := map[string]any{}
		for i, v := range m {
			opts[v.Value] = map[string]any{"text": v.Text, "color": v.Color, "index": i}
		}
		o = append(o, Override{Matcher: "byName", Option: c, Props: []Prop{
			{"mappings", []any{map[string]any{"type": "value", "options": opts}}},
			{"custom.cellOptions", map[string]any{"type": "color-text"}},
		}})
	}
	return o
}

// columnUnit sets the unit of a table column.
func columnUnit(column, unit string) Override {
	return Override{Matcher: "byName", Option: column, Props: []Prop{{"unit", unit}}}
}

// resourceLabels are the labels every Panoptes series carries that tables
// leave out (the device is shown by its id or endpoint).
var resourceLabels = []string{"resource_class", "resource_subclass", "resource_type", "__name__", "job", "instance"}

func itoa(i int) string { return strconv.Itoa(i) }
