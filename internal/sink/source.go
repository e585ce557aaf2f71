package sink

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/panoptes-go/panoptes/internal/config"
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
// Batches should follow cfg.BatchSize and cfg.BatchTimeout.
type Reader interface {
	Run(ctx context.Context, handle func(ctx context.Context, batch []Record) error) error
}

// SourceFactory builds a Reader for a sink whose config has a source
// section. Like Factory it has no side effects and reports a bad field as a
// *config.FieldError (Field relative to the sink, e.g. "source.kafka.brokers").
type SourceFactory func(cfg config.Sink, deps Deps) (Reader, error)

var (
	sourcesMu sync.RWMutex
	sources   = map[string]SourceFactory{}
)

// RegisterSource makes a source kind available ("kafka" for
// config.Sink.Source.Kafka); it panics on an empty or duplicate kind.
func RegisterSource(kind string, f SourceFactory) {
	sourcesMu.Lock()
	defer sourcesMu.Unlock()
	if kind == "" || f == nil {
		panic("sink: RegisterSource with an empty kind or nil factory")
	}
	if _, dup := sources[kind]; dup {
		panic("sink: duplicate registration of source " + kind)
	}
	sources[kind] = f
}

// SourceKinds lists the registered source kinds, sorted.
func SourceKinds() []string {
	sourcesMu.RLock()
	defer sourcesMu.RUnlock()
	out := make([]string, 0, len(sources))
	for k := range sources {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// buildSource returns the Reader of cfg.Source, or nil when the sink reads
// the bus.
func buildSource(cfg config.Sink, deps Deps) (Reader, error) {
	if cfg.Source == nil {
		return nil, nil
	}
	if cfg.Source.Kafka == nil {
		return nil, &config.FieldError{Field: "source", Msg: "names no source; set source.kafka, or remove source to read the bus"}
	}
	sourcesMu.RLock()
	f, ok := sources["kafka"]
	sourcesMu.RUnlock()
	if !ok {
		known := strings.Join(SourceKinds(), ", ")
		if known == "" {
			known = "none"
		}
		return nil, &config.FieldError{Field: "source.kafka", Msg: fmt.Sprintf("the kafka source is not built into this binary (known sources: %s)", known)}
	}
	return f(cfg, deps)
}
