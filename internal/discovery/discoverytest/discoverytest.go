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
	"strings"
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

// BadEndpointsCSV and BadEndpointsJSON are one inventory in both formats, a
// row per line from line 2: one good device, then endpoints that could never
// be polled. CheckBadEndpoints says whether a source reported each of those
// as a row error naming its line.
const (
	BadEndpointsCSV = "id,endpoint,site\n" +
		"ok,10.0.0.1:161,dc1\n" +
		"badaddr,999.1.1.1:abc,dc1\n" +
		"nohost,:161,dc1\n" +
		"bigport,10.0.0.2:70000,dc1\n" +
		"nameport,sw1:snmp,dc1\n" +
		"zeroport,sw1.example.com:0,dc1\n" +
		"shortaddr,10.0.0,dc1\n" +
		"slash,sw1/24,dc1\n"
	BadEndpointsJSON = "[\n" +
		`{"resource_id":"ok","resource_endpoint":"10.0.0.1:161","resource_site":"dc1"},` + "\n" +
		`{"resource_id":"badaddr","resource_endpoint":"999.1.1.1:abc","resource_site":"dc1"},` + "\n" +
		`{"resource_id":"nohost","resource_endpoint":":161","resource_site":"dc1"},` + "\n" +
		`{"resource_id":"bigport","resource_endpoint":"10.0.0.2:70000","resource_site":"dc1"},` + "\n" +
		`{"resource_id":"nameport","resource_endpoint":"sw1:snmp","resource_site":"dc1"},` + "\n" +
		`{"resource_id":"zeroport","resource_endpoint":"sw1.example.com:0","resource_site":"dc1"},` + "\n" +
		`{"resource_id":"shortaddr","resource_endpoint":"10.0.0","resource_site":"dc1"},` + "\n" +
		`{"resource_id":"slash","resource_endpoint":"sw1/24","resource_site":"dc1"}` + "\n" +
		"]\n"
)

// badEndpointErrors are the row errors of BadEndpointsCSV/JSON by line.
var badEndpointErrors = map[int]string{
	3: `endpoint: host "999.1.1.1" is not a valid IPv4 address`,
	4: "endpoint: empty host",
	5: "endpoint: port 70000 is out of range (want 1-65535)",
	6: `endpoint: port "snmp" is not a number (want 1-65535)`,
	7: "endpoint: port 0 is out of range (want 1-65535)",
	8: `endpoint: host "10.0.0" is not a valid IPv4 address`,
	9: `endpoint: host "sw1/24" contains '/': want a host name, an IPv4 address or [ipv6]`,
}

// CheckBadEndpoints fails the test unless res, from BadEndpointsCSV or
// BadEndpointsJSON read as file, holds the good device and rejects every
// other row at its line as "file:line: endpoint: reason" (a JSON row's
// reason starts with its index: "resources[1]: endpoint: ...").
func CheckBadEndpoints(t testing.TB, res *discovery.Result, file string) {
	t.Helper()
	if ids := IDs(res.Set); len(ids) != 1 || ids[0] != "ok" {
		t.Errorf("resources %v, want only ok", ids)
	}
	if len(res.Rejected) != len(badEndpointErrors) {
		t.Errorf("%d rows rejected, want %d: %v", len(res.Rejected), len(badEndpointErrors), res.Rejected)
	}
	for _, e := range res.Rejected {
		want, ok := badEndpointErrors[e.Line]
		reason := e.Reason
		if strings.HasPrefix(reason, "resources[") {
			reason = reason[strings.Index(reason, "]: ")+3:]
		}
		if !ok || e.File != file || reason != want {
			t.Errorf("rejected %q, want %s:%d: %s", e.Error(), file, e.Line, want)
		}
	}
}
