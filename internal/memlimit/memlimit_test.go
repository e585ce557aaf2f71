package memlimit

import (
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"
)

func TestApply(t *testing.T) {
	prevLimit, prevGC := debug.SetMemoryLimit(-1), debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetMemoryLimit(prevLimit); debug.SetGCPercent(prevGC) })
	noEnv := func(string) (string, bool) { return "", false }

	cg := t.TempDir()
	if err := os.WriteFile(filepath.Join(cg, "memory.max"), []byte("1073741824\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	unlimited := t.TempDir()
	if err := os.WriteFile(filepath.Join(unlimited, "memory.max"), []byte("max\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		limit      int64
		auto       bool
		gc         int
		env        func(string) (string, bool)
		root       string
		wantLimit  int64
		wantSource string
		wantGC     int
	}{
		{"auto in a cgroup", 0, true, 0, noEnv, cg, 966367641, "cgroup", DefaultGCPercent},
		{"auto without a limit", 0, true, 0, noEnv, unlimited, math.MaxInt64, "none", DefaultGCPercent},
		{"auto without cgroup files", 0, true, 0, noEnv, t.TempDir(), math.MaxInt64, "none", DefaultGCPercent},
		{"off", 0, false, 50, noEnv, cg, math.MaxInt64, "none", 50},
		{"Go's own target by config", 0, false, 100, noEnv, cg, math.MaxInt64, "none", 100},
		{"a size", 512 << 20, false, 0, noEnv, cg, 512 << 20, "config", DefaultGCPercent},
		{"GOMEMLIMIT wins", 512 << 20, false, 80, func(k string) (string, bool) {
			return map[string]string{"GOMEMLIMIT": "300MiB", "GOGC": "70"}[k], k == "GOMEMLIMIT" || k == "GOGC"
		}, cg, math.MaxInt64, "GOMEMLIMIT", 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			debug.SetMemoryLimit(math.MaxInt64)
			debug.SetGCPercent(100)
			s := Apply(tc.limit, tc.auto, tc.gc, tc.env, tc.root)
			if s.Limit != tc.wantLimit || s.Source != tc.wantSource || s.GCPercent != tc.wantGC {
				t.Fatalf("got %+v, want limit %d from %s, GC %d", s, tc.wantLimit, tc.wantSource, tc.wantGC)
			}
			if got := debug.SetMemoryLimit(-1); got != tc.wantLimit {
				t.Errorf("runtime limit %d, want %d", got, tc.wantLimit)
			}
			if got := debug.SetGCPercent(-1); got != tc.wantGC {
				t.Errorf("runtime GC percent %d, want %d", got, tc.wantGC)
			}
			debug.SetGCPercent(100)
			if s.String() == "" {
				t.Error("empty description")
			}
		})
	}
}
