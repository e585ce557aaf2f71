// Package staticsource is a throwaway discovery source, "static": the
// devices are listed in its own options.
package staticsource

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/panoptes-go/panoptes/internal/discovery"
	"github.com/panoptes-go/panoptes/internal/plugin"
	"github.com/panoptes-go/panoptes/internal/resource"
)

func init() { discovery.Register("static", New) }

// Config is the source's block.
type Config struct {
	Devices []Device `yaml:"devices"`
}

// Device is one listed device.
type Device struct {
	ID       string `yaml:"id"`
	Endpoint string `yaml:"endpoint"`
}

// Static returns its listed devices on every run.
type Static struct {
	name     string
	devices  []Device
	defaults discovery.Defaults
}

// New is the factory: decode, check, no side effects.
func New(options plugin.Block, deps discovery.Deps) (discovery.Source, error) {
	var c Config
	if err := options.Decode(&c); err != nil {
		return nil, err
	}
	var errs []error
	if len(c.Devices) == 0 {
		errs = append(errs, plugin.Errorf("devices", "is empty; list at least one device"))
	}
	for i, d := range c.Devices {
		if strings.TrimSpace(d.ID) == "" {
			errs = append(errs, plugin.Errorf(fmt.Sprintf("devices[%d].id", i), "is empty"))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &Static{name: deps.Name, devices: c.Devices, defaults: deps.Defaults}, nil
}

// Discover returns the listed devices.
func (s *Static) Discover(context.Context) (*discovery.Result, error) {
	set := &resource.Set{SchemaVersion: resource.SetSchemaVersion}
	for _, d := range s.devices {
		set.Resources = append(set.Resources, &resource.Resource{
			Site: s.defaults.Site, Class: s.defaults.Class, Subclass: s.defaults.Subclass, Type: s.defaults.Type,
			ID: d.ID, Endpoint: d.Endpoint, Metadata: map[string]string{}, Plugin: s.name,
		})
	}
	return &discovery.Result{Set: set, Rows: len(s.devices)}, nil
}
