package discovery

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/panoptes-go/panoptes/internal/plugin"
)

// ParseFunc turns a whole inventory file into resources; file names it in
// rejections, source is the discovery source's name.
type ParseFunc func(ctx context.Context, data []byte, file, source string, defaults Defaults, now time.Time) (*Result, error)

// File is a source that reads one whole file and parses it: the csv and
// json sources are each a File with their own parser.
type File struct {
	Name     string
	Path     string // absolute: a relative path is taken from the config file's folder
	What     string // what the file holds, for errors ("device list")
	Defaults Defaults
	Now      func() time.Time
	Parse    ParseFunc
}

var _ Source = (*File)(nil)

// FileConfig is a file source's block.
type FileConfig struct {
	// Path of the file, relative to the config file.
	Path string `yaml:"path"`
}

// NewFile decodes a file source's block (its only key: path) and reads no
// file yet.
func NewFile(options plugin.Block, deps Deps, what string, parse ParseFunc) (*File, error) {
	var c FileConfig
	if err := options.Decode(&c); err != nil {
		return nil, err
	}
	if strings.TrimSpace(c.Path) == "" {
		return nil, plugin.Errorf("path", "is empty; give the file to read")
	}
	return &File{Name: deps.Name, Path: options.Abs(c.Path), What: what, Defaults: deps.Defaults, Now: time.Now, Parse: parse}, nil
}

// Discover reads the whole file. A file that cannot be read or parsed as a
// whole (a truncated JSON file, a CSV without a usable header) fails the
// source, so the inventory keeps what it had; bad entries are rejected
// one by one.
func (f *File) Discover(ctx context.Context) (*Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(f.Path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", f.What, err)
	}
	return f.Parse(ctx, data, f.Path, f.Name, f.Defaults, f.Now())
}

// ParseCSVFile is ParseCSV for a file read whole.
func ParseCSVFile(ctx context.Context, data []byte, file, source string, defaults Defaults, now time.Time) (*Result, error) {
	return ParseCSV(ctx, bytes.NewReader(data), file, source, defaults, now)
}
