// Package sink holds the consumers of the metrics bus: each sink is a durable
// JetStream consumer that writes batches to its destination and acks a
// message only after the write is durable.
package sink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/panoptes-go/panoptes/internal/bus"
)

// batchHandler writes one batch to a sink. It returns nil only when every
// message is durably written: the consumer then acks them all. On an error
// nothing is acked and the whole batch comes again later.
type batchHandler func(ctx context.Context, msgs []jetstream.Msg) error

// consumerConfig describes a sink's durable consumer and its pacing.
type consumerConfig struct {
	Sink     string        // sink name, for logs and metrics
	Durable  string        // durable consumer name
	Subjects []string      // filter; empty = every metrics subject
	Batch    int           // messages per fetch
	MaxWait  time.Duration // how long a fetch waits to fill a batch
	AckWait  time.Duration // redelivery after a consumer died holding messages
	// Backoff between attempts after a failed write or fetch.
	BackoffMin, BackoffMax time.Duration
}

func defaultConsumerConfig(sinkName string, subjects []string) consumerConfig {
	return consumerConfig{
		Sink:       sinkName,
		Durable:    DurableName(sinkName),
		Subjects:   subjects,
		Batch:      256,
		MaxWait:    time.Second,
		AckWait:    30 * time.Second,
		BackoffMin: 100 * time.Millisecond,
		BackoffMax: 30 * time.Second,
	}
}

// DurableName is the durable consumer of a sink: "sink_<name>", with every
// character other than letters, digits, '-' and '_' replaced by '_'.
func DurableName(sinkName string) string {
	var b strings.Builder
	b.WriteString("sink_")
	for _, r := range sinkName {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

// consumer runs the fetch → handle → ack loop of one sink.
type consumer struct {
	cfg     consumerConfig
	logger  *slog.Logger
	metrics *sinkMetrics
}

// run consumes until ctx is done, then returns nil after the current batch
// is finished or handed back. It returns an error only when the server
// rejects the consumer's configuration, which retrying cannot fix.
func (c *consumer) run(ctx context.Context, js jetstream.JetStream, handle batchHandler) error {
	// Separate backoffs: a fetch that works must not reset the wait after
	// failed writes (the failed batch is fetched again in between).
	fetchBo := backoff{min: c.cfg.BackoffMin, max: c.cfg.BackoffMax}
	writeBo := fetchBo
	msgs := make([]jetstream.Msg, 0, c.cfg.Batch)
	var cons jetstream.Consumer
	for ctx.Err() == nil {
		if cons == nil {
			var err error
			if cons, err = c.ensure(ctx, js); err != nil {
				if refused(err) {
					return err
				}
				c.logger.Warn("sink: cannot set up consumer; retrying", "sink", c.cfg.Sink, "err", err)
				sleep(ctx, fetchBo.next())
				continue
			}
		}

		msgs = msgs[:0]
		batch, err := cons.Fetch(c.cfg.Batch, jetstream.FetchMaxWait(c.cfg.MaxWait))
		if err == nil {
			for m := range batch.Messages() {
				msgs = append(msgs, m)
			}
			err = batch.Error()
		}
		if err != nil && len(msgs) == 0 {
			if ctx.Err() != nil {
				break
			}
			c.logger.Warn("sink: fetch failed; retrying", "sink", c.cfg.Sink, "err", err)
			cons = nil // set it up again: the consumer may be gone
			sleep(ctx, fetchBo.next())
			continue
		}
		fetchBo.reset()
		if len(msgs) == 0 {
			c.metrics.pending.Set(0)
			continue
		}
		// Even when ctx is done by now, the batch in hand is written: that
		// is quicker for everyone than handing it back.
		if err := handle(ctx, msgs); err != nil {
			c.metrics.writeErrors.Inc()
			delay := writeBo.next()
			if ctx.Err() != nil {
				delay = 0 // stopping: hand the batch back at once
			}
			c.logger.Warn("sink: write failed; nothing acked, retrying", "sink", c.cfg.Sink,
				"messages", len(msgs), "retry_in", delay, "err", err)
			c.nakAll(ctx, js.Conn(), msgs, delay)
			clear(msgs)
			sleep(ctx, delay)
			continue
		}
		writeBo.reset()
		c.ackAll(ctx, msgs)
		c.metrics.written.Add(float64(len(msgs)))
		if md, err := msgs[len(msgs)-1].Metadata(); err == nil {
			c.metrics.pending.Set(float64(md.NumPending))
		}
		clear(msgs) // let the batch go while idle
	}
	return nil
}

// ensure creates the durable consumer or updates its configuration.
func (c *consumer) ensure(ctx context.Context, js jetstream.JetStream) (jetstream.Consumer, error) {
	subjects := c.cfg.Subjects
	if len(subjects) == 0 {
		subjects = []string{bus.AllSubjects}
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cons, err := js.CreateOrUpdateConsumer(cctx, bus.StreamName, jetstream.ConsumerConfig{
		Durable:        c.cfg.Durable,
		Description:    "Panoptes sink " + c.cfg.Sink,
		DeliverPolicy:  jetstream.DeliverAllPolicy,
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        c.cfg.AckWait,
		MaxDeliver:     -1, // a sink that is down keeps its messages until retention drops them
		FilterSubjects: subjects,
		MaxAckPending:  max(4*c.cfg.Batch, 1000),
	})
	if err != nil {
		return nil, fmt.Errorf("sink %s: consumer %s on stream %s: %w", c.cfg.Sink, c.cfg.Durable, bus.StreamName, err)
	}
	return cons, nil
}

// refused reports whether the server refused the consumer's configuration,
// which no retry fixes; a missing stream or an unavailable JetStream may be
// temporary (the bus is starting, a cluster is electing a leader).
func refused(err error) bool {
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	return apiErr.Code != 503 && apiErr.ErrorCode != jetstream.JSErrCodeStreamNotFound
}

// ackAll acks a written batch. The last ack waits for the server's
// confirmation, which also confirms the earlier ones (same connection, in
// order); a lost ack only means a duplicate line later.
func (c *consumer) ackAll(ctx context.Context, msgs []jetstream.Msg) {
	for _, m := range msgs[:len(msgs)-1] {
		if err := m.Ack(); err != nil {
			c.logger.Debug("sink: ack failed; the message will come again", "sink", c.cfg.Sink, "err", err)
		}
	}
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := msgs[len(msgs)-1].DoubleAck(actx); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		c.logger.Warn("sink: ack not confirmed; written messages may come again", "sink", c.cfg.Sink, "err", err)
	}
}

// nakAll hands messages back for redelivery after delay. The last nak is
// a request the server answers once it has processed it (and so the ones
// before): unconfirmed naks could be lost if the server stops right after.
func (c *consumer) nakAll(ctx context.Context, nc *nats.Conn, msgs []jetstream.Msg, delay time.Duration) {
	for _, m := range msgs[:len(msgs)-1] {
		if delay > 0 {
			_ = m.NakWithDelay(delay)
		} else {
			_ = m.Nak()
		}
	}
	body := []byte("-NAK") // the JetStream ack protocol, as the client sends it
	if delay > 0 {
		body = fmt.Appendf(body, ` {"delay": %d}`, delay.Nanoseconds())
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if _, err := nc.RequestWithContext(rctx, msgs[len(msgs)-1].Reply(), body); err != nil {
		c.logger.Debug("sink: nak not confirmed; the batch comes again after the ack wait", "sink", c.cfg.Sink, "err", err)
	}
}

// backoff doubles the wait after each failure, from min up to max.
type backoff struct{ min, max, cur time.Duration }

func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = b.min
	} else {
		b.cur = min(2*b.cur, b.max)
	}
	return b.cur
}

func (b *backoff) reset() { b.cur = 0 }

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
