package node

// The node knows plugin families only; its tests use the built-in plugins.
import _ "github.com/panoptes-go/panoptes/internal/plugins/all"
