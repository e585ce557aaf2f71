package config

import "github.com/panoptes-go/panoptes/internal/plugin"

// Duration is a time.Duration written as "30s", "5m" or a number of seconds.
type Duration = plugin.Duration

// ByteSize is a size written as 1048576, "100MiB", "1GB".
type ByteSize = plugin.ByteSize

// ParseByteSize parses "1048576", "100MiB", "1GB", "512K".
func ParseByteSize(s string) (ByteSize, error) { return plugin.ParseByteSize(s) }
