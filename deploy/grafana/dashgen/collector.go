package dashgen

// The collector's own health, from the /metrics endpoint of every panoptes
// node (scraped by Prometheus): checks, lateness, SNMP, bus, sinks, cluster.
// Nodes are recognised by panoptes_inventory_resources, which every node
// exposes whatever its roles, so no job name is assumed.

const node = `job=~"$job",instance=~"$instance"`

func rate(metric, extra string) string {
	sel := node
	if extra != "" {
		sel += "," + extra
	}
	return `rate(` + metric + `{` + sel + `}[$__rate_interval])`
}

func quantile(qv, metric, by string) string {
	return `histogram_quantile(` + qv + `, sum by (` + by + `) (rate(` + metric + `_bucket{` + node + `}[$__rate_interval])))`
}

func collector() Dashboard {
	return Dashboard{
		UID: "panoptes-collector", Title: "Panoptes / Collector", Datasource: Prometheus,
		Description: "The panoptes nodes themselves: checks per second and their outcome, schedule lateness, SNMP, bus, sinks and their lag, cluster membership, process resources.",
		Tags:        []string{"panoptes", "collector", "prometheus"}, Time: "now-1h", Refresh: "30s",
		Vars: []Var{
			{Name: "job", Label: "Job", Query: `label_values(panoptes_inventory_resources, job)`},
			{Name: "instance", Label: "Node", Query: `label_values(panoptes_inventory_resources{job=~"$job"}, instance)`},
		},
		Rows: []Row{
			{Title: "Overview", Panels: []Panel{
				withDescription(stat("Nodes up", "none", q(`sum(up{`+node+`} and on (job, instance) panoptes_inventory_resources{`+node+`})`, "")),
					"Panoptes nodes Prometheus scrapes successfully."),
				stat("Devices", "none", q(`max(panoptes_inventory_resources{`+node+`})`, "")),
				stat("Checks/s", "ops", q(`sum(`+rate("panoptes_poll_checks_total", "")+`)`, "")),
				bad(stat("Failed checks/s", "ops", q(`sum(`+rate("panoptes_poll_checks_total", `status!="success"`)+`) or vector(0)`, ""))),
				func() Panel {
					p := stat("Lateness p99", "s", q(quantile("0.99", "panoptes_schedule_lateness_seconds", "le"), ""))
					p.Thresholds = []Step{{0, "green"}, {1, "orange"}, {5, "red"}}
					return p
				}(),
				bad(stat("Sink lag (messages)", "none", q(`max(panoptes_sink_consumer_pending{`+node+`})`, ""))),
			}},
			{Title: "Polling", Panels: []Panel{
				withDescription(func() Panel {
					p := timeseries("Checks by plugin and status", "ops", 12,
						q(`sum by (plugin, status) (`+rate("panoptes_poll_checks_total", "")+`)`, "{{plugin}} {{status}}"))
					p.Stack = true
					return p
				}(), "Checks run per second; status is the polling status's name (success, timeout, network_failure, ...)."),
				timeseries("Check duration p99", "s", 12, q(quantile("0.99", "panoptes_poll_duration_seconds", "plugin, le"), "{{plugin}}")),
				timeseries("Schedule lateness", "s", 12,
					q(quantile("0.5", "panoptes_schedule_lateness_seconds", "instance, le"), "{{instance}} p50"),
					q(quantile("0.99", "panoptes_schedule_lateness_seconds", "instance, le"), "{{instance}} p99")),
				withDescription(timeseries("Skipped checks", "ops", 12,
					q(`sum by (instance, plugin) (`+rate("panoptes_schedule_checks_skipped_total", "")+`)`, "{{instance}} {{plugin}}")),
					"Due times skipped: the previous run of the check was still going, or it waited for a worker past its next due time. Anything above zero means the node is falling behind."),
				timeseries("Checks running and scheduled", "none", 12,
					q(`panoptes_schedule_checks_running{`+node+`}`, "{{instance}} running"),
					q(`panoptes_schedule_checks_scheduled{`+node+`}`, "{{instance}} scheduled")),
				timeseries("Resources owned", "none", 12,
					q(`panoptes_cluster_resources_owned{`+node+`}`, "{{instance}}"),
					q(`max(panoptes_inventory_resources{`+node+`})`, "inventory")),
			}},
			{Title: "SNMP", Panels: []Panel{
				timeseries("Requests by outcome", "reqps", 12,
					q(`sum by (operation, outcome) (`+rate("panoptes_snmp_requests_total", "")+`)`, "{{operation}} {{outcome}}")),
				timeseries("Packets, retries, varbinds", "ops", 12,
					q(`sum by (instance) (`+rate("panoptes_snmp_packets_sent_total", "")+`)`, "{{instance}} packets sent"),
					q(`sum by (instance) (`+rate("panoptes_snmp_retries_total", "")+`)`, "{{instance}} retries"),
					q(`sum by (instance) (`+rate("panoptes_snmp_varbinds_received_total", "")+`)`, "{{instance}} varbinds received")),
			}},
			{Title: "Bus", Panels: []Panel{
				timeseries("Published and failed", "ops", 8,
					q(`sum by (instance) (`+rate("panoptes_bus_published_total", "")+`)`, "{{instance}} published"),
					q(`sum by (instance) (`+rate("panoptes_bus_publish_errors_total", "")+`)`, "{{instance}} errors"),
					q(`sum by (instance) (`+rate("panoptes_bus_dropped_total", "")+`)`, "{{instance}} dropped")),
				withDescription(timeseries("Buffered (bus lag)", "none", 8,
					q(`panoptes_bus_buffered_messages{`+node+`}`, "{{instance}}")),
					"Metrics groups waiting in the node's local buffer because the bus is unreachable or full."),
				timeseries("Buffered bytes", "bytes", 8, q(`panoptes_bus_buffered_bytes{`+node+`}`, "{{instance}}")),
			}},
			{Title: "Sinks", Panels: []Panel{
				timeseries("Written", "ops", 8, q(`sum by (sink) (`+rate("panoptes_sink_messages_written_total", "")+`)`, "{{sink}}")),
				timeseries("Write errors and retries", "ops", 8,
					q(`sum by (sink) (`+rate("panoptes_sink_write_errors_total", "")+`)`, "{{sink}} errors"),
					q(`sum by (sink) (`+rate("panoptes_sink_messages_retried_total", "")+`)`, "{{sink}} retried")),
				timeseries("Dead-lettered", "ops", 8,
					q(`sum by (sink, reason) (`+rate("panoptes_sink_messages_dead_lettered_total", "")+`)`, "{{sink}} {{reason}}")),
				withDescription(timeseries("Lag (messages pending)", "none", 8,
					q(`max by (sink) (panoptes_sink_consumer_pending{`+node+`})`, "{{sink}}")),
					"Messages on the bus not yet delivered to each sink."),
				withDescription(timeseries("Delivery latency p99", "s", 8,
					q(quantile("0.99", "panoptes_sink_delivery_latency_seconds", "sink, le"), "{{sink}}")),
					"From a batch's publication on the bus to its ack after the store took it."),
				timeseries("Write duration p99", "s", 8, q(quantile("0.99", "panoptes_sink_write_duration_seconds", "sink, le"), "{{sink}}")),
			}},
			{Title: "Cluster", Panels: []Panel{
				withDescription(timeseries("Members by site", "none", 8, q(`max by (site) (panoptes_cluster_members{`+node+`})`, "{{site}}")),
					"Live members (not draining) seen by the nodes, by site."),
				timeseries("Leader", "none", 8, q(`panoptes_cluster_leader{`+node+`}`, "{{instance}}")),
				timeseries("Ownership changes and heartbeat failures", "ops", 8,
					q(`sum by (instance) (`+rate("panoptes_cluster_ownership_changes_total", "")+`)`, "{{instance}} ownership changes"),
					q(`sum by (instance) (`+rate("panoptes_cluster_heartbeat_failures_total", "")+`)`, "{{instance}} heartbeat failures")),
			}},
			{Title: "Enrichment and rates", Collapsed: true, Panels: []Panel{
				timeseries("Enrichment lookups", "ops", 8, q(`sum by (source) (`+rate("panoptes_enrichment_lookups_total", "")+`)`, "{{source}}")),
				timeseries("Enrichment collections", "ops", 8,
					q(`sum by (trigger, result) (`+rate("panoptes_enrichment_collections_total", "")+`)`, "{{trigger}} {{result}}")),
				timeseries("Rate samples by outcome", "ops", 8, q(`sum by (outcome) (`+rate("panoptes_rate_samples_total", "")+`)`, "{{outcome}}")),
			}},
			{Title: "Process", Collapsed: true, Panels: []Panel{
				timeseries("CPU", "percentunit", 8, q(rate("process_cpu_seconds_total", "")+` and on (job, instance) panoptes_inventory_resources`, "{{instance}}")),
				timeseries("Resident memory", "bytes", 8, q(`process_resident_memory_bytes{`+node+`} and on (job, instance) panoptes_inventory_resources`, "{{instance}}")),
				timeseries("Goroutines", "none", 8, q(`go_goroutines{`+node+`} and on (job, instance) panoptes_inventory_resources`, "{{instance}}")),
			}},
		},
	}
}
