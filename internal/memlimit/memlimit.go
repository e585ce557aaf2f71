// Package memlimit sets the Go runtime's soft memory limit and GC target
// from the config (runtime.memory_limit, runtime.gc_percent), unless the
// environment's GOMEMLIMIT or GOGC already did.
//
// Why a limit: the embedded JetStream server keeps recently written blocks
// in caches the GC may reclaim; a soft limit lets the GC reclaim them before
// the process outgrows its container, instead of being killed. It must sit
// well above the live heap: measured at 2,000 devices, a limit under the
// live heap made the GC run constantly (3.5× the CPU, checks missed).
package memlimit

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/panoptes-go/panoptes/internal/config"
)

// AutoFraction of the cgroup's memory.max is the limit "auto" sets.
const AutoFraction = 0.9

// DefaultGCPercent is the GC target when neither GOGC nor the config sets
// one. Below Go's 100 because RSS follows the heap goal. Measured on a
// quiet machine at 10,000 devices (BENCHMARKS.md, issue 15): once a poll
// allocated 28 % fewer bytes (2026-12-07), 50 took the CPU 80 took before
// (1.00x) for 17 % less RSS; 40 cost 8 % more CPU for no less RSS.
const DefaultGCPercent = 50

// Setting is what Apply decided, for the start-up log.
type Setting struct {
	Limit     int64  // bytes; math.MaxInt64 when none
	Source    string // "GOMEMLIMIT", "config", "cgroup", "none"
	GCPercent int
	GCSource  string // "GOGC", "config", "default"
}

// Apply sets the limit and GC target: with auto, AutoFraction of the
// cgroup v2 memory.max under cgroupRoot when one is set (none otherwise);
// else limit bytes (0: none). gcPercent 0 is DefaultGCPercent.
func Apply(limit int64, auto bool, gcPercent int, getenv func(string) (string, bool), cgroupRoot string) Setting {
	s := Setting{Limit: math.MaxInt64, Source: "none", GCPercent: DefaultGCPercent, GCSource: "default"}
	if v, ok := getenv("GOMEMLIMIT"); ok && v != "" {
		s.Limit, s.Source = debug.SetMemoryLimit(-1), "GOMEMLIMIT" // the runtime read it at start
	} else {
		if auto {
			if max, ok := CgroupMax(cgroupRoot); ok {
				limit = int64(float64(max) * AutoFraction)
				s.Source = "cgroup"
			}
		} else if limit > 0 {
			s.Source = "config"
		}
		if limit > 0 {
			s.Limit = limit
			debug.SetMemoryLimit(limit)
		}
	}
	if v, ok := getenv("GOGC"); ok && v != "" {
		s.GCPercent, s.GCSource = debug.SetGCPercent(100), "GOGC"
		debug.SetGCPercent(s.GCPercent) // read back: SetGCPercent returns the previous value
	} else {
		if gcPercent > 0 {
			s.GCPercent, s.GCSource = gcPercent, "config"
		}
		debug.SetGCPercent(s.GCPercent)
	}
	return s
}

// FromConfig applies the config's runtime keys as a node process does:
// the environment wins, the cgroup is read under /sys/fs/cgroup.
func FromConfig(rc config.Runtime) Setting {
	limit, auto := rc.MemoryLimitBytes()
	return Apply(limit, auto, rc.GCPercent, os.LookupEnv, "/sys/fs/cgroup")
}

// CgroupMax reads this process's cgroup v2 memory.max under root
// (normally /sys/fs/cgroup); ok is false when there is none or it is "max".
func CgroupMax(root string) (int64, bool) {
	group := "/"
	if b, err := os.ReadFile("/proc/self/cgroup"); err == nil {
		// cgroup v2: one line "0::/path"
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if p, ok := strings.CutPrefix(line, "0::"); ok {
				group = p
			}
		}
	}
	b, err := os.ReadFile(filepath.Join(root, group, "memory.max"))
	if err != nil {
		b, err = os.ReadFile(filepath.Join(root, "memory.max"))
		if err != nil {
			return 0, false
		}
	}
	v := strings.TrimSpace(string(b))
	if v == "max" {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return 0, false
	}
	return n, true
}

// String is the setting as a person reads it.
func (s Setting) String() string {
	lim := "none"
	if s.Limit != math.MaxInt64 {
		lim = fmt.Sprintf("%d MiB", s.Limit>>20)
	}
	return fmt.Sprintf("memory limit %s (%s), GC target %d%% (%s)", lim, s.Source, s.GCPercent, s.GCSource)
}
