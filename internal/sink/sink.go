package sink

import (
	"context"
	"fmt"
	"iter"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/panoptes-go/panoptes/internal/event"
	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/plugin"
)

// Record is one metrics group read from the bus (or Kafka): its subject, its
// Panoptes JSON exactly as published, and the decoded group (nil for a
// RawWriter, which stores the JSON as it is).
type Record struct {
	Subject string
	Data    []byte
	Group   *metric.Group
	// Event is the decoded event of an EventReader sink's record (Group
	// is then nil).
	Event *event.Event
	// Time is when the record was published (bus or Kafka timestamp); zero
	// when unknown. It feeds the delivery latency metric.
	Time time.Time
}

// Sink writes batches of metrics groups to one store. Write returns nil only
// when the whole batch is stored; a *Rejected error when the store refused
// some records as malformed (those are dead-lettered, the rest count as
// written); any other error means "retry the whole batch later".
type Sink interface {
	Write(ctx context.Context, batch []Record) error
}

// RawWriter is an optional interface for a sink that stores each metrics
// group as the bytes it was published as (Record.Data) and never reads
// Record.Group. The consumer then checks groups with metric.Validate
// instead of decoding them (what it rejects is set aside as with Decode),
// and streams a fetched batch message by message instead of decompressing
// all of it first: about one decompressed message is in memory at a time.
type RawWriter interface {
	// WriteRaw stores the records, in order, and returns nil only when
	// all are durable: the consumer acks them then. Group is nil, and
	// Data is valid only until the next record is pulled (the consumer
	// reuses its buffer): copy what is kept. Any error fails the whole
	// batch, which comes again: what was stored of it should be removed
	// (at least once holds either way). A raw writer refuses no single
	// record: everything Validate accepts is stored.
	WriteRaw(ctx context.Context, records iter.Seq[Record]) error
}

// EventReader is an optional interface of a sink that reads the events
// stream (event.Stream, subjects panoptes.events.<site>.<kind>) instead of
// the metrics stream: alert sinks. Its records carry Event, decoded and
// validated (an event that does not decode is a dead letter); its
// subjects filter events; it is never fed through RawWriter and has no
// other source than the bus.
type EventReader interface {
	ReadsEvents()
}

// BusUser is an optional interface of a sink that keeps state on the bus
// (a KV bucket shared by the processes running it): Run hands it the bus
// and the replicas its bucket must have before anything else, and a
// failure stops the sink like a refused consumer.
type BusUser interface {
	UseBus(ctx context.Context, js jetstream.JetStream, replicas int) error
}

// FromNow is an optional interface of a sink whose durable consumer, when
// first created, starts at the messages published from then on instead of
// the whole stream: an app (the events and topology apps) that judges the
// present, not the stream's days of history. Later runs go on from where
// the consumer stopped, like every sink.
type FromNow interface {
	FromNow()
}

// Service is an optional interface for a sink with work of its own (an
// HTTP listener, a flush loop). Serve runs for as long as the sink's
// consumer runs and returns when ctx is done.
type Service interface {
	Serve(ctx context.Context) error
}

// Closer is an optional interface, called once after the sink's consumer
// stopped.
type Closer interface {
	Close() error
}

// Rejected lists the records of a batch that the store refused as
// malformed, by index in the batch, with the reason for each.
type Rejected struct {
	Reasons map[int]error
}

func (r *Rejected) Error() string {
	idx := make([]int, 0, len(r.Reasons))
	for i := range r.Reasons {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	var b strings.Builder
	fmt.Fprintf(&b, "%d records rejected", len(idx))
	for n, i := range idx {
		if n == 3 {
			b.WriteString(", ...")
			break
		}
		fmt.Fprintf(&b, "; #%d: %v", i, r.Reasons[i])
	}
	return b.String()
}

// Deps are what a sink factory may use, and what its consumer needs.
type Deps struct {
	// Name is the sink's configured name: the sink label of its metrics,
	// the sink field of its logs.
	Name       string
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	// Owner decides which partitions this process reads when several run
	// the sink (nil: all of them).
	Owner Owner
	// Replicas of what the consumer creates on the bus (the events stream
	// when no app has yet, the dead-letter stream, a BusUser's bucket): the
	// configured bus.replicas. 0 follows the metrics stream's replicas.
	Replicas int
}

// Factory builds a sink from its block (the sink's keys other than the
// consumer's: name, type, subjects, batching, max_backoff, source) without
// side effects: no connection, no file, no listener until the consumer runs
// it. It decodes the block itself, strictly (options.Decode), and reports a
// problem with one field as a *plugin.FieldError (Field relative to the
// sink: "path", "influxdb.url"); the family gives it its file and line.
type Factory func(options plugin.Block, deps Deps) (Sink, error)

var sinks = plugin.NewRegistry[Factory]("sink type")

// Register makes a sink type available; it panics on an empty or duplicate
// type or a nil factory, which are programming errors.
func Register(typ string, f Factory) { sinks.Register(typ, f) }

// Types lists the registered sink types, sorted.
func Types() []string { return sinks.Names() }

// Build returns the sink of type typ built from its block. An unknown type
// is a *plugin.FieldError on "type"; problems with the block name their
// file, line and key.
func Build(typ string, options plugin.Block, deps Deps) (Sink, error) {
	f, err := sinks.Lookup(typ)
	if err != nil {
		return nil, &plugin.FieldError{Field: "type", Msg: err.Error()}
	}
	s, err := f(options, deps)
	if err != nil {
		return nil, options.Locate(err)
	}
	return s, nil
}
