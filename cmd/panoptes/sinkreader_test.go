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
	if failed := fatalOf(t, func(tb testing.TB) { r.read(tb) }); failed == "" {
		t.Errorf("a read after its file was rotated away did not fail the test")
	} else {
		t.Logf("the read failed: %s", failed)
	}
}

// fatalOf runs f with a testing.TB whose Fatal and Fatalf record the
// failure and stop f instead of failing t; it returns the failure ("" if
// none).
func fatalOf(t testing.TB, f func(testing.TB)) (failed string) {
	ft := &fatalTB{TB: t}
	defer func() {
		if v := recover(); v != nil && v != fatalStop {
			panic(v)
		}
		failed = ft.failed
	}()
	f(ft)
	return ""
}

// fatalTB records a fatal failure instead of failing the test, and stops
// the caller by a panic (fatalStop) that fatalOf recovers.
type fatalTB struct {
	testing.TB
	failed string
}

// fatalStop is fatalTB's panic value.
var fatalStop = new(int)

func (f *fatalTB) Fatalf(format string, a ...any) {
	f.failed = fmt.Sprintf(format, a...)
	panic(fatalStop)
}

func (f *fatalTB) Fatal(a ...any) {
	f.failed = fmt.Sprint(a...)
	panic(fatalStop)
}

// seq is 1000, 1001, … n of them.
func seq(n int) []int {
	out := []int{}
	for i := range n {
		out = append(out, 1000+i)
	}
	return out
}

// TestSinkReaderAllowCut: a reader skips a line that does not decode only
// when a kill of the sink's process cut it: the line that reaches the size
// the file had at the kill (sinkReader.killed), ended by the newline the
// restarted sink writes at that size, also once that file is rotated. A
// line that does not decode anywhere else fails the test: before the kill
// point, after it, or with no kill at all.
func TestSinkReaderAllowCut(t *testing.T) {
	line := func(i int) []byte { return append(testLine(i), '\n') }
	cut := testLine(1001)
	cut = cut[: len(cut)/2 : len(cut)/2]
	bad := append(slices.Clip(cut), '\n') // a line that does not decode
	appendTo := func(path string, parts ...[]byte) {
		t.Helper()
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		for _, p := range parts {
			if _, err := f.Write(p); err != nil {
				t.Fatal(err)
			}
		}
	}
	timestamps := func(groups []*metric.Group) (out []int) {
		for _, g := range groups {
			out = append(out, int(g.CreationTimestamp))
		}
		return out
	}

	// Killed while writing 1001: the restart ends the cut line and writes
	// 1001 again, then more.
	path := filepath.Join(t.TempDir(), "out.jsonl")
	appendTo(path, line(1000), cut)
	r := newSinkReader(t, path)
	r.killed(t)
	if groups, _ := r.read(t); len(groups) != 1 || len(r.cut) != 0 {
		t.Fatalf("before the restart: %d groups, %v cut; want 1000 and the cut line left for later", len(groups), r.cut)
	}
	appendTo(path, []byte("\n"), line(1001), line(1002))
	if groups, _ := r.read(t); !slices.Equal(timestamps(groups), []int{1000, 1001, 1002}) || len(r.cut) != 1 {
		t.Fatalf("read %v, %d cut (%v); want 1000-1002 and the cut line skipped", timestamps(groups), len(r.cut), r.cut)
	}
	// A fresh reader with the kill mark, after the killed file was rotated.
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	appendTo(path, line(1003))
	fresh := &sinkReader{path: path, kills: r.kills}
	defer fresh.close()
	if groups, _ := fresh.read(t); !slices.Equal(timestamps(groups), []int{1000, 1001, 1002, 1003}) || len(fresh.cut) != 1 {
		t.Fatalf("over the rotation: read %v, %d cut; want 1000-1003 and the cut line skipped", timestamps(groups), len(fresh.cut))
	}
	// A line that does not decode after the kill point fails.
	appendTo(path, bad)
	if failed := fatalOf(t, func(tb testing.TB) { r.read(tb) }); failed == "" {
		t.Errorf("a line that does not decode after the kill point did not fail the test")
	}

	for _, c := range []struct {
		what  string
		parts [][]byte // before the kill (marked when kill), then after it
		kill  bool
	}{
		// The old allowance (one bad line anywhere) passed these.
		{"a bad line before the kill point", [][]byte{line(1000), bad, line(1001), nil, line(1002)}, true},
		{"a bad line, no kill", [][]byte{line(1000), bad, line(1001)}, false},
		// Ends at the kill point but was whole then: not cut by the kill.
		{"a bad line ended before the kill", [][]byte{line(1000), bad, nil, line(1001)}, true},
		// In the killed file itself, after the restarted sink's newline.
		{"a bad line after the kill point, same file", [][]byte{line(1000), cut, nil, []byte("\n"), line(1001), bad, line(1002)}, true},
	} {
		path := filepath.Join(t.TempDir(), "out.jsonl")
		r := newSinkReader(t, path)
		for _, p := range c.parts {
			if p == nil {
				r.killed(t)
				continue
			}
			appendTo(path, p)
		}
		if !c.kill {
			r.kills = nil
		}
		if failed := fatalOf(t, func(tb testing.TB) { r.read(tb) }); failed == "" {
			t.Errorf("%s did not fail the test (cut %v)", c.what, r.cut)
		} else {
			t.Logf("%s: %s", c.what, failed)
		}
	}
}
