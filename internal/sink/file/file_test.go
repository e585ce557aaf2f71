package file

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/sink"
	"github.com/panoptes-go/panoptes/internal/sink/sinktest"
)

func noEnv(string) (string, bool) { return "", false }

// The sample loads through the real loader; its path is next to it.
func TestSample(t *testing.T) {
	sample, err := filepath.Abs("sample.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, sinks := sinktest.LoadSample(t, sample, noEnv)
	f := sinks["metrics"].(*File)
	if want := filepath.Join(filepath.Dir(sample), "out", "metrics.jsonl"); f.path != want || f.maxSize != 10<<20 || f.maxFiles != 3 {
		t.Errorf("file sink = %s, %d, %d; want %s, 10MiB, 3", f.path, f.maxSize, f.maxFiles, want)
	}
}

func TestDefaultsAndNoSideEffects(t *testing.T) {
	path := filepath.Join(t.TempDir(), "never", "out.jsonl")
	f, err := New(Config{Path: path}, sink.Deps{Name: "f"})
	if err != nil {
		t.Fatal(err)
	}
	if f.maxSize != DefaultMaxSize || f.maxFiles != DefaultMaxFiles {
		t.Errorf("defaults: max size %d, max files %d", f.maxSize, f.maxFiles)
	}
	if _, err := os.Stat(filepath.Dir(path)); !os.IsNotExist(err) {
		t.Errorf("New touched the file system: %v", err)
	}
	if err := f.Write(context.Background(), []sink.Record{{Data: []byte(`{"a":1}`)}, {Data: []byte(`{"b":2}`)}}); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "{\"a\":1}\n{\"b\":2}\n" {
		t.Errorf("file = %q, %v; want each record's data as a line", b, err)
	}
}

// The sink's bad-config fixtures: file, line, key, reason, all at once.
func TestBadConfig(t *testing.T) {
	for _, c := range []struct{ yaml, want string }{
		{"sinks:\n  - type: file\n", "bad.yaml:2: sinks[0].path: is empty; give the JSON lines file to write"},
		{"sinks:\n  - type: file\n    path: x\n    max_size: 100\n    max_files: -1\n",
			"bad.yaml:4: sinks[0].max_size: 100 bytes is too small; give at least 1KiB\nbad.yaml:5: sinks[0].max_files: -1 must be at least 1"},
		{"sinks:\n  - type: file\n    path: x\n    max_sise: 1MiB\n",
			`bad.yaml:4: sinks[0].max_sise: unknown key "max_sise" (check its spelling and indentation; known keys here: batch_size, batch_timeout, max_backoff, max_files, max_size, name, path, source, subjects, type)`},
		{"sinks:\n  - type: file\n    path: x\n    max_size: lots\n", `bad.yaml:4: sinks[0].max_size: "lots" is not a size`},
	} {
		_, err := config.Parse("bad.yaml", []byte(c.yaml), noEnv, sinktest.Check)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%q:\n got %v\nwant %s", c.yaml, err, c.want)
		}
	}
}
