package dashgen

// The network dashboards for the Prometheus sinks (prometheus and
// prometheus_remote_write): series panoptes_<group>_<metric>, labelled with
// the group's dimensions and resource_site, resource_id, ... Traffic,
// errors and discards are the per-second gauges Panoptes computes
// (<counter>_rate, the plugins' rates option); the recording rules in
// deploy/prometheus/panoptes-recording.yml provide the aggregates.

const (
	promSite   = `resource_site=~"$site"`
	promDevice = `resource_site=~"$site",resource_id=~"$device"`
	promIf     = `resource_site=~"$site",resource_id=~"$device",interface_name=~"$interface"`
	promPeer   = `resource_site=~"$site",resource_id=~"$device",peer_address=~"$peer"`
)

var (
	promSiteVar   = Var{Name: "site", Label: "Site", Query: `label_values(panoptes_status_polling_status, resource_site)`}
	promDeviceVar = Var{Name: "device", Label: "Device", Query: `label_values(panoptes_status_polling_status{resource_site=~"$site"}, resource_id)`}
)

func promOverview() Dashboard {
	return Dashboard{
		UID: "panoptes-prom-overview", Title: "Panoptes / Network overview (Prometheus)", Datasource: Prometheus,
		Description: "Every site at a glance: devices by polling status, traffic, busiest interfaces, BGP sessions. Needs deploy/prometheus/panoptes-recording.yml.",
		Tags:        []string{"panoptes", "network", "prometheus"}, Time: "now-6h", Refresh: "1m",
		Vars: []Var{promSiteVar},
		Rows: []Row{
			{Title: "Devices", Panels: []Panel{
				stat("Devices", "none", q(`count(resource:panoptes_polling_status:max{`+promSite+`})`, "")),
				stat("Polled cleanly", "none", q(`count(resource:panoptes_polling_status:max{`+promSite+`} == 0) or vector(0)`, "")),
				withDescription(bad(stat("Failing", "none", q(`count(resource:panoptes_polling_status:max{`+promSite+`} > 0) or vector(0)`, ""))),
					"Devices with at least one check that did not succeed (the worst polling status of their checks is not 0)."),
				withDescription(bad(stat("Interfaces down (enabled)", "none", q(`sum(panoptes_interface_oper_admin_state_mismatch{`+promSite+`})`, ""))),
					"Interfaces whose operational state differs from their administrative state (enabled but down)."),
				stat("BGP sessions established", "none", q(`sum(resource_site:panoptes_bgp_sessions:count_by_state{`+promSite+`,peer_state="6"}) or vector(0)`, "")),
				bad(stat("BGP sessions down", "none", q(`count(panoptes_bgp_session_peer_state{`+promSite+`} != 6 and panoptes_bgp_session_admin_status{`+promSite+`} == 2) or vector(0)`, ""))),
				func() Panel {
					p := timeseries("Devices by polling status", "none", 12,
						q(`sum by (polling_status) (resource_site:panoptes_devices:count_by_status{`+promSite+`})`, "{{polling_status}}"))
					p.Stack, p.Overrides = true, statusNames()
					p.Description = "Each device counted once, by the worst polling status of its checks."
					return p
				}(),
				func() Panel {
					p := Panel{Type: Table, Title: "Devices not polled cleanly", W: 12, H: 8,
						Targets:         []Target{instant(`resource:panoptes_polling_status:max{` + promSite + `} > 0`)},
						Transformations: merged([]string{"worst status"}, resourceLabels...),
						Overrides:       columnMappings(pollingStatuses, "worst status"), NoValue: "every device polled cleanly"}
					return p
				}(),
			}},
			{Title: "Traffic", Panels: []Panel{
				inOut("Traffic by site", "bps", 12,
					q(`resource_site:panoptes_interface_bits_in_rate:sum{`+promSite+`}`, "{{resource_site}} in"),
					q(`resource_site:panoptes_interface_bits_out_rate:sum{`+promSite+`}`, "{{resource_site}} out")),
				timeseries("Busiest devices (in + out)", "bps", 12,
					q(`topk(10, resource:panoptes_interface_bits_in_rate:sum{`+promSite+`} + resource:panoptes_interface_bits_out_rate:sum{`+promSite+`})`, "{{resource_id}}")),
				func() Panel {
					p := Panel{Type: Table, Title: "Busiest interfaces (utilization)", W: 12, H: 9,
						Targets:         []Target{instant(`topk(20, interface:panoptes_interface_utilization:ratio{` + promSite + `})`)},
						Transformations: merged([]string{"utilization"}, append(resourceLabels, "description", "media_type", "resource_endpoint")...),
						Overrides:       []Override{columnUnit("utilization", "percentunit")}}
					return p
				}(),
				func() Panel {
					p := Panel{Type: Table, Title: "Interfaces with the most errors", W: 12, H: 9,
						Targets:         []Target{instant(`topk(20, panoptes_interface_errors_in_rate{` + promSite + `} + panoptes_interface_errors_out_rate{` + promSite + `})`)},
						Transformations: merged([]string{"errors/s"}, append(resourceLabels, "description", "media_type", "resource_endpoint")...),
						Overrides:       []Override{columnUnit("errors/s", "pps")}}
					return p
				}(),
			}},
			{Title: "BGP", Panels: []Panel{
				func() Panel {
					p := timeseries("BGP sessions by state", "none", 24,
						q(`sum by (peer_state) (resource_site:panoptes_bgp_sessions:count_by_state{`+promSite+`})`, "{{peer_state}}"))
					p.Stack = true
					for _, m := range bgpStates {
						p.Overrides = append(p.Overrides, Override{Matcher: "byName", Option: m.Value, Props: []Prop{
							{"displayName", m.Text}, {"color", map[string]any{"mode": "fixed", "fixedColor": m.Color}}}})
					}
					return p
				}(),
			}},
		},
	}
}

func promInterfaces() Dashboard {
	sel := promIf
	return Dashboard{
		UID: "panoptes-prom-interfaces", Title: "Panoptes / Interfaces (Prometheus)", Datasource: Prometheus,
		Description: "Traffic, utilization, errors and discards per device and port, from the interface plugin (with rates: all).",
		Tags:        []string{"panoptes", "network", "prometheus"}, Time: "now-6h", Refresh: "1m",
		Vars: []Var{promSiteVar, promDeviceVar,
			{Name: "interface", Label: "Interface", Query: `label_values(panoptes_interface_oper_state{resource_site=~"$site",resource_id=~"$device"}, interface_name)`}},
		Rows: []Row{
			{Title: "Now", Panels: []Panel{
				stat("Interfaces up", "none", q(`count(panoptes_interface_oper_state{`+sel+`} == 1) or vector(0)`, "")),
				bad(stat("Down but enabled", "none", q(`sum(panoptes_interface_oper_admin_state_mismatch{`+sel+`})`, ""))),
				stat("Traffic in", "bps", q(`sum(panoptes_interface_bits_in_rate{`+sel+`})`, "")),
				stat("Traffic out", "bps", q(`sum(panoptes_interface_bits_out_rate{`+sel+`})`, "")),
				bad(stat("Errors", "pps", q(`sum(panoptes_interface_errors_in_rate{`+sel+`} + panoptes_interface_errors_out_rate{`+sel+`})`, ""))),
				bad(stat("Discards", "pps", q(`sum(panoptes_interface_discards_in_rate{`+sel+`} + panoptes_interface_discards_out_rate{`+sel+`})`, ""))),
			}},
			{Title: "Traffic", Panels: []Panel{
				inOut("Traffic (in above, out below)", "bps", 24,
					q(`panoptes_interface_bits_in_rate{`+sel+`}`, "{{resource_id}} {{interface_name}} in"),
					q(`panoptes_interface_bits_out_rate{`+sel+`}`, "{{resource_id}} {{interface_name}} out")),
				inOut("Utilization", "percentunit", 12,
					q(`interface:panoptes_interface_utilization_in:ratio{`+sel+`}`, "{{resource_id}} {{interface_name}} in"),
					q(`interface:panoptes_interface_utilization_out:ratio{`+sel+`}`, "{{resource_id}} {{interface_name}} out")),
				inOut("Packets", "pps", 12,
					q(`panoptes_interface_total_packets_in_rate{`+sel+`}`, "{{resource_id}} {{interface_name}} in"),
					q(`panoptes_interface_total_packets_out_rate{`+sel+`}`, "{{resource_id}} {{interface_name}} out")),
			}},
			{Title: "Errors and discards", Panels: []Panel{
				inOut("Errors", "pps", 8,
					q(`panoptes_interface_errors_in_rate{`+sel+`}`, "{{resource_id}} {{interface_name}} in"),
					q(`panoptes_interface_errors_out_rate{`+sel+`}`, "{{resource_id}} {{interface_name}} out")),
				inOut("Discards", "pps", 8,
					q(`panoptes_interface_discards_in_rate{`+sel+`}`, "{{resource_id}} {{interface_name}} in"),
					q(`panoptes_interface_discards_out_rate{`+sel+`}`, "{{resource_id}} {{interface_name}} out")),
				withDescription(timeseries("Error ratio", "percentunit", 8,
					q(`interface:panoptes_interface_errors:ratio{`+sel+`}`, "{{resource_id}} {{interface_name}}")),
					"Errors in and out over packets in and out: what the PanoptesInterfaceErrors alert watches."),
			}},
			{Title: "Interfaces", Panels: []Panel{
				func() Panel {
					p := Panel{Type: Table, Title: "Interfaces", W: 24, H: 12,
						Targets: []Target{
							cell(`panoptes_interface_oper_state{` + sel + `}`),
							cell(`panoptes_interface_admin_state{` + sel + `}`),
							cell(`panoptes_interface_configured_speed{` + sel + `}`),
							cell(`panoptes_interface_bits_in_rate{` + sel + `}`),
							cell(`panoptes_interface_bits_out_rate{` + sel + `}`),
							cell(`panoptes_interface_errors_in_rate{` + sel + `} + panoptes_interface_errors_out_rate{` + sel + `}`),
						},
						Transformations: merged([]string{"oper", "admin", "speed", "in", "out", "errors/s"},
							append(resourceLabels, "resource_endpoint", "media_type")...),
					}
					p.Overrides = append(columnMappings(ifStates, "oper", "admin"),
						columnUnit("speed", "bps"), columnUnit("in", "bps"), columnUnit("out", "bps"), columnUnit("errors/s", "pps"))
					return p
				}(),
			}},
		},
	}
}

func promDevices() Dashboard {
	sel := promDevice
	return Dashboard{
		UID: "panoptes-prom-devices", Title: "Panoptes / Device health (Prometheus)", Datasource: Prometheus,
		Description: "Polling status, CPU, memory, temperatures, fans and power supplies per device (profile plugin), uptime (uptime plugin).",
		Tags:        []string{"panoptes", "network", "prometheus"}, Time: "now-6h", Refresh: "1m",
		Vars: []Var{promSiteVar, promDeviceVar},
		Rows: []Row{
			{Title: "Polling", Panels: []Panel{
				stat("Devices", "none", q(`count(resource:panoptes_polling_status:max{`+sel+`})`, "")),
				bad(stat("Failing", "none", q(`count(resource:panoptes_polling_status:max{`+sel+`} > 0) or vector(0)`, ""))),
				bad(stat("Fans failed", "none", q(`sum(panoptes_environment_fans_total{`+sel+`} - panoptes_environment_fans_ok{`+sel+`})`, ""))),
				bad(stat("Power supplies off", "none", q(`sum(panoptes_environment_power_units_total{`+sel+`} - panoptes_environment_power_units_on{`+sel+`})`, ""))),
				stat("Hottest sensor", "celsius", q(`max(panoptes_environment_temperature{`+sel+`})`, "")),
				stat("Highest CPU", "percent", q(`max(panoptes_cpu_cpu_utilization{`+sel+`})`, "")),
				withMappings(Panel{Type: StateTimeline, Title: "Worst polling status", W: 12, H: 8,
					Targets: []Target{q(`resource:panoptes_polling_status:max{`+sel+`}`, "{{resource_id}}")}}, pollingStatuses),
				func() Panel {
					p := Panel{Type: Table, Title: "Checks", W: 12, H: 8,
						Targets: []Target{
							cell(`panoptes_status_polling_status{` + sel + `}`),
							cell(`panoptes_system_uptime_seconds{` + sel + `}`),
						},
						Transformations: merged([]string{"status", "uptime"}, append(resourceLabels, "resource_site")...)}
					p.Overrides = append(columnMappings(pollingStatuses, "status"), columnUnit("uptime", "dtdurations"))
					return p
				}(),
			}},
			{Title: "CPU and memory", Panels: []Panel{
				func() Panel {
					p := timeseries("CPU utilization", "percent", 12, q(`panoptes_cpu_cpu_utilization{`+sel+`}`, "{{resource_id}} {{cpu_name}}"))
					p.Min, p.Max = F(0), F(100)
					return p
				}(),
				func() Panel {
					p := timeseries("Memory utilization", "percentunit", 12, q(`memory:panoptes_memory_utilization:ratio{`+sel+`}`, "{{resource_id}} {{memory_type}}"))
					p.Min, p.Max = F(0), F(1)
					return p
				}(),
				timeseries("Memory used", "bytes", 12, q(`panoptes_memory_memory_used{`+sel+`}`, "{{resource_id}} {{memory_type}}")),
				timeseries("Uptime", "s", 12, q(`panoptes_system_uptime_seconds{`+sel+`}`, "{{resource_id}}")),
			}},
			{Title: "Environment", Panels: []Panel{
				timeseries("Temperature", "celsius", 12, q(`panoptes_environment_temperature{`+sel+`}`, "{{resource_id}} {{sensor_name}}")),
				func() Panel {
					return Panel{Type: Table, Title: "Fans and power supplies", W: 12, H: 8,
						Targets: []Target{
							cell(`panoptes_environment_fans_ok{` + sel + `}`),
							cell(`panoptes_environment_fans_total{` + sel + `}`),
							cell(`panoptes_environment_power_units_on{` + sel + `}`),
							cell(`panoptes_environment_power_units_total{` + sel + `}`),
						},
						Transformations: merged([]string{"fans ok", "fans", "power supplies on", "power supplies"}, resourceLabels...)}
				}(),
			}},
		},
	}
}

func promBGP() Dashboard {
	sel := promPeer
	return Dashboard{
		UID: "panoptes-prom-bgp", Title: "Panoptes / BGP sessions (Prometheus)", Datasource: Prometheus,
		Description: "BGP peers per device: state, uptime, prefixes and updates (bgp plugin, with rates: all).",
		Tags:        []string{"panoptes", "network", "prometheus"}, Time: "now-6h", Refresh: "1m",
		Vars: []Var{promSiteVar,
			{Name: "device", Label: "Device", Query: `label_values(panoptes_bgp_session_peer_state{resource_site=~"$site"}, resource_id)`},
			{Name: "peer", Label: "Peer", Query: `label_values(panoptes_bgp_session_peer_state{resource_site=~"$site",resource_id=~"$device"}, peer_address)`}},
		Rows: []Row{
			{Title: "Sessions", Panels: []Panel{
				stat("Established", "none", q(`count(panoptes_bgp_session_peer_state{`+sel+`} == 6) or vector(0)`, "")),
				withDescription(bad(stat("Down (admin up)", "none", q(`count(panoptes_bgp_session_peer_state{`+sel+`} != 6 and panoptes_bgp_session_admin_status{`+sel+`} == 2) or vector(0)`, ""))),
					"Sessions configured to run (admin status running) that are not established."),
				stat("Prefixes accepted", "none", q(`sum(panoptes_bgp_session_prefixes_accepted{`+sel+`})`, "")),
				stat("Prefixes advertised", "none", q(`sum(panoptes_bgp_session_prefixes_advertised{`+sel+`})`, "")),
				stat("Updates received", "ops", q(`sum(panoptes_bgp_session_updates_in_rate{`+sel+`})`, "")),
				stat("Transitions (1h)", "none", q(`sum(increase(panoptes_bgp_session_established_transitions_total{`+sel+`}[1h]))`, "")),
				func() Panel {
					p := Panel{Type: Table, Title: "Sessions", W: 24, H: 9,
						Targets: []Target{
							cell(`panoptes_bgp_session_peer_state{` + sel + `}`),
							cell(`panoptes_bgp_session_admin_status{` + sel + `}`),
							cell(`panoptes_bgp_session_established_time{` + sel + `}`),
							cell(`panoptes_bgp_session_prefixes_accepted{` + sel + `}`),
							cell(`panoptes_bgp_session_prefixes_advertised{` + sel + `}`),
						},
						Transformations: merged([]string{"state", "admin", "established for", "accepted", "advertised"},
							append(resourceLabels, "resource_endpoint", "resource_site")...)}
					p.Overrides = append(columnMappings(bgpStates, "state"), columnMappings(bgpAdmin, "admin")...)
					p.Overrides = append(p.Overrides, columnUnit("established for", "dtdurations"))
					return p
				}(),
				withMappings(Panel{Type: StateTimeline, Title: "Session state", W: 24, H: 8,
					Targets: []Target{q(`panoptes_bgp_session_peer_state{`+sel+`}`, "{{resource_id}} {{peer_address}} AS{{remote_as}}")}}, bgpStates),
			}},
			{Title: "Routes and updates", Panels: []Panel{
				timeseries("Prefixes accepted", "none", 12, q(`panoptes_bgp_session_prefixes_accepted{`+sel+`}`, "{{resource_id}} {{peer_address}}")),
				inOut("Updates (received above, sent below)", "ops", 12,
					q(`panoptes_bgp_session_updates_in_rate{`+sel+`}`, "{{resource_id}} {{peer_address}} in"),
					q(`panoptes_bgp_session_updates_out_rate{`+sel+`}`, "{{resource_id}} {{peer_address}} out")),
				timeseries("Established time", "s", 12, q(`panoptes_bgp_session_established_time{`+sel+`}`, "{{resource_id}} {{peer_address}}")),
				timeseries("Established transitions (per hour)", "none", 12,
					q(`increase(panoptes_bgp_session_established_transitions_total{`+sel+`}[1h])`, "{{resource_id}} {{peer_address}}")),
			}},
		},
	}
}
