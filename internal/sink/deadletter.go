package sink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/panoptes-go/panoptes/internal/wire"
)

// The dead-letter stream: poison messages of every sink, one subject per
// sink, kept by age and size for a person to inspect (`nats stream view`).
const (
	DeadLetterStream = "PANOPTES_DEADLETTER"
	DeadLetterPrefix = "panoptes.deadletter."

	deadLetterMaxAge   = 7 * 24 * time.Hour
	deadLetterMaxBytes = 256 << 20
)

// Headers of a dead letter; the body is the original message unchanged.
const (
	HeaderReason  = "Panoptes-Reason"  // why it was set aside
	HeaderSubject = "Panoptes-Subject" // where it was read (bus subject or Kafka topic)
	HeaderSink    = "Panoptes-Sink"    // the sink that set it aside
)

// maxReasonLen bounds a reason header: a store's error may quote a long line.
const maxReasonLen = 1024

// DeadLetterSubject is where sink sinkName sets its poison messages aside.
func DeadLetterSubject(sinkName string) string {
	return DeadLetterPrefix + wire.Token(sinkName)
}

// deadLetters publishes one sink's poison messages to the dead-letter
// stream, creating the stream on first use.
type deadLetters struct {
	sink     string
	subject  string
	replicas int // of the stream it creates or scales up to; 0: the metrics stream's
	logger   *slog.Logger

	mu    sync.Mutex
	ready bool // the stream exists
}

func newDeadLetters(sinkName string, replicas int, logger *slog.Logger) *deadLetters {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &deadLetters{sink: sinkName, subject: DeadLetterSubject(sinkName), replicas: replicas, logger: logger}
}

// deadLetterDescription marks the dead-letter stream as the one a sink
// made (and may scale up), not an operator's.
const deadLetterDescription = "Panoptes poison messages set aside by sinks, with the reason in header " + HeaderReason

// publish sets one message aside and returns once the stream stored it. id
// (may be "") deduplicates a message set aside twice (redelivered before
// its term reached the server).
func (d *deadLetters) publish(ctx context.Context, js jetstream.JetStream, rec Record, id, reason string) error {
	if js == nil {
		return errors.New("no bus to hold dead letters")
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := d.ensure(ctx, js); err != nil {
		return err
	}
	msg := &nats.Msg{Subject: d.subject, Data: rec.Data, Header: nats.Header{}}
	msg.Header.Set(HeaderReason, headerValue(reason, maxReasonLen))
	msg.Header.Set(HeaderSubject, headerValue(rec.Subject, 256))
	msg.Header.Set(HeaderSink, headerValue(d.sink, 256))
	if id != "" {
		msg.Header.Set(jetstream.MsgIDHeader, id)
	}
	if _, err := js.PublishMsg(ctx, msg); err != nil {
		return fmt.Errorf("dead-letter stream %s: publish: %w", DeadLetterStream, err)
	}
	return nil
}

// ensure creates the dead-letter stream unless it exists. One a sink made
// with fewer replicas than bus.replicas (a node that ran alone before its
// cluster grew) is scaled up to them; an operator's own stream is left
// alone.
func (d *deadLetters) ensure(ctx context.Context, js jetstream.JetStream) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ready {
		return nil
	}
	s, err := js.Stream(ctx, DeadLetterStream)
	if err == nil {
		d.scaleUp(ctx, js, s.CachedInfo().Config)
	}
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		replicas := replicasOr(ctx, js, d.replicas)
		_, err = js.CreateStream(ctx, jetstream.StreamConfig{
			Name:        DeadLetterStream,
			Description: deadLetterDescription,
			Subjects:    []string{DeadLetterPrefix + ">"},
			Storage:     jetstream.FileStorage,
			Retention:   jetstream.LimitsPolicy,
			Discard:     jetstream.DiscardOld,
			MaxAge:      deadLetterMaxAge,
			MaxBytes:    deadLetterMaxBytes,
			Replicas:    replicas,
			Duplicates:  2 * time.Minute,
		})
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			err = nil // another sink made it meanwhile
		}
	}
	if err != nil {
		return fmt.Errorf("dead-letter stream %s: %w", DeadLetterStream, err)
	}
	d.ready = true
	return nil
}

// scaleUp raises the replicas of the sinks' own dead-letter stream to the
// configured ones. A failure is logged, not returned: poison messages go on
// to the stream as it is (the next process start tries again).
func (d *deadLetters) scaleUp(ctx context.Context, js jetstream.JetStream, cfg jetstream.StreamConfig) {
	if d.replicas <= cfg.Replicas || cfg.Description != deadLetterDescription {
		return
	}
	from := cfg.Replicas
	cfg.Replicas = d.replicas
	if _, err := js.UpdateStream(ctx, cfg); err != nil {
		d.logger.Warn("sink: cannot scale the dead-letter stream up to bus.replicas; it keeps its replicas", "stream", DeadLetterStream,
			"replicas", from, "want", d.replicas, "err", err)
		return
	}
	d.logger.Info("sink: dead-letter stream scaled up to bus.replicas", "stream", DeadLetterStream, "from", from, "to", d.replicas)
}

// headerValue makes s safe as one header value: control characters (a
// newline would end the header) become spaces, and it is cut to max bytes.
func headerValue(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	if len(s) > max {
		cut := max
		for cut > 0 && (s[cut]&0xC0) == 0x80 { // do not split a UTF-8 sequence
			cut--
		}
		s = s[:cut] + "..."
	}
	return s
}

// replicasOr is what a stream or bucket a sink creates should have:
// configured when set (the node passes bus.replicas), else the metrics
// stream's, else 1. Only the configured value is sure: on a cluster still
// forming, or with partitioned metrics streams, the lookup fails, and a
// bucket of 1 replica is lost with the one server that holds it.
func replicasOr(ctx context.Context, js jetstream.JetStream, configured int) int {
	if configured > 0 {
		return configured
	}
	if s, err := js.Stream(ctx, wire.MetricsStream); err == nil {
		return max(s.CachedInfo().Config.Replicas, 1)
	}
	return 1
}
