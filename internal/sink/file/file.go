// Package file is the sink type "file": every metrics group is appended to
// a file as one JSON line, the bus message as it is, and the file is
// rotated by size. See README.md.
package file

import (
	"context"
	"errors"
	"iter"
	"slices"
	"strings"

	"github.com/panoptes-go/panoptes/internal/plugin"
	"github.com/panoptes-go/panoptes/internal/sink"
	"github.com/panoptes-go/panoptes/internal/sink/file/rotate"
)

// Defaults for fields left zero.
const (
	DefaultMaxSize  = 100 << 20
	DefaultMaxFiles = 5
)

func init() { sink.Register("file", factory) }

// Config is the sink's block: the keys of its sinks entry besides the
// consumer's.
type Config struct {
	Path     string          `yaml:"path"`      // the JSON lines file, relative to the config file
	MaxSize  plugin.ByteSize `yaml:"max_size"`  // rotate past this size (default 100MiB)
	MaxFiles int             `yaml:"max_files"` // rotated files kept (default 5)
}

// File is a sink that appends every metrics group to a file as one JSON
// line (the bus message bytes, which are already Panoptes JSON), rotating
// it by size. Each batch is flushed and fsynced before Write returns, so an
// acked message is on disk. It is a RawWriter: it never needs a decoded
// group.
type File struct {
	out      *rotate.File
	path     string
	maxSize  int64
	maxFiles int
}

var (
	_ sink.Sink      = (*File)(nil)
	_ sink.RawWriter = (*File)(nil)
	_ sink.Closer    = (*File)(nil)
)

func factory(options plugin.Block, deps sink.Deps) (sink.Sink, error) {
	var c Config
	if err := options.Decode(&c); err != nil {
		return nil, err
	}
	if strings.TrimSpace(c.Path) != "" {
		c.Path = options.Abs(c.Path)
	}
	return New(c, deps)
}

// New checks c and returns the file sink named deps.Name; it touches no
// file until the first Write. Zero sizes take the defaults.
func New(c Config, deps sink.Deps) (*File, error) {
	maxSize, maxFiles := int64(c.MaxSize), c.MaxFiles
	if maxSize == 0 {
		maxSize = DefaultMaxSize
	}
	if maxFiles == 0 {
		maxFiles = DefaultMaxFiles
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
	rotations := newMetrics(deps.Registerer, deps.Name)
	return &File{
		out:  rotate.New("sink "+deps.Name, c.Path, maxSize, maxFiles, rotations.Inc),
		path: c.Path, maxSize: maxSize, maxFiles: maxFiles,
	}, nil
}

// Write appends the batch's messages as lines, flushed and fsynced; on an
// error nothing of the batch stays in the file.
func (f *File) Write(ctx context.Context, batch []sink.Record) error {
	return f.WriteRaw(ctx, slices.Values(batch))
}

// WriteRaw appends each record's Data as a line as it comes (the buffered
// writer copies it), then flushes and fsyncs; on an error nothing of the
// batch stays in the file. A batch of no records touches no file.
func (f *File) WriteRaw(_ context.Context, records iter.Seq[sink.Record]) error {
	return f.out.WriteAll(func(yield func([]byte) bool) {
		for r := range records {
			if !yield(r.Data) {
				return
			}
		}
	})
}

// Close flushes and closes the file.
func (f *File) Close() error { return f.out.Close() }
