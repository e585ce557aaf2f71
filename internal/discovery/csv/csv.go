// Package csv is the discovery source "csv": it reads the devices from a
// CSV file with a header row. See README.md.
package csv

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/panoptes-go/panoptes/internal/discovery"
	"github.com/panoptes-go/panoptes/internal/plugin"
)

func init() { discovery.Register("csv", New) }

// Config is the source's block: the keys of its discovery.sources entry
// besides name, plugin and the manager's own.
type Config struct {
	// Path of the CSV file, relative to the config file.
	Path string `yaml:"path"`
}

// CSV discovers resources from a CSV file with a header row. Columns site,
// class, subclass, type, id and endpoint (optionally prefixed resource_)
// fill the resource; every other column becomes resource_metadata.
type CSV struct {
	name     string
	path     string
	defaults discovery.Defaults
	now      func() time.Time
}

var _ discovery.Source = (*CSV)(nil)

// New is the source's factory: it checks its block and reads no file.
func New(options plugin.Block, deps discovery.Deps) (discovery.Source, error) {
	var c Config
	if err := options.Decode(&c); err != nil {
		return nil, err
	}
	if strings.TrimSpace(c.Path) == "" {
		return nil, plugin.Errorf("path", "is empty; give the file to read")
	}
	return &CSV{name: deps.Name, path: options.Abs(c.Path), defaults: deps.Defaults, now: time.Now}, nil
}

// Discover reads the whole file. A file that cannot be opened or has no
// usable header fails the source; bad rows are rejected one by one.
func (c *CSV) Discover(ctx context.Context) (*discovery.Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := os.Open(c.path)
	if err != nil {
		return nil, fmt.Errorf("read device list: %w", err)
	}
	defer f.Close()
	return discovery.ParseCSV(ctx, f, c.path, c.name, c.defaults, c.now())
}
