// Package version is the one source of the binary's version: `panoptes
// version` and `--version`, the member record `panoptes status` prints,
// the self-metric panoptes_build_info and the status page all read it.
//
// Release builds stamp it with the linker (make build, make release):
//
//	-X github.com/panoptes-go/panoptes/internal/version.Version=v1.2.3
//	-X github.com/panoptes-go/panoptes/internal/version.Commit=<sha>
//	-X github.com/panoptes-go/panoptes/internal/version.Date=<RFC 3339>
//
// A binary built without them (go run, go install, go build) falls back to
// what the Go toolchain recorded: the module version (a tag, or a
// pseudo-version from the VCS) and the vcs.revision and vcs.time settings.
package version

import (
	"fmt"
	"runtime/debug"
	"sync"
)

// Set by -ldflags -X; empty means "ask the build info".
var (
	Version string
	Commit  string
	Date    string
)

// Info describes this binary.
type Info struct {
	Version   string // v1.2.3, a Go pseudo-version, or "dev"
	Commit    string // the VCS revision, "unknown" when not recorded
	Date      string // commit or build time, RFC 3339; "unknown" when not recorded
	GoVersion string // the toolchain that built it
}

// String is the one line `panoptes version` prints.
func (i Info) String() string {
	return fmt.Sprintf("panoptes %s (commit %s, built %s, %s)", i.Version, i.Commit, i.Date, i.GoVersion)
}

var get = sync.OnceValue(func() Info {
	bi, _ := debug.ReadBuildInfo()
	return resolve(Version, Commit, Date, bi)
})

// Get returns this binary's version information.
func Get() Info { return get() }

// resolve prefers the linker-stamped values, then the build info, then
// placeholders, field by field.
func resolve(version, commit, date string, bi *debug.BuildInfo) Info {
	i := Info{Version: version, Commit: commit, Date: date, GoVersion: "unknown"}
	var revision, vcsTime string
	modified := false
	if bi != nil {
		i.GoVersion = bi.GoVersion
		if i.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			i.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				revision = s.Value
			case "vcs.time":
				vcsTime = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	if i.Commit == "" && revision != "" {
		i.Commit = revision
		if modified {
			i.Commit += "-dirty"
		}
	}
	if i.Date == "" {
		i.Date = vcsTime
	}
	if i.Version == "" {
		i.Version = "dev"
	}
	if i.Commit == "" {
		i.Commit = "unknown"
	}
	if i.Date == "" {
		i.Date = "unknown"
	}
	return i
}
