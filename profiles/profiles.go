// Package profiles embeds the shipped device profiles (the YAML files in
// this directory) in the binary, so the profile plugin works from any
// working directory. See README.md here for the format.
package profiles

import "embed"

// FS holds every *.yaml profile of this directory.
//
//go:embed *.yaml
var FS embed.FS
