package sink

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/plugin"
)

func TestNewErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cfg   config.Sink
		field string
		want  string
	}{
		{"no name", config.Sink{Type: "file", Options: fileBlock("x")}, "name", "is empty"},
		{"unknown type", config.Sink{Name: "k", Type: "nosuch", Options: fileBlock("x")}, "type", `unknown sink type "nosuch" (registered: `},
		{"no path", config.Sink{Name: "f", Type: "file"}, "path", "is empty"},
		{"small size", config.Sink{Name: "f", Type: "file", Options: plugin.BlockOf(FileConfig{Path: "/tmp/x", MaxSize: 100})}, "max_size", "100 bytes is too small; give at least 1KiB"},
		{"negative files", config.Sink{Name: "f", Type: "file", Options: plugin.BlockOf(FileConfig{Path: "/tmp/x", MaxFiles: -2})}, "max_files", "-2 must be at least 1"},
		{"unknown key", config.Sink{Name: "f", Type: "file", Options: plugin.BlockOf(map[string]any{"path": "x", "max_sise": 1})}, "max_sise", `unknown key "max_sise"`},
		{"foreign subject", config.Sink{Name: "f", Type: "file", Options: fileBlock("x"), Subjects: []string{"a", "other.>"}}, "subjects[0]", `"a" is not a metrics subject`},
		{"batch size", config.Sink{Name: "f", Type: "file", Options: fileBlock("x"), BatchSize: -1}, "batch_size", "out of range"},
		{"batch timeout", config.Sink{Name: "f", Type: "file", Options: fileBlock("x"), BatchTimeout: -1}, "batch_timeout", "negative"},
		{"max backoff", config.Sink{Name: "f", Type: "file", Options: fileBlock("x"), MaxBackoff: -1}, "max_backoff", "negative"},
		{"empty source", config.Sink{Name: "f", Type: "file", Options: fileBlock("x"), Source: map[string]plugin.Block{}}, "source", "names no source"},
		{"two sources", config.Sink{Name: "f", Type: "file", Options: fileBlock("x"), Source: map[string]plugin.Block{"kafka": {}, "x": {}}}, "source", "names kafka and x; give one (kafka)"},
		{"unknown source", config.Sink{Name: "f", Type: "file", Options: fileBlock("x"), Source: map[string]plugin.Block{"x": {}}}, "source.x", `unknown sink source "x" (registered: kafka)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg, Deps{})
			// The consumer's own fields are field errors; the sink's
			// block gives located errors (no file for a block made in Go).
			var fe *plugin.FieldError
			var pe *plugin.Error
			switch {
			case errors.As(err, &fe):
				if fe.Field != tc.field || !strings.Contains(fe.Msg, tc.want) {
					t.Fatalf("New error = %v, want a field error on %s containing %q", err, tc.field, tc.want)
				}
			case errors.As(err, &pe):
				if pe.Key != tc.field || !strings.Contains(pe.Msg, tc.want) {
					t.Fatalf("New error = %v, want an error at %s containing %q", err, tc.field, tc.want)
				}
			default:
				t.Fatalf("New error = %v, want one about %s", err, tc.field)
			}
			if tc.cfg.Name != "" && !strings.HasPrefix(err.Error(), "sink "+tc.cfg.Name+": ") {
				t.Errorf("error %q does not name the sink", err)
			}
		})
	}
	c, err := New(config.Sink{Name: "f", Type: "file", Options: fileBlock(filepath.Join(t.TempDir(), "never", "out.jsonl"))}, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	f := c.Sink().(*File)
	if f.out.maxSize != DefaultFileMaxSize || f.out.maxFiles != DefaultFileMaxFiles {
		t.Errorf("defaults: max size %d, max files %d", f.out.maxSize, f.out.maxFiles)
	}
	if c.pace.Batch != DefaultBatchSize || c.pace.MaxWait != DefaultBatchTimeout || c.pace.BackoffMax != DefaultMaxBackoff {
		t.Errorf("pacing defaults: %+v", c.pace)
	}
	if _, err := os.Stat(filepath.Dir(f.out.path)); !os.IsNotExist(err) {
		t.Errorf("New touched the file system: %v", err)
	}
}

func TestDurableName(t *testing.T) {
	for in, want := range map[string]string{
		"file": "sink_file", "my.file sink": "sink_my_file_sink", "a*b>c": "sink_a_b_c", "x-y_z": "sink_x-y_z",
	} {
		if got := DurableName(in); got != want {
			t.Errorf("DurableName(%q) = %q, want %q", in, got, want)
		}
	}
}

func newRotating(t *testing.T, path string, maxSize int64, maxFiles int) *rotatingFile {
	t.Helper()
	return &rotatingFile{sink: "t", path: path, maxSize: maxSize, maxFiles: maxFiles,
		rotations: prometheus.NewCounter(prometheus.CounterOpts{Name: "r"})}
}

func numbered(from, to int) [][]byte {
	var out [][]byte
	for i := from; i < to; i++ {
		out = append(out, fmt.Appendf(nil, `{"n":%04d}`, i)) // 10 bytes, 11 with '\n'
	}
	return out
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) == 0 {
		return nil
	}
	if b[len(b)-1] != '\n' {
		t.Fatalf("%s does not end with a newline", path)
	}
	return strings.Split(string(b[:len(b)-1]), "\n")
}

func TestRotatingFileRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "out.jsonl")
	r := newRotating(t, path, 55, 2) // 5 lines per file
	for i := 0; i < 23; i += 4 {
		if err := r.writeLines(numbered(i, min(i+4, 23))); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.close(); err != nil {
		t.Fatal(err)
	}
	// 23 lines: files of 5 → the current holds 20..22, .1 15..19, .2 10..14; older ones dropped.
	for file, want := range map[string][]int{path: {20, 21, 22}, path + ".1": {15, 16, 17, 18, 19}, path + ".2": {10, 11, 12, 13, 14}} {
		got := readLines(t, file)
		if len(got) != len(want) {
			t.Errorf("%s has %d lines, want %d: %q", file, len(got), len(want), got)
			continue
		}
		for i, n := range want {
			if got[i] != fmt.Sprintf(`{"n":%04d}`, n) {
				t.Errorf("%s line %d = %s, want n %d", file, i, got[i], n)
			}
		}
	}
	if _, err := os.Stat(path + ".3"); !os.IsNotExist(err) {
		t.Errorf("%s.3 exists; max_files 2 keeps .1 and .2", path)
	}
}

// TestRotatingFileReopen appends to an existing file and ends a line cut
// short by a crash before appending.
func TestRotatingFileReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.jsonl")
	if err := os.WriteFile(path, []byte("{\"old\":1}\n{\"cut"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := newRotating(t, path, 1<<20, 1)
	if err := r.writeLines(numbered(0, 2)); err != nil {
		t.Fatal(err)
	}
	_ = r.close()
	got := readLines(t, path)
	want := []string{`{"old":1}`, `{"cut`, `{"n":0000}`, `{"n":0001}`}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("lines = %q, want %q", got, want)
	}
}

// TestRotatingFileMovedAway: when the path is moved (external rotation) or
// its directory replaced, the next batch goes to the path, not to the old file.
func TestRotatingFileMovedAway(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "d", "out.jsonl")
	r := newRotating(t, path, 1<<20, 1)
	defer r.close()
	if err := r.writeLines(numbered(0, 2)); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path, path+".moved"); err != nil {
		t.Fatal(err)
	}
	if err := r.writeLines(numbered(2, 3)); err != nil {
		t.Fatal(err)
	}
	if got := readLines(t, path); len(got) != 1 || got[0] != `{"n":0002}` {
		t.Errorf("after move, %s = %q", path, got)
	}

	// Directory replaced by a file: the write fails, and works once it is back.
	if err := os.RemoveAll(filepath.Dir(path)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Dir(path), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	err := r.writeLines(numbered(3, 4))
	if err == nil || !strings.Contains(err.Error(), "sink t: file "+path) {
		t.Fatalf("write into a missing directory: %v, want an error naming the sink and path", err)
	}
	_ = os.Remove(filepath.Dir(path))
	if err := r.writeLines(numbered(3, 4)); err != nil {
		t.Fatal(err)
	}
	if got := readLines(t, path); len(got) != 1 || got[0] != `{"n":0003}` {
		t.Errorf("after repair, %s = %q", path, got)
	}
}

// TestRotatingFileRollback: a failed batch leaves no partial lines behind.
func TestRotatingFileRollback(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.jsonl")
	r := newRotating(t, path, 1<<20, 1)
	defer r.close()
	if err := r.writeLines(numbered(0, 2)); err != nil {
		t.Fatal(err)
	}
	// Simulate a failure after part of a batch reached the file.
	if _, err := r.w.Write(bytes.Repeat([]byte("x"), 70<<10)); err != nil { // > buffer: hits the file
		t.Fatal(err)
	}
	r.written += 70 << 10
	r.rollback()
	if err := r.writeLines(numbered(2, 3)); err != nil {
		t.Fatal(err)
	}
	got := readLines(t, path)
	if len(got) != 3 || got[2] != `{"n":0002}` {
		t.Errorf("after rollback lines = %d, last %q", len(got), got[len(got)-1])
	}
}
