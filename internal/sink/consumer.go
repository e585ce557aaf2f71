// Package sink holds the consumers of the metrics bus. Every configured sink
// is a Consumer: its own durable JetStream consumer (or a Kafka Reader) that
// fetches batches, decodes them (or, for a sink that stores the bytes, only
// validates them: RawWriter), writes them with the sink and acks a message
// only after the write is confirmed. Poison messages are set aside on the
// dead-letter stream; failed writes are retried with exponential backoff.
package sink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/panoptes-go/panoptes/internal/backoff"
	"github.com/panoptes-go/panoptes/internal/event"
	"github.com/panoptes-go/panoptes/internal/jserr"
	"github.com/panoptes-go/panoptes/internal/wire"
)

// Defaults for config fields left zero (the config loader sets the same).
const (
	DefaultBatchSize    = 500
	DefaultBatchTimeout = time.Second
	DefaultMaxBackoff   = 30 * time.Second

	maxBatchSize = 100000
	minBackoff   = 100 * time.Millisecond
	// ackMargin plus the batch timeout is the ack wait: how soon the server
	// redelivers the messages of a process that died holding them. A live
	// consumer keeps its batch in progress (keepAlive) however slow the
	// write, so the wait can be short.
	ackMargin = 5 * time.Second
)

// fetchMaxBytes bounds one fetch: a message holds a check's groups of one
// type (up to 256 KiB), so batch_size messages alone could be hundreds of
// MB, more than the server lets a connection fall behind by (it then cuts
// the connection as a slow consumer, taking the node's publishes with it).
// Messages are S2-compressed (~11×), so 2 MiB is ~22 MB of JSON and its
// decoded groups in memory at once; 8 MiB held ~90 MB at 10,000 devices
// for no gain in throughput (a fetch is one round trip either way). With
// bus.compression: zstd (~21×) a full fetch is ~42 MB of JSON: only a
// consumer catching up fills one.
const fetchMaxBytes = 2 << 20

// pacing is a consumer's batching and retry timing.
type pacing struct {
	Batch                  int           // messages per batch
	MaxWait                time.Duration // a partial batch is written after this
	AckWait                time.Duration
	BackoffMin, BackoffMax time.Duration // between attempts after a failure
	Jitter                 backoff.Jitter
}

// Consumer feeds one configured sink from its durable JetStream consumer or
// from its Reader (Kafka).
type Consumer struct {
	name     string
	durable  string
	subjects []string
	pace     pacing
	sink     Sink
	source   Reader // nil: the bus
	logger   *slog.Logger
	metrics  *sinkMetrics
	dead     *deadLetters
	owner    Owner               // nil: this process reads every partition
	replicas int                 // of what it creates on the bus; 0: the metrics stream's
	js       jetstream.JetStream // set by Run: the bus, also for dead letters
	parts    partitions          // the partitions being read
	// writeMu makes the partitions' readers write one batch at a time: a
	// sink is not asked to take concurrent writes.
	writeMu sync.Mutex
	reader  wire.Reader // streamMsgs' decompression, into one reused buffer (under writeMu)
	events  bool        // an EventReader: reads the events stream
}

// Name is the sink's configured name.
func (c *Consumer) Name() string { return c.name }

// Sink is the sink the consumer feeds.
func (c *Consumer) Sink() Sink { return c.sink }

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

// Run runs the sink's Serve (when it has one) and the read → decode → write
// → ack loop until ctx is done, then closes the sink. js is the bus: where
// the sink reads unless it has a Kafka source, and where dead letters go.
// Run returns nil after a normal stop; an error when the server refuses the
// consumer's configuration or the sink's Serve failed, which retrying cannot
// fix. It must not be called twice at once.
func (c *Consumer) Run(ctx context.Context, js jetstream.JetStream) error {
	c.js = js
	if ctx.Err() != nil {
		return c.close(nil)
	}
	if c.source == nil && js == nil {
		return c.close(fmt.Errorf("sink %s: no bus to read from", c.name))
	}
	if bu, ok := c.sink.(BusUser); ok && js != nil {
		if err := c.useBus(ctx, js, bu); err != nil || ctx.Err() != nil {
			return c.close(err)
		}
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var serveErr error
	if svc, ok := c.sink.(Service); ok {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := svc.Serve(runCtx); err != nil && runCtx.Err() == nil {
				serveErr = fmt.Errorf("sink %s: %w", c.name, err)
				cancel() // a sink that cannot serve stops consuming
			}
		}()
	}
	var err error
	if c.source != nil {
		err = c.source.Run(runCtx, c.handleRecords)
		if err != nil && runCtx.Err() != nil && errors.Is(err, context.Canceled) {
			err = nil
		}
		if err != nil {
			err = fmt.Errorf("sink %s: source: %w", c.name, err)
		}
	} else {
		err = c.consumeBus(runCtx, js)
	}
	cancel()
	wg.Wait()
	return c.close(errors.Join(err, serveErr))
}

// useBus gives the sink its state on the bus (BusUser.UseBus), retrying
// with backoff until it works, ctx ends (nil) or the server refuses the
// request for a reason waiting cannot fix. A JetStream cluster whose
// servers start together answers such a request late or not at all for
// seconds: an alertmanager sink that gave up then stayed stopped until
// its process restarted, and its alerts never fired.
func (c *Consumer) useBus(ctx context.Context, js jetstream.JetStream, bu BusUser) error {
	bo := c.newBackoff()
	for attempt := 1; ; attempt++ {
		err := bu.UseBus(ctx, js, replicasOr(ctx, js, c.replicas))
		if err == nil || ctx.Err() != nil {
			return nil
		}
		if refused(err) {
			return fmt.Errorf("sink %s: %w", c.name, err)
		}
		c.logger.Warn("sink: cannot set its state up on the bus yet (JetStream cluster forming?); retrying", "attempt", attempt, "err", err)
		backoff.Sleep(ctx, bo.Next())
	}
}

func (c *Consumer) close(err error) error {
	if cl, ok := c.sink.(Closer); ok {
		if cerr := cl.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("sink %s: close: %w", c.name, cerr))
		}
	}
	return err
}

// readPartition fetches batches from the sink's durable consumer on one
// stream (a partition) until ctx is done, then returns nil after the
// current batch is settled or handed back. It returns an error only when
// the server refuses the consumer's configuration.
//
// With an Owner, this reader is the partition's only one and keeps its
// order: it starts from the consumer's ack floor (awaitHandover), and when
// deliveries are missing (the consumer's delivery sequence skips: messages
// delivered while its leader failed over, or to a request that ended, and
// lost on the way, which the server sends again only once their ack wait
// expires, after newer ones) or a batch could not all be written, it
// writes what came before and resets the consumer to its ack floor, so
// that delivery resumes in stream order from the first message not
// acknowledged (never past one: nothing is skipped; one acknowledged
// beyond it comes again, at least once). The events stream, which every
// process reads through one durable, is read without.
func (c *Consumer) readPartition(ctx context.Context, js jetstream.JetStream, stream string) error {
	// Separate backoffs: a fetch that works must not reset the wait after
	// failed writes (the failed batch is fetched again in between).
	fetchBo := c.newBackoff()
	writeBo := c.newBackoff()
	msgs := make([]jetstream.Msg, 0, c.pace.Batch)
	ordered := c.owner != nil && !c.events
	var cons jetstream.Consumer
	var pull *puller
	defer func() {
		if pull != nil {
			pull.close()
		}
	}()
	tookOver := false // awaitHandover done
	var last uint64   // the consumer's last delivery sequence seen (0: none since a reset)
	for ctx.Err() == nil {
		if cons == nil {
			var err error
			if cons, err = c.ensure(ctx, js, stream); err != nil {
				if refused(err) {
					return err
				}
				c.logger.Warn("sink: cannot set up consumer; retrying", "err", err)
				backoff.Sleep(ctx, fetchBo.Next())
				continue
			}
			if !tookOver && ordered {
				delivered, err := c.awaitHandover(ctx, js, cons, stream)
				if err != nil { // stopping, or the consumer is gone
					cons = nil
					if ctx.Err() == nil {
						c.logger.Warn("sink: the partition's consumer is gone; setting it up again", "stream", stream, "err", err)
						backoff.Sleep(ctx, fetchBo.Next())
					}
					continue
				}
				tookOver, last = true, delivered
			}
		}
		if pull == nil {
			var err error
			if pull, err = newPuller(js, stream, c.durable); err != nil {
				c.logger.Warn("sink: cannot subscribe for deliveries; retrying", "stream", stream, "err", err)
				backoff.Sleep(ctx, fetchBo.Next())
				continue
			}
		}

		// The fetch returns when the batch is full or MaxWait passed: a
		// partial batch is written without waiting for more messages.
		var err error
		msgs, err = pull.fetch(ctx, c.pace.Batch, c.pace.MaxWait, fetchMaxBytes, msgs[:0])
		if err != nil && len(msgs) == 0 {
			if ctx.Err() != nil {
				break
			}
			c.logger.Warn("sink: fetch failed; retrying", "stream", stream, "err", err)
			pull.close()
			pull, cons = nil, nil // set it up again: the consumer may be gone
			backoff.Sleep(ctx, fetchBo.Next())
			continue
		}
		fetchBo.Reset()
		if len(msgs) == 0 {
			c.setPending(stream, 0)
			continue
		}
		gap := len(msgs)
		if ordered {
			gap, last = firstGap(last, msgs)
		}
		// Even when ctx is done by now, the batch in hand is settled: that
		// is quicker for everyone than handing it back.
		handedBack := false
		if gap > 0 {
			handedBack = c.handleMsgs(ctx, js, stream, msgs[:gap], &writeBo)
		}
		if ordered && (gap < len(msgs) || handedBack) && ctx.Err() == nil {
			if gap < len(msgs) {
				c.logger.Info("sink: deliveries missing; reading again from the first unacknowledged message",
					"stream", stream, "last_delivery", last, "next_delivery", deliverySeq(msgs[gap]), "next_stream_seq", streamSeq(msgs[gap]))
			}
			// What is still on its way was delivered before the reset,
			// which delivers it again: a new subscription drops it.
			pull.close()
			pull = nil
			switch _, err := c.resetToAckFloor(ctx, js, stream); {
			case err == nil:
				last = 0 // delivery sequences start again at 1
			case consumerGone(err):
				c.logger.Warn("sink: the partition's consumer is gone; setting it up again", "stream", stream, "err", err)
				cons, tookOver, last = nil, false, 0
				backoff.Sleep(ctx, fetchBo.Next())
			}
		}
		// Stopping with a gap: what came after it stays unacknowledged, and
		// whoever reads the partition next resets to the ack floor.
		clear(msgs) // let the batch go while idle
	}
	return nil
}

// firstGap is the index of the first message of msgs delivered after
// missing deliveries, or len(msgs), and the last delivery sequence before
// it. last is the consumer's delivery sequence seen before msgs (0: none
// since a reset, the next is 1). Delivery sequences count every delivery,
// redeliveries too, whatever the consumer's filter: a skip is a delivery
// this reader did not get. A lower one means someone else reset the
// consumer: followed.
func firstGap(last uint64, msgs []jetstream.Msg) (int, uint64) {
	for i, m := range msgs {
		d := deliverySeq(m)
		if d > last+1 {
			return i, last
		}
		last = d
	}
	return len(msgs), last
}

// deliverySeq is a message's delivery sequence in its consumer (0 when
// unknown).
func deliverySeq(m jetstream.Msg) uint64 {
	md, err := m.Metadata()
	if err != nil {
		return 0
	}
	return md.Sequence.Consumer
}

// resetToAckFloor resets the durable consumer on stream to its ack floor
// (NATS's consumer reset), retrying until it is done, ctx ends (its error)
// or the consumer or its stream is gone (jetstream.ErrConsumerNotFound,
// ErrStreamNotFound: the caller sets it up again). It returns the ack
// floor: delivery resumes after it.
func (c *Consumer) resetToAckFloor(ctx context.Context, js jetstream.JetStream, stream string) (uint64, error) {
	bo := c.newBackoff()
	for warned := false; ctx.Err() == nil; {
		// A reset of a consumer that no longer exists gets no answer (it
		// times out); its info says so at once.
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err := js.Consumer(rctx, stream, c.durable)
		var resp *jetstream.ConsumerResetResponse
		if err == nil {
			resp, err = js.ResetConsumer(rctx, stream, c.durable)
		}
		cancel()
		if err == nil {
			return resp.ResetSeq - 1, nil
		}
		if consumerGone(err) {
			return 0, err
		}
		if !warned {
			c.logger.Warn("sink: cannot reset the partition's consumer to its ack floor yet; retrying before reading on", "stream", stream, "err", err)
			warned = true
		}
		backoff.Sleep(ctx, bo.Next())
	}
	return 0, ctx.Err()
}

// consumerGone reports whether err says the durable consumer or its stream
// no longer exists (deleted while read): it must be set up again.
func consumerGone(err error) bool {
	return errors.Is(err, jetstream.ErrConsumerNotFound) || errors.Is(err, jetstream.ErrStreamNotFound)
}

// streamSeq is a message's stream sequence (0 when unknown).
func streamSeq(m jetstream.Msg) uint64 {
	md, err := m.Metadata()
	if err != nil {
		return 0
	}
	return md.Sequence.Stream
}

// awaitHandover (with an Owner: this reader is the partition's only one)
// readies a partition this reader starts on (at start, or taking it over
// from another process) and returns the consumer's last delivery sequence,
// which the next delivery follows; ctx's error when it ended first, or
// jetstream.ErrConsumerNotFound or ErrStreamNotFound when the consumer is
// gone (deleted meanwhile: set it up again). When an
// earlier reader of the durable left messages unacknowledged (a process
// killed mid-batch, or one that handed the partition over and still
// settles its last batch), those would come again only once their ack wait
// expires (later still when the consumer's leader moved with the dead
// server), after newer messages of the same series. So the reader gives a
// live earlier reader a moment to settle, then resets the consumer to its
// ack floor: delivery resumes in stream order from the first message not
// acknowledged. It does not read before it knows (a consumer that does not
// answer has no leader to deliver anyway).
func (c *Consumer) awaitHandover(ctx context.Context, js jetstream.JetStream, cons jetstream.Consumer, stream string) (lastDelivery uint64, err error) {
	deadline := time.Now().Add(handoverGrace)
	warnAt := deadline.Add(handoverInfoWait)
	for ctx.Err() == nil {
		info, err := cons.Info(ctx)
		if err == nil && info.NumAckPending == 0 {
			return info.Delivered.Consumer, nil
		}
		if consumerGone(err) {
			return 0, err
		}
		if err != nil || time.Now().Before(deadline) {
			if err != nil && !warnAt.IsZero() && time.Now().After(warnAt) {
				c.logger.Warn("sink: the partition's consumer does not answer; waiting for it before reading", "stream", stream, "err", err)
				warnAt = time.Time{}
			}
			backoff.Sleep(ctx, 100*time.Millisecond)
			continue
		}
		floor, err := c.resetToAckFloor(ctx, js, stream)
		if err == nil {
			c.logger.Info("sink: partition taken over: reading again from its first unacknowledged message",
				"stream", stream, "ack_floor", floor, "unacknowledged", info.NumAckPending)
		}
		return 0, err // delivery sequences start again at 1
	}
	return 0, ctx.Err()
}

// handoverInfoWait is how long a reader starting on a partition waits
// for the consumer to answer (its leader being elected) before it says so.
const handoverInfoWait = 10 * time.Second

// handoverGrace is how long a reader starting on a partition lets an
// earlier reader settle the batch in its hands.
const handoverGrace = 2 * time.Second

// ensure creates the durable consumer on stream or updates its
// configuration. Filters of a site and group type also take the partitioned
// subjects (wire.WithPartitions). An EventReader's stream is the events
// stream, made here when no app has published yet.
func (c *Consumer) ensure(ctx context.Context, js jetstream.JetStream, stream string) (jetstream.Consumer, error) {
	subjects := c.subjects
	if len(subjects) == 0 {
		subjects = []string{wire.AllMetrics}
	}
	filter := wire.WithPartitions(subjects)
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if c.events {
		filter = c.subjects
		if len(filter) == 0 {
			filter = []string{wire.AllEvents}
		}
		if _, err := js.Stream(cctx, event.Stream); errors.Is(err, jetstream.ErrStreamNotFound) {
			// No app has published yet: the sink makes the stream.
			if err := event.EnsureStream(cctx, js, replicasOr(cctx, js, c.replicas)); err != nil {
				return nil, fmt.Errorf("sink %s: %w", c.name, err)
			}
		}
	}
	deliver := jetstream.DeliverAllPolicy
	if _, ok := c.sink.(FromNow); ok {
		deliver = jetstream.DeliverNewPolicy
	}
	cons, err := js.CreateOrUpdateConsumer(cctx, stream, jetstream.ConsumerConfig{
		Durable:        c.durable,
		Description:    "Panoptes sink " + c.name,
		DeliverPolicy:  deliver,
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        c.pace.AckWait,
		MaxDeliver:     -1, // a sink that is down keeps its messages until retention drops them
		FilterSubjects: filter,
		MaxAckPending:  max(4*c.pace.Batch, 1000),
	})
	if err != nil {
		return nil, fmt.Errorf("sink %s: consumer %s on stream %s: %w", c.name, c.durable, stream, err)
	}
	return cons, nil
}

// refused reports whether the server refused the consumer's configuration,
// which no retry fixes; a missing stream or an unavailable JetStream may be
// temporary (the bus is starting, a cluster is electing a leader).
func refused(err error) bool {
	if jserr.NotReady(err) {
		return false
	}
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	return apiErr.Code != 503 && apiErr.ErrorCode != jetstream.JSErrCodeStreamNotFound
}

// newBackoff spaces the attempts after failures: doubling from BackoffMin
// up to BackoffMax, jittered so that the sinks of a cluster do not all
// retry a store that is back at the same moment.
func (c *Consumer) newBackoff() backoff.Backoff {
	return backoff.Backoff{Min: c.pace.BackoffMin, Max: c.pace.BackoffMax, Jitter: c.pace.Jitter}
}
