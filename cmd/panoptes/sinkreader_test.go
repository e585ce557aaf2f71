package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/resource"
	filesink "github.com/panoptes-go/panoptes/internal/sink/file"
	"github.com/panoptes-go/panoptes/internal/sink/file/rotate"
)

// testLine is the JSON line of a status group created at i.
func testLine(i int) []byte {
	return metric.AppendJSON(nil, &metric.Group{
		Resource: &resource.Resource{Site: "lab", Class: "network", Subclass: "l2", Type: "switch", ID: "sw1", Endpoint: "sw1"},
		Type:     "status", Interval: 1, CreationTimestamp: float64(i), SchemaVersion: metric.SchemaVersion,
		Metrics: []metric.Metric{{Name: "polling_status", Value: metric.Int(0), Type: metric.Gauge, Timestamp: float64(i)}},
	})
}

// TestSinkReader follows a file the file sink's rotation engine writes
// and rotates (every ~10 lines, up to its default max_files), reading
// between batches, and mid-line: each read returns every line written so
// far, once and in order, as a fresh readGroups does; and a follower that
// falls behind by more than max_files rotations fails rather than report
// the lines it lost.
func TestSinkReader(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.jsonl")
	lineLen := int64(len(testLine(1000)) + 1)
	w := rotate.New("sink t", path, 10*lineLen, filesink.DefaultMaxFiles, nil)
	defer w.Close()
	r := newSinkReader(t, path)
	check := func(n int, what string) {
		t.Helper()
		groups, lines := r.read(t)
		var got []int
		for _, g := range groups {
			got = append(got, int(g.CreationTimestamp))
		}
		if want := seq(n); !slices.Equal(got, want) {
			t.Fatalf("%s: read %v, want %v", what, got, want)
		}
		if fresh, _ := readGroups(t, path); len(fresh) != n && n < 40 { // a fresh read sees max_files at 40 lines
			t.Fatalf("%s: a fresh read has %d groups, the follower %d", what, len(fresh), n)
		}
		for i, l := range lines {
			if l != string(testLine(1000+i)) {
				t.Fatalf("%s: line %d is %q", what, i, l)
			}
		}
	}
	check(0, "no file yet")
	n := 0
	write := func(k int) {
		t.Helper()
		var batch [][]byte
		for range k {
			batch = append(batch, testLine(1000+n))
			n++
		}
		if err := w.WriteLines(batch); err != nil {
			t.Fatal(err)
		}
	}
	write(3)
	check(3, "first batch")
	check(3, "no change")
	write(9) // rotates once
	check(12, "over a rotation")
	write(25) // rotates twice more
	check(37, "over two rotations")

	// A cut line at the end is read once whole.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	line := append(testLine(1000+n), '\n')
	if _, err := f.Write(line[:len(line)/2]); err != nil {
		t.Fatal(err)
	}
	check(37, "a cut line")
	if _, err := f.Write(line[len(line)/2:]); err != nil {
		t.Fatal(err)
	}
	f.Close()
	n++
	check(38, "the line completed")
	// A batch cut off the file again (the sink's rollback): read anew.
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, st.Size()-lineLen); err != nil {
		t.Fatal(err)
	}
	n--
	check(37, "the last line cut off again")
	write(1)
	check(38, "written again")

	// Six rotations between two reads: the file followed is deleted.
	write(60)
	ft := &fatalTB{TB: t}
	func() {
		defer func() { _ = recover() }()
		r.read(ft)
	}()
	if ft.failed == "" {
		t.Errorf("a read after its file was rotated away did not fail the test")
	}
	t.Logf("the read failed: %s", ft.failed)
}

// fatalTB records a fatal failure instead of failing the test (and stops
// the caller by a panic).
type fatalTB struct {
	testing.TB
	failed string
}

func (f *fatalTB) Fatalf(format string, a ...any) {
	f.failed = fmt.Sprintf(format, a...)
	panic(f.failed)
}

func (f *fatalTB) Fatal(a ...any) {
	f.failed = fmt.Sprint(a...)
	panic(f.failed)
}

// seq is 1000, 1001, … n of them.
func seq(n int) []int {
	out := []int{}
	for i := range n {
		out = append(out, 1000+i)
	}
	return out
}

// TestSinkReaderAllowCut: a reader allowed one cut line (a test that kills
// the sink's process) skips the first line that does not decode, which
// the restarted sink ended with a newline, and fails on a second one.
func TestSinkReaderAllowCut(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.jsonl")
	var data []byte
	data = append(append(data, testLine(1000)...), '\n')
	cut := testLine(1001)
	data = append(append(data, cut[:len(cut)/2]...), '\n') // the kill's cut line, ended on restart
	data = append(append(data, testLine(1001)...), '\n')   // written again after the restart
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	r := newSinkReader(t, path)
	r.allowCut = 1
	if groups, _ := r.read(t); len(groups) != 2 || groups[1].CreationTimestamp != 1001 || len(r.cut) != 1 {
		t.Fatalf("read %d groups, %d cut (%v); want 2 and the one cut line skipped", len(groups), len(r.cut), r.cut)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(append(cut[:len(cut)/3:len(cut)/3], '\n')); err != nil {
		t.Fatal(err)
	}
	f.Close()
	ft := &fatalTB{TB: t}
	func() {
		defer func() { _ = recover() }()
		r.read(ft)
	}()
	if ft.failed == "" {
		t.Errorf("a second line that does not decode did not fail the test")
	}
}
