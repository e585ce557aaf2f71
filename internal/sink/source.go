package sink

import (
	"context"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/plugin"
)

// Reader feeds a sink from somewhere other than the bus (Kafka topics).
//
// Run reads until ctx is done and calls handle with each batch, one call at
// a time, never concurrently. handle returns nil once every record of the
// batch is written or set aside as poison: only then may the reader commit
// the batch's offsets. handle retries failed writes itself (with backoff), so
// a non-nil error means ctx ended first: the reader commits nothing more and
// returns. A record's Group may be nil: handle decodes Data and sets
// undecodable records aside. Subject names where the record came from (the
// topic) for logs and dead letters; Time is its timestamp when known.
// Batches should follow SourceDeps.BatchSize and BatchTimeout.
type Reader interface {
	Run(ctx context.Context, handle func(ctx context.Context, batch []Record) error) error
}

// SourceDeps are what a bus source factory gets besides its block: the
// sink's deps and its batching, which its batches should follow.
type SourceDeps struct {
	Deps
	BatchSize    int           // 0: DefaultBatchSize
	BatchTimeout time.Duration // 0: DefaultBatchTimeout
	MaxBackoff   time.Duration // 0: DefaultMaxBackoff
}

// SourceFactory builds a Reader for a sink whose config has a source. Its
// block is the value of the source's key (source.kafka). Like Factory it has
// no side effects, decodes its block itself and reports a bad field as a
// *plugin.FieldError (Field relative to its block: "brokers").
type SourceFactory func(options plugin.Block, deps SourceDeps) (Reader, error)

var sources = plugin.NewRegistry[SourceFactory]("sink source")

// RegisterSource makes a bus source available under kind, the key that
// names it under a sink's source; it panics on an empty or duplicate kind
// or a nil factory.
func RegisterSource(kind string, f SourceFactory) { sources.Register(kind, f) }

// SourceKinds lists the registered source kinds, sorted.
func SourceKinds() []string { return sources.Names() }

// buildSource returns the Reader of the one source cfg.Source names, or nil
// when the sink reads the bus.
func buildSource(cfg config.Sink, deps Deps) (Reader, error) {
	if cfg.Source == nil {
		return nil, nil
	}
	kinds := slices.Sorted(maps.Keys(cfg.Source))
	if len(kinds) != 1 {
		known := strings.Join(SourceKinds(), ", ")
		if known == "" {
			known = "none are built into this binary"
		}
		what := "names no source"
		if len(kinds) > 1 {
			what = "names " + strings.Join(kinds, " and ")
		}
		return nil, &plugin.FieldError{Field: "source", Msg: what + "; give one (" + known + "), or remove source to read the bus"}
	}
	kind := kinds[0]
	f, err := sources.Lookup(kind)
	if err != nil {
		return nil, &plugin.FieldError{Field: "source." + kind, Msg: err.Error()}
	}
	block := cfg.Source[kind]
	r, err := f(block, SourceDeps{Deps: deps, BatchSize: cfg.BatchSize, BatchTimeout: cfg.BatchTimeout.D(), MaxBackoff: cfg.MaxBackoff.D()})
	if err != nil {
		return nil, block.Locate(err)
	}
	return r, nil
}
