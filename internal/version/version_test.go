package version

import (
	"runtime/debug"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestResolve(t *testing.T) {
	vcs := &debug.BuildInfo{
		GoVersion: "go1.26.8",
		Main:      debug.Module{Path: "github.com/panoptes-go/panoptes", Version: "v0.0.0-20251206174700-3d6e350abcde+dirty"},
		Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "3d6e350abcdef0123456789abcdef0123456789a"},
			{Key: "vcs.time", Value: "2025-12-06T17:47:00Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	for _, tc := range []struct {
		name                  string
		version, commit, date string
		bi                    *debug.BuildInfo
		want                  Info
	}{
		{"stamped wins", "v1.2.3", "abc", "2026-01-02T03:04:05Z", vcs,
			Info{"v1.2.3", "abc", "2026-01-02T03:04:05Z", "go1.26.8"}},
		{"go build in a checkout", "", "", "", vcs,
			Info{"v0.0.0-20251206174700-3d6e350abcde+dirty", "3d6e350abcdef0123456789abcdef0123456789a-dirty", "2025-12-06T17:47:00Z", "go1.26.8"}},
		{"go install of a tag", "", "", "", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.4.0"}},
			Info{"v1.4.0", "unknown", "unknown", "go1.26.8"}},
		{"go run, no VCS", "", "", "", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}},
			Info{"dev", "unknown", "unknown", "go1.26.8"}},
		{"no build info", "", "", "", nil, Info{"dev", "unknown", "unknown", "unknown"}},
		{"only the version stamped", "v2.0.0", "", "", vcs,
			Info{"v2.0.0", "3d6e350abcdef0123456789abcdef0123456789a-dirty", "2025-12-06T17:47:00Z", "go1.26.8"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := resolve(tc.version, tc.commit, tc.date, tc.bi); got != tc.want {
				t.Errorf("resolve = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestString(t *testing.T) {
	got := Info{"v1.2.3", "abc", "2026-01-02T03:04:05Z", "go1.26.8"}.String()
	if want := "panoptes v1.2.3 (commit abc, built 2026-01-02T03:04:05Z, go1.26.8)"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
}

func TestBuildInfoMetric(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewCollector())
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(mfs) != 1 || mfs[0].GetName() != "panoptes_build_info" || len(mfs[0].Metric) != 1 {
		t.Fatalf("gathered %v, want one panoptes_build_info sample", mfs)
	}
	m := mfs[0].Metric[0]
	if m.GetGauge().GetValue() != 1 {
		t.Errorf("value %v, want 1", m.GetGauge().GetValue())
	}
	labels := map[string]string{}
	for _, l := range m.Label {
		labels[l.GetName()] = l.GetValue()
	}
	i := Get()
	want := map[string]string{"version": i.Version, "commit": i.Commit, "date": i.Date, "goversion": i.GoVersion}
	for k, v := range want {
		if labels[k] != v {
			t.Errorf("label %s = %q, want %q (labels %v)", k, labels[k], v, labels)
		}
	}
	if !strings.HasPrefix(labels["goversion"], "go") {
		t.Errorf("goversion %q does not name a Go toolchain", labels["goversion"])
	}
}
