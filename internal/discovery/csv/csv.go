// Package csv is the discovery source "csv": it reads the devices from a
// CSV file with a header row. Columns site, class, subclass, type, id and
// endpoint (optionally prefixed resource_) fill the resource; every other
// column becomes resource_metadata. See README.md.
package csv

import (
	"github.com/panoptes-go/panoptes/internal/discovery"
	"github.com/panoptes-go/panoptes/internal/plugin"
)

func init() { discovery.Register("csv", New) }

// New is the source's factory: its block has one key, path (relative to
// the config file); it reads no file yet.
func New(options plugin.Block, deps discovery.Deps) (discovery.Source, error) {
	return discovery.NewFile(options, deps, "device list", discovery.ParseCSVFile)
}
