// Package json is the discovery source "json": it reads the devices from a
// Panoptes resource set file ({"resources":[...]}) or a bare array of
// resources, as a CMDB export or the original Panoptes would write it. See
// README.md.
package json

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/panoptes-go/panoptes/internal/discovery"
	"github.com/panoptes-go/panoptes/internal/plugin"
)

func init() { discovery.Register("json", New) }

// Config is the source's block: the keys of its discovery.sources entry
// besides name, plugin and the manager's own.
type Config struct {
	// Path of the JSON file, relative to the config file.
	Path string `yaml:"path"`
}

// JSON discovers resources from a Panoptes resource set file.
type JSON struct {
	name     string
	path     string
	defaults discovery.Defaults
	now      func() time.Time
}

var _ discovery.Source = (*JSON)(nil)

// New is the source's factory: it checks its block and reads no file.
func New(options plugin.Block, deps discovery.Deps) (discovery.Source, error) {
	var c Config
	if err := options.Decode(&c); err != nil {
		return nil, err
	}
	if strings.TrimSpace(c.Path) == "" {
		return nil, plugin.Errorf("path", "is empty; give the file to read")
	}
	return &JSON{name: deps.Name, path: options.Abs(c.Path), defaults: deps.Defaults, now: time.Now}, nil
}

// Discover reads the whole file. Invalid JSON (a truncated file) fails the
// source; resources that do not validate are rejected one by one.
func (j *JSON) Discover(ctx context.Context) (*discovery.Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(j.path)
	if err != nil {
		return nil, fmt.Errorf("read resource set: %w", err)
	}
	return discovery.ParseJSON(ctx, data, j.path, j.name, j.defaults, j.now())
}
