package dashgen

import "strings"

// The network dashboards for the InfluxDB sink (InfluxQL, InfluxDB 1.x or
// a 2.x bucket mapped to a database): measurement = group type, tags = the
// dimensions plus resource_site, resource_endpoint, ... (resource_id only
// with include_resource_id, so devices are chosen by endpoint), fields =
// the metrics. Traffic, errors and discards are the <counter>_rate fields
// (the plugins' rates option), like the Prometheus dashboards.

const (
	influxSite   = `"resource_site" =~ /^$site$/`
	influxDevice = influxSite + ` AND "resource_endpoint" =~ /^$device$/`
	influxIf     = influxDevice + ` AND "interface_name" =~ /^$interface$/`
	influxPeer   = influxDevice + ` AND "peer_address" =~ /^$peer$/`
)

var (
	influxSiteVar   = Var{Name: "site", Label: "Site", Query: `SHOW TAG VALUES FROM "status" WITH KEY = "resource_site"`}
	influxDeviceVar = Var{Name: "device", Label: "Device (endpoint)",
		Query: `SHOW TAG VALUES FROM "status" WITH KEY = "resource_endpoint" WHERE ` + influxSite}
)

// over is a time series query: agg of each field (as written, e.g.
// `mean("bits_in_rate")`) from measurement where cond, per $__interval and
// per the tags in by.
func over(agg, measurement, cond string, by ...string) string {
	return `SELECT ` + agg + ` FROM "` + measurement + `" WHERE ` + cond + ` AND $timeFilter GROUP BY time($__interval)` +
		tagList(by) + ` fill(none)`
}

// latest is a table query: the last value of each field per series of the
// tags in by, over the dashboard's time range.
func latest(fields, measurement, cond string, by ...string) string {
	return `SELECT ` + fields + ` FROM "` + measurement + `" WHERE ` + cond + ` AND $timeFilter GROUP BY ` + strings.TrimPrefix(tagList(by), ", ")
}

// countWhere counts the series of measurement (per the tags in by) whose
// latest field satisfies test (e.g. `= 1`).
func countWhere(field, measurement, cond, test string, by ...string) string {
	return `SELECT count("v") FROM (` + latest(`last("`+field+`") AS "v"`, measurement, cond, by...) + `) WHERE "v" ` + test
}

// sumLatest adds up the latest field of every series (per the tags in by).
func sumLatest(field, measurement, cond string, by ...string) string {
	return `SELECT sum("v") FROM (` + latest(`last("`+field+`") AS "v"`, measurement, cond, by...) + `)`
}

func tagList(tags []string) string {
	var b strings.Builder
	for _, t := range tags {
		b.WriteString(`, "` + t + `"`)
	}
	return b.String()
}

func influxInterfaces() Dashboard {
	c := influxIf
	by := []string{"resource_endpoint", "interface_name"}
	alias := "$tag_resource_endpoint $tag_interface_name"
	return Dashboard{
		UID: "panoptes-influx-interfaces", Title: "Panoptes / Interfaces (InfluxDB)", Datasource: InfluxDB,
		Description: "Traffic, utilization, errors and discards per device and port, from the interface plugin (with rates: all).",
		Tags:        []string{"panoptes", "network", "influxdb"}, Time: "now-6h", Refresh: "1m",
		Vars: []Var{influxSiteVar, influxDeviceVar,
			{Name: "interface", Label: "Interface", Query: `SHOW TAG VALUES FROM "interface" WITH KEY = "interface_name" WHERE ` + influxDevice}},
		Rows: []Row{
			{Title: "Now", Panels: []Panel{
				stat("Interfaces up", "none", q(countWhere("oper_state", "interface", c, "= 1", by...), "")),
				bad(stat("Down but enabled", "none", q(sumLatest("oper_admin_state_mismatch", "interface", c, by...), ""))),
				stat("Traffic in", "bps", q(sumLatest("bits_in_rate", "interface", c, by...), "")),
				stat("Traffic out", "bps", q(sumLatest("bits_out_rate", "interface", c, by...), "")),
				bad(stat("Errors in", "pps", q(sumLatest("errors_in_rate", "interface", c, by...), ""))),
				bad(stat("Discards in", "pps", q(sumLatest("discards_in_rate", "interface", c, by...), ""))),
			}},
			{Title: "Traffic", Panels: []Panel{
				inOut("Traffic (in above, out below)", "bps", 24,
					q(over(`mean("bits_in_rate")`, "interface", c, by...), alias+" in"),
					q(over(`mean("bits_out_rate")`, "interface", c, by...), alias+" out")),
				inOut("Utilization", "percent", 12,
					q(over(`mean("bits_in_rate") / mean("configured_speed") * 100`, "interface", c+` AND "configured_speed" > 0`, by...), alias+" in"),
					q(over(`mean("bits_out_rate") / mean("configured_speed") * 100`, "interface", c+` AND "configured_speed" > 0`, by...), alias+" out")),
				inOut("Packets", "pps", 12,
					q(over(`mean("total_packets_in_rate")`, "interface", c, by...), alias+" in"),
					q(over(`mean("total_packets_out_rate")`, "interface", c, by...), alias+" out")),
			}},
			{Title: "Errors and discards", Panels: []Panel{
				inOut("Errors", "pps", 12,
					q(over(`mean("errors_in_rate")`, "interface", c, by...), alias+" in"),
					q(over(`mean("errors_out_rate")`, "interface", c, by...), alias+" out")),
				inOut("Discards", "pps", 12,
					q(over(`mean("discards_in_rate")`, "interface", c, by...), alias+" in"),
					q(over(`mean("discards_out_rate")`, "interface", c, by...), alias+" out")),
			}},
			{Title: "Interfaces", Panels: []Panel{
				func() Panel {
					p := Panel{Type: Table, Title: "Interfaces", W: 24, H: 12,
						Targets: []Target{table(latest(`last("oper_state") AS "oper", last("admin_state") AS "admin", `+
							`last("configured_speed") AS "speed", last("bits_in_rate") AS "in", last("bits_out_rate") AS "out", `+
							`last("errors_in_rate") AS "errors in", last("errors_out_rate") AS "errors out"`,
							"interface", c, "resource_endpoint", "interface_name", "alias"))},
						Transformations: merged(nil)}
					p.Overrides = append(columnMappings(ifStates, "oper", "admin"),
						columnUnit("speed", "bps"), columnUnit("in", "bps"), columnUnit("out", "bps"),
						columnUnit("errors in", "pps"), columnUnit("errors out", "pps"))
					return p
				}(),
			}},
		},
	}
}

func influxDevices() Dashboard {
	c := influxDevice
	return Dashboard{
		UID: "panoptes-influx-devices", Title: "Panoptes / Device health (InfluxDB)", Datasource: InfluxDB,
		Description: "Polling status, CPU, memory, temperatures, fans and power supplies per device (profile plugin), uptime (uptime plugin).",
		Tags:        []string{"panoptes", "network", "influxdb"}, Time: "now-6h", Refresh: "1m",
		Vars: []Var{influxSiteVar, influxDeviceVar},
		Rows: []Row{
			{Title: "Polling", Panels: []Panel{
				withDescription(bad(stat("Failing checks", "none", q(countWhere("polling_status", "status", c, "> 0", "resource_endpoint", "plugin"), ""))),
					"Checks (plugin × device) whose latest polling status is not 0 (success)."),
				bad(stat("Fans failed", "none", q(`SELECT sum("total") - sum("ok") FROM (`+
					latest(`last("fans_total") AS "total", last("fans_ok") AS "ok"`, "environment", c, "resource_endpoint")+`)`, ""))),
				bad(stat("Power supplies off", "none", q(`SELECT sum("total") - sum("on") FROM (`+
					latest(`last("power_units_total") AS "total", last("power_units_on") AS "on"`, "environment", c, "resource_endpoint")+`)`, ""))),
				stat("Hottest sensor", "celsius", q(`SELECT max("v") FROM (`+latest(`last("temperature") AS "v"`, "environment", c, "resource_endpoint", "sensor_name")+`)`, "")),
				withMappings(Panel{Type: StateTimeline, Title: "Worst polling status", W: 12, H: 8,
					Targets: []Target{q(over(`max("polling_status")`, "status", c, "resource_endpoint"), "$tag_resource_endpoint")}}, pollingStatuses),
				func() Panel {
					p := Panel{Type: Table, Title: "Checks", W: 12, H: 8,
						Targets:         []Target{table(latest(`last("polling_status") AS "status"`, "status", c, "resource_endpoint", "plugin"))},
						Transformations: merged(nil)}
					p.Overrides = columnMappings(pollingStatuses, "status")
					return p
				}(),
			}},
			{Title: "CPU and memory", Panels: []Panel{
				func() Panel {
					p := timeseries("CPU utilization", "percent", 12,
						q(over(`mean("cpu_utilization")`, "cpu", c, "resource_endpoint", "cpu_name"), "$tag_resource_endpoint $tag_cpu_name"))
					p.Min, p.Max = F(0), F(100)
					return p
				}(),
				func() Panel {
					p := timeseries("Memory utilization", "percent", 12,
						q(over(`mean("memory_used") / mean("memory_total") * 100`, "memory", c+` AND "memory_total" > 0`, "resource_endpoint", "memory_type"),
							"$tag_resource_endpoint $tag_memory_type"))
					p.Min, p.Max = F(0), F(100)
					return p
				}(),
				timeseries("Memory used", "bytes", 12,
					q(over(`mean("memory_used")`, "memory", c, "resource_endpoint", "memory_type"), "$tag_resource_endpoint $tag_memory_type")),
				timeseries("Uptime", "s", 12, q(over(`last("uptime_seconds")`, "system", c, "resource_endpoint"), "$tag_resource_endpoint")),
			}},
			{Title: "Environment", Panels: []Panel{
				timeseries("Temperature", "celsius", 12,
					q(over(`mean("temperature")`, "environment", c, "resource_endpoint", "sensor_name"), "$tag_resource_endpoint $tag_sensor_name")),
				Panel{Type: Table, Title: "Fans and power supplies", W: 12, H: 8,
					Targets: []Target{table(latest(`last("fans_ok") AS "fans ok", last("fans_total") AS "fans", `+
						`last("power_units_on") AS "power supplies on", last("power_units_total") AS "power supplies"`, "environment", c, "resource_endpoint"))},
					Transformations: merged(nil)},
			}},
		},
	}
}

func influxBGP() Dashboard {
	c := influxPeer
	by := []string{"resource_endpoint", "peer_address"}
	alias := "$tag_resource_endpoint $tag_peer_address"
	return Dashboard{
		UID: "panoptes-influx-bgp", Title: "Panoptes / BGP sessions (InfluxDB)", Datasource: InfluxDB,
		Description: "BGP peers per device: state, uptime, prefixes and updates (bgp plugin, with rates: all).",
		Tags:        []string{"panoptes", "network", "influxdb"}, Time: "now-6h", Refresh: "1m",
		Vars: []Var{influxSiteVar,
			{Name: "device", Label: "Device (endpoint)", Query: `SHOW TAG VALUES FROM "bgp_session" WITH KEY = "resource_endpoint" WHERE ` + influxSite},
			{Name: "peer", Label: "Peer", Query: `SHOW TAG VALUES FROM "bgp_session" WITH KEY = "peer_address" WHERE ` + influxDevice}},
		Rows: []Row{
			{Title: "Sessions", Panels: []Panel{
				stat("Established", "none", q(countWhere("peer_state", "bgp_session", c, "= 6", by...), "")),
				withDescription(bad(stat("Down (admin up)", "none", q(`SELECT count("state") FROM (`+
					latest(`last("peer_state") AS "state", last("admin_status") AS "admin"`, "bgp_session", c, by...)+
					`) WHERE "state" != 6 AND "admin" = 2`, ""))),
					"Sessions configured to run (admin status running) that are not established."),
				stat("Prefixes accepted", "none", q(sumLatest("prefixes_accepted", "bgp_session", c, by...), "")),
				stat("Prefixes advertised", "none", q(sumLatest("prefixes_advertised", "bgp_session", c, by...), "")),
				stat("Updates received", "ops", q(sumLatest("updates_in_rate", "bgp_session", c, by...), "")),
				func() Panel {
					p := Panel{Type: Table, Title: "Sessions", W: 24, H: 9,
						Targets: []Target{table(latest(`last("peer_state") AS "state", last("admin_status") AS "admin", `+
							`last("established_time") AS "established for", last("prefixes_accepted") AS "accepted", `+
							`last("prefixes_advertised") AS "advertised"`, "bgp_session", c, "resource_endpoint", "peer_address", "remote_as"))},
						Transformations: merged(nil)}
					p.Overrides = append(columnMappings(bgpStates, "state"), columnMappings(bgpAdmin, "admin")...)
					p.Overrides = append(p.Overrides, columnUnit("established for", "dtdurations"))
					return p
				}(),
				withMappings(Panel{Type: StateTimeline, Title: "Session state", W: 24, H: 8,
					Targets: []Target{q(over(`last("peer_state")`, "bgp_session", c, by...), alias)}}, bgpStates),
			}},
			{Title: "Routes and updates", Panels: []Panel{
				timeseries("Prefixes accepted", "none", 12, q(over(`last("prefixes_accepted")`, "bgp_session", c, by...), alias)),
				inOut("Updates (received above, sent below)", "ops", 12,
					q(over(`mean("updates_in_rate")`, "bgp_session", c, by...), alias+" in"),
					q(over(`mean("updates_out_rate")`, "bgp_session", c, by...), alias+" out")),
				timeseries("Established time", "s", 12, q(over(`last("established_time")`, "bgp_session", c, by...), alias)),
				timeseries("Established transitions", "none", 12,
					q(over(`non_negative_difference(last("established_transitions"))`, "bgp_session", c, by...), alias)),
			}},
		},
	}
}
