package rotate

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// resident is how many of the pages of path's [off, off+n) are in the page
// cache (mincore of a mapping, which faults nothing in).
func resident(t *testing.T, path string, off, n int64) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := unix.Mmap(int(f.Fd()), off, int(n), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	page := int64(os.Getpagesize())
	vec := make([]byte, (n+page-1)/page)
	_, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0])))
	if errno != 0 {
		t.Fatal(errno)
	}
	in := 0
	for _, v := range vec {
		in += int(v & 1)
	}
	return in
}

// TestDropsSyncedPagesBehind: once synced, all but the newest keepCached
// bytes of the file leave the page cache, and a rotated file leaves it
// whole; the lines read back are all there.
func TestDropsSyncedPagesBehind(t *testing.T) {
	dir := diskDir(t)
	path := filepath.Join(dir, "out.jsonl")
	const lineLen = 4095 // 4 KiB with its newline
	line := bytes.Repeat([]byte("x"), lineLen)
	batch := make([][]byte, 256) // 1 MiB
	for i := range batch {
		batch[i] = line
	}
	const size = keepCached + 3*dropStep
	r := New("sink t", path, size+1, 1, nil)
	defer r.Close()
	for range size >> 20 {
		if err := r.WriteLines(batch); err != nil {
			t.Fatal(err)
		}
	}
	page := int64(os.Getpagesize())
	dropped := int64(size-keepCached) &^ (dropStep - 1)
	if in := resident(t, path, 0, dropped); in > 0 {
		t.Errorf("%d of the %d pages synced before the newest %d MiB are still cached", in, dropped/page, keepCached>>20)
	}
	// The next batch rotates: the old file leaves the cache whole.
	if err := r.WriteLines(batch); err != nil {
		t.Fatal(err)
	}
	if in := resident(t, path+".1", 0, size); in > 0 {
		t.Errorf("%d of the %d pages of the rotated file are still cached", in, size/page)
	}
	for _, f := range []string{path + ".1", path} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]int{path + ".1": size / (lineLen + 1), path: len(batch)}[f]
		if n := bytes.Count(b, []byte("\n")); n != want || len(b) != want*(lineLen+1) {
			t.Errorf("%s: %d lines in %d bytes, want %d whole lines", f, n, len(b), want)
		}
	}
}

// diskDir is a temporary directory on a file system with a page cache to
// drop from: TMPDIR unless it is tmpfs (whose pages are the files), else
// /var/tmp. None found fails under CI=true rather than skipping.
func diskDir(t *testing.T) string {
	t.Helper()
	onTmpfs := func(dir string) bool {
		var fs unix.Statfs_t
		return unix.Statfs(dir, &fs) != nil || fs.Type == unix.TMPFS_MAGIC
	}
	if dir := t.TempDir(); !onTmpfs(dir) {
		return dir
	}
	if !onTmpfs("/var/tmp") {
		dir, err := os.MkdirTemp("/var/tmp", "rotate-drop-")
		if err == nil {
			t.Cleanup(func() { _ = os.RemoveAll(dir) })
			return dir
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no temporary directory off tmpfs (TMPDIR and /var/tmp are tmpfs): this test needs a page cache to drop from")
	}
	t.Skip("TMPDIR and /var/tmp are on tmpfs, whose pages are the files: nothing to drop")
	return ""
}
