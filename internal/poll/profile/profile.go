// Package profile is the `profile` polling plugin: device health (CPU,
// memory, environment, anything a MIB has) from declarative SNMP profiles.
// The profile engine (loading, selection, evaluation) is package
// internal/profile; this folder registers it.
package profile

import (
	"github.com/panoptes-go/panoptes/internal/poll"
	engine "github.com/panoptes-go/panoptes/internal/profile"
)

func init() { poll.Register("profile", engine.FromOptions) }
