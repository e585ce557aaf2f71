package sink

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/plugin"
	"github.com/panoptes-go/panoptes/internal/wire"
)

// Spec is what a bus consumer reads and how it paces itself: a configured
// sink's settings (New), or those of a consumer built in code, such as an
// app's (NewConsumer).
type Spec struct {
	// Name names the consumer: its durable consumers (DurableName), dead
	// letters, self-metrics and logs. Processes that run a consumer of the
	// same name share its partitions (Owner).
	Name string
	// Subjects filter the metrics subjects read (wire.IsMetricsFilter);
	// none reads them all.
	Subjects []string
	// BatchSize is the most messages per write (default 500); BatchTimeout
	// how long a partial batch waits (default 1s); MaxBackoff the longest
	// wait between attempts after a failed write (default 30s).
	BatchSize    int
	BatchTimeout time.Duration
	MaxBackoff   time.Duration
}

// check reports a bad setting as a *plugin.FieldError (Field as in a sink's
// config section). A consumer of events (an EventReader sink) filters
// events subjects, any other one metrics subjects.
func (s Spec) check(events bool) error {
	if strings.TrimSpace(s.Name) == "" {
		return &plugin.FieldError{Field: "name", Msg: "is empty; give every sink a unique name"}
	}
	fail := func(field, format string, a ...any) error {
		return fmt.Errorf("sink %s: %w", s.Name, &plugin.FieldError{Field: field, Msg: fmt.Sprintf(format, a...)})
	}
	for j, f := range s.Subjects {
		switch {
		case events && !isEventsFilter(f):
			return fail(fmt.Sprintf("subjects[%d]", j), "%q is not an events subject; use %s<site>.<kind> (wildcards * and > allowed)", f, wire.EventsPrefix)
		case !events && !wire.IsMetricsFilter(f):
			return fail(fmt.Sprintf("subjects[%d]", j), "%q is not a metrics subject; use %s<site>.<group_type> (wildcards * and > allowed)", f, wire.MetricsPrefix)
		}
	}
	if s.BatchSize < 0 || s.BatchSize > maxBatchSize {
		return fail("batch_size", "%d is out of range 1..%d", s.BatchSize, maxBatchSize)
	}
	if s.BatchTimeout < 0 {
		return fail("batch_timeout", "%s is negative", s.BatchTimeout)
	}
	if s.MaxBackoff < 0 {
		return fail("max_backoff", "%s is negative", s.MaxBackoff)
	}
	return nil
}

// isEventsFilter reports whether s may filter events subjects.
func isEventsFilter(s string) bool {
	return (s == wire.AllEvents || strings.HasPrefix(s, wire.EventsPrefix)) && !strings.ContainsAny(s, " \t\r\n")
}

// pacing fills the defaults in.
func (s Spec) pacing() pacing {
	pace := pacing{Batch: s.BatchSize, MaxWait: s.BatchTimeout, BackoffMax: s.MaxBackoff}
	if pace.Batch == 0 {
		pace.Batch = DefaultBatchSize
	}
	if pace.MaxWait == 0 {
		pace.MaxWait = DefaultBatchTimeout
	}
	pace.AckWait = pace.MaxWait + ackMargin
	if pace.BackoffMax == 0 {
		pace.BackoffMax = DefaultMaxBackoff
	}
	pace.BackoffMin = min(minBackoff, pace.BackoffMax)
	return pace
}

// New checks cfg and builds its sink (and its source) without side
// effects. A problem with one field is returned wrapping a
// *plugin.FieldError, its Field relative to the sink's section, or a
// located *plugin.Error from the sink's block.
func New(cfg config.Sink, deps Deps) (*Consumer, error) {
	if strings.TrimSpace(cfg.Name) == "" {
		return nil, &plugin.FieldError{Field: "name", Msg: "is empty; give every sink a unique name"}
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	deps.Logger = deps.Logger.With("sink", cfg.Name)
	deps.Name = cfg.Name
	s, err := Build(cfg.Type, cfg.Options, deps)
	if err != nil {
		return nil, fmt.Errorf("sink %s: %w", cfg.Name, err)
	}
	return NewFor(cfg, s, deps)
}

// NewFor is New for a sink built already: an app that reads the bus like a
// sink (the topology and events apps), or a test. cfg gives the name,
// subjects, source and pacing; its type and options are not read.
func NewFor(cfg config.Sink, s Sink, deps Deps) (*Consumer, error) {
	spec := Spec{Name: cfg.Name, Subjects: cfg.Subjects, BatchSize: cfg.BatchSize,
		BatchTimeout: cfg.BatchTimeout.D(), MaxBackoff: cfg.MaxBackoff.D()}
	_, events := s.(EventReader)
	if err := spec.check(events); err != nil {
		return nil, err
	}
	if events && len(cfg.Source) > 0 {
		return nil, fmt.Errorf("sink %s: %w", cfg.Name, &plugin.FieldError{Field: "source",
			Msg: "a sink of events reads the events stream of the bus; it takes no other source"})
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler).With("sink", cfg.Name)
	}
	deps.Name = cfg.Name
	src, err := buildSource(cfg, deps)
	if err != nil {
		return nil, fmt.Errorf("sink %s: %w", cfg.Name, err)
	}
	return newConsumer(spec, s, src, deps), nil
}

// NewConsumer feeds s from the metrics bus as New does a configured sink:
// every partition, a durable consumer each, at least once, poison set
// aside on the dead-letter stream, partitions shared with the other
// processes running a consumer of the same name (deps.Owner). For
// consumers built in code (apps); Run starts it. An EventReader sink reads
// the events stream instead.
func NewConsumer(spec Spec, s Sink, deps Deps) (*Consumer, error) {
	if s == nil {
		return nil, errors.New("sink: NewConsumer with a nil Sink")
	}
	if err := spec.check(isEventReader(s)); err != nil {
		return nil, err
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	deps.Logger = deps.Logger.With("consumer", spec.Name)
	deps.Name = spec.Name
	return newConsumer(spec, s, nil, deps), nil
}

func isEventReader(s Sink) bool {
	_, ok := s.(EventReader)
	return ok
}

func newConsumer(spec Spec, s Sink, src Reader, deps Deps) *Consumer {
	return &Consumer{
		name:     spec.Name,
		durable:  DurableName(spec.Name),
		subjects: spec.Subjects,
		pace:     spec.pacing(),
		sink:     s,
		source:   src,
		owner:    deps.Owner,
		replicas: deps.Replicas,
		logger:   deps.Logger,
		metrics:  newSinkMetrics(deps.Registerer, spec.Name),
		dead:     newDeadLetters(spec.Name, deps.Replicas, deps.Logger),
		events:   isEventReader(s),
	}
}
