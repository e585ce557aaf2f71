// Package all registers every plugin built into panoptes; the binary
// blank-imports it (the node does not: it only knows the families). Adding
// a plugin is its folder plus one line here.
package all

import (
	_ "github.com/panoptes-go/panoptes/internal/apps/monitor"      // app events
	_ "github.com/panoptes-go/panoptes/internal/apps/topology"     // app topology
	_ "github.com/panoptes-go/panoptes/internal/discovery/command" // discovery source command
	_ "github.com/panoptes-go/panoptes/internal/discovery/csv"     // discovery source csv
	_ "github.com/panoptes-go/panoptes/internal/discovery/http"    // discovery source http
	_ "github.com/panoptes-go/panoptes/internal/discovery/json"    // discovery source json
	_ "github.com/panoptes-go/panoptes/internal/input/gnmi"        // streaming input gnmi
	_ "github.com/panoptes-go/panoptes/internal/poll/bgp"          // polling plugin bgp
	_ "github.com/panoptes-go/panoptes/internal/poll/heartbeat"    // polling plugin heartbeat
	_ "github.com/panoptes-go/panoptes/internal/poll/iface"        // polling plugin interface
	_ "github.com/panoptes-go/panoptes/internal/poll/lldp"         // polling plugin lldp
	_ "github.com/panoptes-go/panoptes/internal/poll/ping"         // polling plugin ping
	_ "github.com/panoptes-go/panoptes/internal/poll/profile"      // polling plugin profile
	_ "github.com/panoptes-go/panoptes/internal/poll/uptime"       // polling plugin uptime
	_ "github.com/panoptes-go/panoptes/internal/sink/alertmanager" // sink type alertmanager (events)
	_ "github.com/panoptes-go/panoptes/internal/sink/file"         // sink type file
	_ "github.com/panoptes-go/panoptes/internal/sink/influxdb"     // sink type influxdb
	_ "github.com/panoptes-go/panoptes/internal/sink/kafka"        // sink type kafka, sink source kafka
	_ "github.com/panoptes-go/panoptes/internal/sink/prometheus"   // sink types prometheus, prometheus_remote_write
	_ "github.com/panoptes-go/panoptes/internal/sink/webhook"      // sink type webhook (events)
)
