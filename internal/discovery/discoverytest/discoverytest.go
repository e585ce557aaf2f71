// Package discoverytest helps the tests of discovery sources, each in its
// own folder: a fixed clock, an in-memory inventory, and loading a config
// through the real loader with the sources built as `panoptes validate`
// builds them.
package discoverytest

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/discovery"
	"github.com/panoptes-go/panoptes/internal/resource"
)

// Now is a fixed clock for sources under test; TS is it in epoch seconds,
// as resources carry it.
var (
	Now = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	TS  = float64(Now.UnixMilli()) / 1000
)

// Discover runs src once and fails the test on an error.
func Discover(t testing.TB, src discovery.Source) *discovery.Result {
	t.Helper()
	res, err := src.Discover(context.Background())
	if err != nil {
		t.Fatalf("Discover: %v", err)
	}
	return res
}

// ByID indexes a set's resources by resource_id.
func ByID(set *resource.Set) map[string]*resource.Resource {
	out := map[string]*resource.Resource{}
	for _, r := range set.Resources {
		out[r.ID] = r
	}
	return out
}

// IDs lists a set's resource_ids, sorted.
func IDs(set *resource.Set) []string {
	var out []string
	for _, r := range set.Resources {
		out = append(out, r.ID)
	}
	slices.Sort(out)
	return out
}

// Check builds every discovery source of cfg as node.Check does; give it to
// config.Load or config.Parse so its errors come with the config's.
func Check(cfg *config.Config) error {
	_, err := Build(cfg)
	return err
}

// Build builds the discovery sources of cfg, by name.
func Build(cfg *config.Config) (map[string]discovery.Source, error) {
	d := cfg.Discovery.Defaults
	out := map[string]discovery.Source{}
	var errs []error
	for i, s := range cfg.Discovery.Sources {
		src, err := discovery.Build(s.Plugin, s.Options, discovery.Deps{Name: s.Name,
			Defaults: discovery.Defaults{Site: d.Site, Class: d.Class, Subclass: d.Subclass, Type: d.Type}})
		if err != nil {
			errs = append(errs, cfg.Locate("discovery.sources", i, "plugin", err))
			continue
		}
		out[s.Name] = src
	}
	return out, errors.Join(errs...)
}

// LoadSample loads a config file (a source's sample.yaml) through the real
// loader, with its sources built, and returns them.
func LoadSample(t testing.TB, path string) (*config.Config, map[string]discovery.Source) {
	t.Helper()
	cfg, err := config.Load(path, Check)
	if err != nil {
		t.Fatalf("the sample config does not load:\n%v", err)
	}
	srcs, err := Build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, srcs
}

// Inventory is an in-memory discovery.Inventory.
type Inventory struct {
	mu sync.Mutex
	m  map[string]*resource.Resource
}

var _ discovery.Inventory = (*Inventory)(nil)

// NewInventory makes an empty inventory.
func NewInventory() *Inventory { return &Inventory{m: map[string]*resource.Resource{}} }

// List returns a copy of every resource by key.
func (i *Inventory) List(ctx context.Context) (map[string]*resource.Resource, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	out := make(map[string]*resource.Resource, len(i.m))
	for k, r := range i.m {
		out[k] = r.Clone()
	}
	return out, ctx.Err()
}

// Put stores a copy of r.
func (i *Inventory) Put(ctx context.Context, r *resource.Resource) error {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.m[r.Key()] = r.Clone()
	return ctx.Err()
}

// Delete removes a resource; a missing key is an error.
func (i *Inventory) Delete(ctx context.Context, key string) error {
	i.mu.Lock()
	defer i.mu.Unlock()
	if _, ok := i.m[key]; !ok {
		return errors.New("delete of a missing key " + key)
	}
	delete(i.m, key)
	return ctx.Err()
}

// Snapshot is the inventory now.
func (i *Inventory) Snapshot() map[string]*resource.Resource {
	i.mu.Lock()
	defer i.mu.Unlock()
	return maps.Clone(i.m)
}
