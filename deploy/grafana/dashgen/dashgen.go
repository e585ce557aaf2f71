// Package dashgen defines Panoptes' Grafana dashboards and renders them to
// the JSON files under deploy/grafana, which are what users import. The
// definitions are Go so that the dashboards for both stores stay alike and
// the panels' queries follow the sinks' names in one place; the committed
// JSON is checked against them by this package's test. Regenerate with
//
//	go test ./deploy/grafana/dashgen -run TestCommitted -update
package dashgen

// File is one dashboard and where it is committed, relative to
// deploy/grafana.
type File struct {
	Path      string
	Dashboard Dashboard
}

// All is every dashboard Panoptes ships.
func All() []File {
	return []File{
		{"prometheus/panoptes-overview.json", promOverview()},
		{"prometheus/panoptes-interfaces.json", promInterfaces()},
		{"prometheus/panoptes-devices.json", promDevices()},
		{"prometheus/panoptes-bgp.json", promBGP()},
		{"prometheus/panoptes-collector.json", collector()},
		{"influxdb/panoptes-interfaces.json", influxInterfaces()},
		{"influxdb/panoptes-devices.json", influxDevices()},
		{"influxdb/panoptes-bgp.json", influxBGP()},
	}
}
