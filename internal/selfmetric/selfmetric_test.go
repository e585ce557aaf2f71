package selfmetric

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestRegisterShares(t *testing.T) {
	reg := prometheus.NewRegistry()
	opts := prometheus.CounterOpts{Name: "x_total", Help: "x"}
	a := Register(reg, prometheus.NewCounter(opts))
	b := Register(reg, prometheus.NewCounter(opts))
	if a != b {
		t.Fatal("a second registration must return the first collector")
	}
	if Register[prometheus.Counter](nil, a) != a {
		t.Fatal("nil registry must return the collector")
	}
	defer func() {
		if recover() == nil {
			t.Fatal("a conflicting registration must panic")
		}
	}()
	Register(reg, prometheus.NewGauge(prometheus.GaugeOpts{Name: "x_total", Help: "other"}))
}

// TestOneRegistrationStyle: outside this package, no code registers a
// collector directly (MustRegister panics when a second instance shares a
// registry; Register here shares the series instead). Tests may.
func TestOneRegistrationStyle(t *testing.T) {
	direct := regexp.MustCompile(`\.(MustRegister|Register)\(`)
	var bad []string
	for _, root := range []string{"../../internal", "../../cmd"} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") ||
				strings.Contains(filepath.ToSlash(path), "internal/selfmetric/") {
				return nil
			}
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for i, line := range strings.Split(string(src), "\n") {
				// Plugin registries (poll.Register, sink.Register, ...) are
				// called on a package, not a registerer.
				if m := direct.FindStringIndex(line); m != nil && registererCall(line[:m[0]]) {
					bad = append(bad, fmt.Sprintf("%s:%d: %s", path, i+1, strings.TrimSpace(line)))
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(bad) > 0 {
		t.Errorf("register self-metrics with selfmetric.Register:\n%s", strings.Join(bad, "\n"))
	}
}

// registererCall reports whether the expression before ".Register(" looks
// like a prometheus.Registerer (reg, Registerer, opts.Registerer, ...), not
// a plugin registry (a package-level `registry` of plugin.Registry).
func registererCall(before string) bool {
	i := strings.LastIndexAny(before, " \t(=,!{")
	recv := strings.ToLower(before[i+1:])
	return strings.Contains(recv, "reg") && recv != "registry"
}
