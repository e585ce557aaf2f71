// Package json is the discovery source "json": it reads the devices from a
// Panoptes resource set file ({"resources":[...]}) or a bare array of
// resources, as a CMDB export or the original Panoptes would write it. See
// README.md.
package json

import (
	"github.com/panoptes-go/panoptes/internal/discovery"
	"github.com/panoptes-go/panoptes/internal/plugin"
)

func init() { discovery.Register("json", New) }

// New is the source's factory: its block has one key, path (relative to
// the config file); it reads no file yet.
func New(options plugin.Block, deps discovery.Deps) (discovery.Source, error) {
	return discovery.NewFile(options, deps, "resource set", discovery.ParseJSON)
}
