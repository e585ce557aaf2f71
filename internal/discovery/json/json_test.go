package json

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/discovery"
	"github.com/panoptes-go/panoptes/internal/discovery/discoverytest"
	"github.com/panoptes-go/panoptes/internal/plugin"
)

// The sample config loads through the real loader and its source reads the
// resource set next to it.
func TestSample(t *testing.T) {
	sample, err := filepath.Abs("sample.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, srcs := discoverytest.LoadSample(t, sample)
	src := srcs["cmdb"].(*discovery.File)
	if want := filepath.Join(filepath.Dir(sample), "testdata", "resources.json"); src.Path != want {
		t.Errorf("path %q, want %q: relative to the config file", src.Path, want)
	}
	src.Now = func() time.Time { return discoverytest.Now }
	res := discoverytest.Discover(t, src)
	got := discoverytest.ByID(res.Set)
	if len(got) != 2 || len(res.Rejected) != 0 {
		t.Fatalf("resources %v, rejected %v", discoverytest.IDs(res.Set), res.Rejected)
	}
	if r := got["rt1.dc1"]; r.Site != "dc1" || r.Class != "network" || r.Subclass != "router" || r.Plugin != "cmdb" || r.Metadata["snmp_credential"] != "lab" {
		t.Errorf("rt1.dc1 = %+v", r)
	}
}

func TestBadOptions(t *testing.T) {
	for _, c := range []struct{ yaml, want string }{
		{"discovery:\n  sources:\n    - plugin: json\n      name: j\n", "bad.yaml:3: discovery.sources[0].path: is empty; give the file to read"},
		{"discovery:\n  sources:\n    - plugin: json\n      pth: x.json\n",
			`bad.yaml:4: discovery.sources[0].pth: unknown key "pth" (check its spelling and indentation; known keys here: classify, classify_ttl, min_valid_ratio, name, path, plugin)`},
	} {
		_, err := config.Parse("bad.yaml", []byte(c.yaml), func(string) (string, bool) { return "", false }, discoverytest.Check)
		if err == nil || err.Error() != c.want {
			t.Errorf("%q:\n got %v\nwant %s", c.yaml, err, c.want)
		}
	}
}

// An endpoint that could never be polled is a row error naming its line.
func TestBadEndpoints(t *testing.T) {
	path := filepath.Join(t.TempDir(), "resources.json")
	if err := os.WriteFile(path, []byte(discoverytest.BadEndpointsJSON), 0o600); err != nil {
		t.Fatal(err)
	}
	src, err := discovery.Build("json", plugin.BlockOf(discovery.FileConfig{Path: path}), discovery.Deps{Name: "json"})
	if err != nil {
		t.Fatal(err)
	}
	discoverytest.CheckBadEndpoints(t, discoverytest.Discover(t, src), path)
}
