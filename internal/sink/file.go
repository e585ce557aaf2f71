package sink

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/panoptes-go/panoptes/internal/plugin"
)

// File sink defaults for config fields left zero.
const (
	DefaultFileMaxSize  = 100 << 20
	DefaultFileMaxFiles = 5
)

func init() { Register("file", newFile) }

// FileConfig is the file sink's block: the keys of its sinks entry besides
// the consumer's.
type FileConfig struct {
	Path     string          `yaml:"path"`      // the JSON lines file, relative to the config file
	MaxSize  plugin.ByteSize `yaml:"max_size"`  // rotate past this size (default 100MiB)
	MaxFiles int             `yaml:"max_files"` // rotated files kept (default 5)
}

func newFile(options plugin.Block, deps Deps) (Sink, error) {
	var c FileConfig
	if err := options.Decode(&c); err != nil {
		return nil, err
	}
	if strings.TrimSpace(c.Path) != "" {
		c.Path = options.Abs(c.Path)
	}
	return NewFile(c, deps)
}

// File is a sink that appends every metrics group to a file as one JSON line
// (the bus message bytes, which are already Panoptes JSON), rotating it by
// size. Each batch is flushed and fsynced before Write returns, so an acked
// message is on disk. It is a RawWriter: it never needs a decoded group.
type File struct {
	out *rotatingFile
}

var (
	_ Sink      = (*File)(nil)
	_ RawWriter = (*File)(nil)
	_ Closer    = (*File)(nil)
)

// NewFile checks c and returns the file sink named deps.Name; it touches
// no file until the first Write. Zero sizes take the defaults.
func NewFile(c FileConfig, deps Deps) (*File, error) {
	maxSize, maxFiles := int64(c.MaxSize), c.MaxFiles
	if maxSize == 0 {
		maxSize = DefaultFileMaxSize
	}
	if maxFiles == 0 {
		maxFiles = DefaultFileMaxFiles
	}
	var errs []error
	if strings.TrimSpace(c.Path) == "" {
		errs = append(errs, plugin.Errorf("path", "is empty; give the JSON lines file to write"))
	}
	if maxSize < 1<<10 {
		errs = append(errs, plugin.Errorf("max_size", "%d bytes is too small; give at least 1KiB", maxSize))
	}
	if maxFiles < 1 {
		errs = append(errs, plugin.Errorf("max_files", "%d must be at least 1", maxFiles))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &File{
		out: &rotatingFile{
			sink: deps.Name, path: c.Path, maxSize: maxSize, maxFiles: maxFiles,
			rotations: newSinkMetrics(deps.Registerer, deps.Name).rotations,
		},
	}, nil
}

// Write appends the batch's messages as lines, flushed and fsynced; on an
// error nothing of the batch stays in the file.
func (f *File) Write(ctx context.Context, batch []Record) error {
	return f.WriteRaw(ctx, slices.Values(batch))
}

// WriteRaw appends each record's Data as a line as it comes (the buffered
// writer copies it), then flushes and fsyncs; on an error nothing of the
// batch stays in the file. A batch of no records touches no file.
func (f *File) WriteRaw(_ context.Context, records iter.Seq[Record]) error {
	return f.out.writeAll(func(yield func([]byte) bool) {
		for r := range records {
			if !yield(r.Data) {
				return
			}
		}
	})
}

// Close flushes and closes the file.
func (f *File) Close() error { return f.out.close() }

// rotatingFile appends lines to path and keeps maxFiles rotated files
// (path.1 newest .. path.<maxFiles> oldest). Each writeLines is flushed and
// fsynced before it returns; a failed one is cut off the file again.
type rotatingFile struct {
	sink      string
	path      string
	maxSize   int64
	maxFiles  int
	rotations prometheus.Counter

	f         *os.File
	info      os.FileInfo // of f, to notice the path now names another file
	w         *bufio.Writer
	committed int64 // synced bytes in f
	written   int64 // committed + bytes of the batch being written
}

func (r *rotatingFile) errorf(format string, a ...any) error {
	return fmt.Errorf("sink %s: file %s: %s", r.sink, r.path, fmt.Errorf(format, a...))
}

// writeLines appends every line plus '\n', then flushes and fsyncs.
func (r *rotatingFile) writeLines(lines [][]byte) error { return r.writeAll(slices.Values(lines)) }

// writeAll appends every line plus '\n' as it comes, then flushes and
// fsyncs; on an error the batch is rolled back. The file is opened at the
// first line: no lines, no file.
func (r *rotatingFile) writeAll(lines iter.Seq[[]byte]) error {
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
func (r *rotatingFile) appendLine(line []byte) error {
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
func (r *rotatingFile) open() error {
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
	r.f, r.info, r.committed, r.written = f, st, size, size
	if r.w == nil {
		r.w = bufio.NewWriterSize(f, 64<<10)
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
func (r *rotatingFile) sync() error {
	if err := r.w.Flush(); err != nil {
		return r.errorf("write: %w", err)
	}
	if err := r.f.Sync(); err != nil {
		return r.errorf("fsync: %w", err)
	}
	r.committed = r.written
	return nil
}

// rollback drops the uncommitted part of a batch so a retry does not leave
// partial or duplicate lines; if the file cannot be cut, it is reopened.
func (r *rotatingFile) rollback() {
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
func (r *rotatingFile) rotate() error {
	if err := r.sync(); err != nil {
		return err
	}
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
	r.rotations.Inc()
	return r.open()
}

func (r *rotatingFile) rotated(i int) string { return r.path + "." + strconv.Itoa(i) }

// syncDir makes renames in dir durable (best effort).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}

// close flushes and closes the file.
func (r *rotatingFile) close() error {
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
