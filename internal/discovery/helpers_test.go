package discovery

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"maps"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/testutil/logbuf"
)

// testNow is the fixed clock of parser tests.
var testNow = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

var testTS = float64(testNow.UnixMilli()) / 1000

// fileSource reads a file with a parser, as the csv and json sources do
// (they live in their own folders, which import this package), with a
// fixed clock.
type fileSource struct {
	name, format, path string
	defaults           Defaults
}

func (f fileSource) Discover(ctx context.Context) (*Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(f.path)
	if err != nil {
		return nil, err
	}
	if f.format == FormatCSV {
		return ParseCSV(ctx, bytes.NewReader(data), f.path, f.name, f.defaults, testNow)
	}
	return ParseJSON(ctx, data, f.path, f.name, f.defaults, testNow)
}

// newSource is a source of format ("csv" or "json") reading path.
func newSource(t *testing.T, name, format, path string, d Defaults) Source {
	t.Helper()
	return fileSource{name: name, format: format, path: path, defaults: d.withFallbacks()}
}

func discover(t *testing.T, src Source) *Result {
	t.Helper()
	res, err := src.Discover(context.Background())
	if err != nil {
		t.Fatalf("Discover: %v", err)
	}
	return res
}

func byID(set *resource.Set) map[string]*resource.Resource {
	out := map[string]*resource.Resource{}
	for _, r := range set.Resources {
		out[r.ID] = r
	}
	return out
}

func ids(set *resource.Set) []string {
	var out []string
	for _, r := range set.Resources {
		out = append(out, r.ID)
	}
	sort.Strings(out)
	return out
}

// memInventory is an in-memory Inventory for unit tests; the JetStream KV
// test checks the same behaviour against the real store.
type memInventory struct {
	mu      sync.Mutex
	m       map[string]*resource.Resource
	puts    int
	deletes int
	failPut error
}

func newMemInventory(rs ...*resource.Resource) *memInventory {
	inv := &memInventory{m: map[string]*resource.Resource{}}
	for _, r := range rs {
		inv.m[r.Key()] = r.Clone()
	}
	return inv
}

func (i *memInventory) List(ctx context.Context) (map[string]*resource.Resource, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	out := make(map[string]*resource.Resource, len(i.m))
	for k, r := range i.m {
		out[k] = r.Clone()
	}
	return out, ctx.Err()
}

func (i *memInventory) Put(ctx context.Context, r *resource.Resource) error {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.failPut != nil {
		return i.failPut
	}
	i.puts++
	i.m[r.Key()] = r.Clone()
	return ctx.Err()
}

func (i *memInventory) Delete(ctx context.Context, key string) error {
	i.mu.Lock()
	defer i.mu.Unlock()
	if _, ok := i.m[key]; !ok {
		return errors.New("delete of a missing key " + key)
	}
	i.deletes++
	delete(i.m, key)
	return ctx.Err()
}

func (i *memInventory) snapshot() map[string]*resource.Resource {
	i.mu.Lock()
	defer i.mu.Unlock()
	return maps.Clone(i.m)
}

func testLogger(level slog.Level) (*slog.Logger, *logbuf.Buffer) {
	buf := &logbuf.Buffer{}
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: level})), buf
}

func res(id, endpoint, plugin string, md map[string]string) *resource.Resource {
	if md == nil {
		md = map[string]string{}
	}
	return &resource.Resource{Site: "dc1", Class: "network", Subclass: "switch", Type: "generic",
		ID: id, Endpoint: endpoint, Metadata: md, Plugin: plugin, CreationTimestamp: testTS}
}

func result(rows int, rs ...*resource.Resource) *Result {
	return &Result{Set: &resource.Set{Resources: rs}, Rows: rows}
}
