package sink

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/panoptes-go/panoptes/internal/bus"
	"github.com/panoptes-go/panoptes/internal/config"
)

// File sink defaults for config fields left zero.
const (
	DefaultFileMaxSize  = 100 << 20
	DefaultFileMaxFiles = 5
)

// File is a sink that appends every metrics group to a file as one JSON line
// (the bus message bytes, which are already Panoptes JSON), rotating it by size.
type File struct {
	name    string
	cons    consumerConfig
	logger  *slog.Logger
	metrics *sinkMetrics
	out     *rotatingFile
	lines   [][]byte // reused per batch
}

// NewFile checks cfg and returns the sink; it touches no file until Run.
func NewFile(cfg config.Sink, logger *slog.Logger, reg prometheus.Registerer) (*File, error) {
	if strings.TrimSpace(cfg.Name) == "" {
		return nil, errors.New("sink: name is empty; give every sink a unique name")
	}
	if cfg.Type != "" && cfg.Type != "file" {
		return nil, fmt.Errorf("sink %s: type %q is not a file sink", cfg.Name, cfg.Type)
	}
	if strings.TrimSpace(cfg.Path) == "" {
		return nil, fmt.Errorf("sink %s: path is empty; set the file to write", cfg.Name)
	}
	if cfg.MaxSize < 0 {
		return nil, fmt.Errorf("sink %s (%s): max_size %d is negative", cfg.Name, cfg.Path, cfg.MaxSize)
	}
	if cfg.MaxFiles < 0 {
		return nil, fmt.Errorf("sink %s (%s): max_files %d is negative", cfg.Name, cfg.Path, cfg.MaxFiles)
	}
	for _, s := range cfg.Subjects {
		if (s != bus.AllSubjects && !strings.HasPrefix(s, bus.SubjectPrefix)) || strings.ContainsAny(s, " \t\r\n") {
			return nil, fmt.Errorf("sink %s: subject %q is not a metrics subject; use %s<site>.<group_type> (wildcards * and > allowed)",
				cfg.Name, s, bus.SubjectPrefix)
		}
	}
	maxSize, maxFiles := int64(cfg.MaxSize), cfg.MaxFiles
	if maxSize == 0 {
		maxSize = DefaultFileMaxSize
	}
	if maxFiles == 0 {
		maxFiles = DefaultFileMaxFiles
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	m := newSinkMetrics(reg, cfg.Name)
	return &File{
		name:    cfg.Name,
		cons:    defaultConsumerConfig(cfg.Name, cfg.Subjects),
		logger:  logger,
		metrics: m,
		out: &rotatingFile{
			sink: cfg.Name, path: cfg.Path, maxSize: maxSize, maxFiles: maxFiles,
			rotations: m.rotations,
		},
	}, nil
}

// Run consumes durable consumer DurableName(name) on the metrics stream and
// writes each batch, flushed and fsynced, before acking it. A failed write
// acks nothing; the batch is retried after a backoff. Run returns when ctx is
// done, after finishing or handing back the current batch, with the file
// closed. It must not be called twice at once.
func (f *File) Run(ctx context.Context, js jetstream.JetStream) error {
	c := &consumer{cfg: f.cons, logger: f.logger, metrics: f.metrics}
	err := c.run(ctx, js, f.writeBatch)
	if cerr := f.out.close(); cerr != nil {
		err = errors.Join(err, cerr)
	}
	return err
}

func (f *File) writeBatch(_ context.Context, msgs []jetstream.Msg) error {
	f.lines = f.lines[:0]
	for _, m := range msgs {
		f.lines = append(f.lines, m.Data())
	}
	err := f.out.writeLines(f.lines)
	clear(f.lines) // let the messages go
	return err
}

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
func (r *rotatingFile) writeLines(lines [][]byte) error {
	if err := r.open(); err != nil {
		return err
	}
	for _, line := range lines {
		n := int64(len(line)) + 1
		if r.written > 0 && r.written+n > r.maxSize {
			if err := r.rotate(); err != nil {
				r.rollback()
				return err
			}
		}
		if _, err := r.w.Write(line); err != nil {
			r.rollback()
			return r.errorf("write: %w", err)
		}
		if err := r.w.WriteByte('\n'); err != nil {
			r.rollback()
			return r.errorf("write: %w", err)
		}
		r.written += n
	}
	if err := r.sync(); err != nil {
		r.rollback()
		return err
	}
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
