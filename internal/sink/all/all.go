// Package all registers every sink type and source: the binary (through
// package node) blank-imports it. The file sink lives in package sink itself.
package all

import (
	_ "github.com/panoptes-go/panoptes/internal/sink/influxdb"   // type influxdb
	_ "github.com/panoptes-go/panoptes/internal/sink/kafka"      // type kafka, source kafka
	_ "github.com/panoptes-go/panoptes/internal/sink/prometheus" // types prometheus, prometheus_remote_write
)
