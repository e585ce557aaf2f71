// Package rotate is the file sink's engine: a file of lines appended in
// batches, each flushed and fsynced whole or cut off the file again, and
// rotated by size. It knows nothing of sinks, so the sink consumer's own
// tests can write through it.
package rotate

import (
	"bufio"
	"errors"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"strconv"
)

// New returns the rotating file at path; nothing is opened until the first
// batch. label names its owner in errors ("sink metrics"); onRotate, when
// not nil, is called after each rotation.
func New(label, path string, maxSize int64, maxFiles int, onRotate func()) *File {
	return &File{
		label: label, path: path, maxSize: maxSize, maxFiles: maxFiles, onRotate: onRotate,
		bufferSize: bufferSize, keepCached: keepCached,
	}
}

// bufferSize is the buffered writer's: one write(2) per MiB. Each write of
// an appended file also updates its inode (size, mtime); at 64 KiB a write
// that cost 0.45-0.55 ns of system time per byte on ext4, at 1 MiB
// 0.26-0.36 (BENCHMARKS.md, "The file sink's cost per byte").
const bufferSize = 1 << 20

// keepCached is how much of the newest synced data stays in the page
// cache for readers that follow the file; older synced pages are dropped
// in steps of at least dropStep. Left cached, every byte written takes a
// new page until memory runs short: in a VM whose free memory is handed
// back to the host (virtio-balloon free page reporting), each such page
// faults in the host on first touch, and writing cost 2.2 ns of system
// time per byte instead of 0.5-0.6 with the pages recycled. It also keeps
// the sink's output from pushing the bus's store out of the cache, and
// makes deleting a rotated file cheap (no cached pages to free then).
const (
	keepCached = 16 << 20
	dropStep   = 4 << 20
)

// File appends lines to path and keeps maxFiles rotated files (path.1
// newest .. path.<maxFiles> oldest). Each batch (WriteAll) is flushed and
// fsynced before it returns; a failed one is cut off the file again. It is
// used by one goroutine at a time.
type File struct {
	label    string // names the file's owner in errors ("sink x")
	path     string
	maxSize  int64
	maxFiles int
	onRotate func() // called after each rotation; may be nil
	// bufferSize and keepCached are the constants, or a test's (keepCached
	// < 0: never drop pages).
	bufferSize int
	keepCached int64

	f         *os.File
	info      os.FileInfo // of f, to notice the path now names another file
	w         *bufio.Writer
	committed int64 // synced bytes in f
	written   int64 // committed + bytes of the batch being written
	uncached  int64 // pages of f before this offset were dropped from the page cache
}

func (r *File) errorf(format string, a ...any) error {
	return fmt.Errorf("%s: file %s: %s", r.label, r.path, fmt.Errorf(format, a...))
}

// WriteLines appends every line plus '\n', then flushes and fsyncs.
func (r *File) WriteLines(lines [][]byte) error { return r.WriteAll(slices.Values(lines)) }

// WriteAll appends every line plus '\n' as it comes, then flushes and
// fsyncs; on an error the batch is rolled back. The file is opened at the
// first line: no lines, no file.
func (r *File) WriteAll(lines iter.Seq[[]byte]) error {
	opened := false
	for line := range lines {
		if !opened {
			if err := r.open(); err != nil {
				return err
			}
			opened = true
		}
		if err := r.appendLine(line); err != nil {
			r.rollback()
			return err
		}
	}
	if !opened {
		return nil
	}
	if err := r.sync(); err != nil {
		r.rollback()
		return err
	}
	return nil
}

// appendLine writes line plus '\n' to the buffer, rotating first when the
// file would outgrow maxSize.
func (r *File) appendLine(line []byte) error {
	n := int64(len(line)) + 1
	if r.written > 0 && r.written+n > r.maxSize {
		if err := r.rotate(); err != nil {
			return err
		}
	}
	// Flush whole lines only: a batch now streams in over its messages'
	// decompression, and a reader of the file should not meet a cut line
	// meanwhile (unless one line outgrows the buffer).
	if r.w.Buffered() > 0 && r.w.Available() < len(line)+1 {
		if err := r.w.Flush(); err != nil {
			return r.errorf("write: %w", err)
		}
	}
	if _, err := r.w.Write(line); err != nil {
		return r.errorf("write: %w", err)
	}
	if err := r.w.WriteByte('\n'); err != nil {
		return r.errorf("write: %w", err)
	}
	r.written += n
	return nil
}

// open opens path for appending unless the open file is still the one path
// names (it may have been moved or deleted under us).
func (r *File) open() error {
	if r.f != nil {
		if st, err := os.Stat(r.path); err == nil && os.SameFile(st, r.info) {
			return nil
		}
		_ = r.f.Close()
		r.f = nil
	}
	if err := os.MkdirAll(filepath.Dir(r.path), 0o755); err != nil {
		return r.errorf("create directory: %w", err)
	}
	f, err := os.OpenFile(r.path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return r.errorf("open: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return r.errorf("stat: %w", err)
	}
	size := st.Size()
	if size > 0 && !endsWithNewline(f, size) {
		// A line cut short by a crash: end it so the next line stands alone.
		if _, err := f.Write([]byte{'\n'}); err != nil {
			_ = f.Close()
			return r.errorf("write: %w", err)
		}
		size++
	}
	r.f, r.info, r.committed, r.written, r.uncached = f, st, size, size, 0
	if r.w == nil {
		r.w = bufio.NewWriterSize(f, r.bufferSize)
	} else {
		r.w.Reset(f)
	}
	return nil
}

func endsWithNewline(f *os.File, size int64) bool {
	var b [1]byte
	_, err := f.ReadAt(b[:], size-1)
	return err != nil || b[0] == '\n' // unreadable: assume whole lines
}

// sync flushes the buffer and fsyncs: what is written is now committed.
func (r *File) sync() error {
	if err := r.w.Flush(); err != nil {
		return r.errorf("write: %w", err)
	}
	if err := r.f.Sync(); err != nil {
		return r.errorf("fsync: %w", err)
	}
	r.committed = r.written
	r.dropBehind(r.keepCached)
	return nil
}

// dropBehind drops the synced pages of f older than its last keep bytes
// from the page cache, once there are dropStep of them (keep 0: all of
// them). Only synced pages: they are on disk, and dropping them loses
// nothing. It is advice: on an error, or where there is none (not Linux,
// tmpfs), the pages simply stay.
func (r *File) dropBehind(keep int64) {
	if keep < 0 {
		return
	}
	end := r.committed - keep
	if keep > 0 {
		end &^= dropStep - 1
	}
	if end <= r.uncached || keep > 0 && end-r.uncached < dropStep {
		return
	}
	dropPages(r.f, r.uncached, end-r.uncached)
	r.uncached = end
}

// rollback drops the uncommitted part of a batch so a retry does not leave
// partial or duplicate lines; if the file cannot be cut, it is reopened.
func (r *File) rollback() {
	if r.f == nil {
		return
	}
	r.w.Reset(r.f) // discard what is buffered
	if err := r.f.Truncate(r.committed); err != nil {
		_ = r.f.Close()
		r.f = nil
		return
	}
	r.written = r.committed
}

// rotate commits the current file, shifts path.N → path.N+1 (dropping the
// oldest) and path → path.1, and opens a new path.
func (r *File) rotate() error {
	if err := r.sync(); err != nil {
		return err
	}
	r.dropBehind(0) // a rotated file is read seldom, and dropped unread one day
	if err := r.f.Close(); err != nil {
		r.f = nil
		return r.errorf("close: %w", err)
	}
	r.f = nil
	for i := r.maxFiles - 1; i >= 1; i-- {
		err := os.Rename(r.rotated(i), r.rotated(i+1))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return r.errorf("rotate: %w", err)
		}
	}
	if err := os.Rename(r.path, r.rotated(1)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return r.errorf("rotate: %w", err)
	}
	syncDir(filepath.Dir(r.path))
	if r.onRotate != nil {
		r.onRotate()
	}
	return r.open()
}

func (r *File) rotated(i int) string { return r.path + "." + strconv.Itoa(i) }

// syncDir makes renames in dir durable (best effort).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}

// Close flushes and closes the file; the next batch opens it again.
func (r *File) Close() error {
	if r.f == nil {
		return nil
	}
	err := r.sync()
	if cerr := r.f.Close(); cerr != nil && err == nil {
		err = r.errorf("close: %w", cerr)
	}
	r.f = nil
	return err
}
