package rotate

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func newRotating(t *testing.T, path string, maxSize int64, maxFiles int) *File {
	t.Helper()
	return New("sink t", path, maxSize, maxFiles, nil)
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
	rotations := 0
	r := New("sink t", path, 55, 2, func() { rotations++ }) // 5 lines per file
	for i := 0; i < 23; i += 4 {
		if err := r.WriteLines(numbered(i, min(i+4, 23))); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Close(); err != nil {
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
	if rotations != 4 {
		t.Errorf("onRotate called %d times, want 4", rotations)
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
	if err := r.WriteLines(numbered(0, 2)); err != nil {
		t.Fatal(err)
	}
	_ = r.Close()
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
	defer r.Close()
	if err := r.WriteLines(numbered(0, 2)); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path, path+".moved"); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteLines(numbered(2, 3)); err != nil {
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
	err := r.WriteLines(numbered(3, 4))
	if err == nil || !strings.Contains(err.Error(), "sink t: file "+path) {
		t.Fatalf("write into a missing directory: %v, want an error naming the sink and path", err)
	}
	_ = os.Remove(filepath.Dir(path))
	if err := r.WriteLines(numbered(3, 4)); err != nil {
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
	defer r.Close()
	if err := r.WriteLines(numbered(0, 2)); err != nil {
		t.Fatal(err)
	}
	// Simulate a failure after part of a batch reached the file.
	part := r.bufferSize + 6<<10
	if _, err := r.w.Write(bytes.Repeat([]byte("x"), part)); err != nil { // > buffer: hits the file
		t.Fatal(err)
	}
	r.written += int64(part)
	r.rollback()
	if err := r.WriteLines(numbered(2, 3)); err != nil {
		t.Fatal(err)
	}
	got := readLines(t, path)
	if len(got) != 3 || got[2] != `{"n":0002}` {
		t.Errorf("after rollback lines = %d, last %q", len(got), got[len(got)-1])
	}
}
