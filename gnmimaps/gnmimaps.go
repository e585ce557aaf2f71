// Package gnmimaps embeds the shipped gNMI mappings (the YAML files in this
// directory) in the binary: OpenConfig paths to Panoptes' metrics groups.
// See README.md here for the format.
package gnmimaps

import "embed"

// FS holds every *.yaml mapping of this directory.
//
//go:embed *.yaml
var FS embed.FS
