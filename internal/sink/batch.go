package sink

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/panoptes-go/panoptes/internal/backoff"
	"github.com/panoptes-go/panoptes/internal/event"
	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/wire"
)

// handleMsgs settles one fetched batch of stream. A message holds one or more groups
// (wire.Groups), compressed or not (wire.Decompress): each becomes a record; an
// undecodable or rejected record, or a message whose compression is damaged, is
// set aside alone. A message is acked when all its records are written or
// set aside, and handed back (with backoff) otherwise, which may write its
// other records again: delivery is at least once. A RawWriter sink gets the
// batch streamed (streamMsgs), any other one decoded (decodeMsgs). The
// partitions' batches are written one at a time. It reports whether it
// handed messages back.
func (c *Consumer) handleMsgs(ctx context.Context, js jetstream.JetStream, stream string, msgs []jetstream.Msg, bo *backoff.Backoff) (handedBack bool) {
	stopKeepAlive := c.keepAlive(msgs)
	var res batchResult
	c.writeMu.Lock()
	if raw, ok := c.sink.(RawWriter); ok && !c.events {
		res = c.streamMsgs(ctx, raw, msgs)
	} else {
		res = c.decodeMsgs(ctx, msgs)
	}
	c.writeMu.Unlock()
	var acks, naks []jetstream.Msg
	for i, m := range msgs {
		if res.retry[i] {
			naks = append(naks, m)
		} else {
			acks = append(acks, m)
		}
	}
	if md, err := msgs[len(msgs)-1].Metadata(); err == nil {
		c.setPending(stream, md.NumPending) // before the ack: whoever sees the ack sees the lag
	}
	stopKeepAlive()
	if len(acks) > 0 {
		c.ackAll(ctx, acks)
		c.metrics.written.Add(float64(res.written))
		c.observeLatency(res.oldest)
	}
	if len(naks) == 0 {
		bo.Reset()
		return false
	}
	delay := bo.Next()
	if ctx.Err() != nil {
		delay = 0 // stopping: hand the batch back at once
	}
	c.metrics.retried.Add(float64(len(naks)))
	c.nakAll(ctx, js.Conn(), naks, delay)
	backoff.Sleep(ctx, delay)
	return true
}

// batchResult is how a batch of messages was settled.
type batchResult struct {
	retry   []bool    // per message: hand it back
	written int       // records written, of the messages not handed back
	oldest  time.Time // publication of the oldest record given to the sink
}

// decodeMsgs decodes the whole batch and writes it with one Sink.Write.
func (c *Consumer) decodeMsgs(ctx context.Context, msgs []jetstream.Msg) batchResult {
	recs := make([]Record, 0, len(msgs))
	from := make([]int, 0, len(msgs)) // recs[i] came from msgs[from[i]]
	line := make([]int, 0, len(msgs)) // and was its line[i]th group
	retry := make([]bool, len(msgs))
	for i, m := range msgs {
		at := publishedAt(m)
		payload, err := wire.Decompress(nil, m.Data())
		if err != nil {
			// Damaged compression: the whole message is one bad record.
			rec := Record{Subject: m.Subject(), Data: m.Data(), Time: at}
			if !c.setAsideRec(ctx, m, 0, rec, reasonDecode, err) {
				retry[i] = true
			}
			continue
		}
		n := 0
		for data := range wire.Groups(payload) {
			rec := Record{Subject: m.Subject(), Data: data, Time: at}
			var err error
			if c.events {
				rec.Event, err = event.Decode(data)
			} else {
				rec.Group, err = metric.Decode(data)
			}
			if err != nil {
				if !c.setAsideRec(ctx, m, n, rec, reasonDecode, err) {
					retry[i] = true
				}
				n++
				continue
			}
			recs = append(recs, rec)
			from, line = append(from, i), append(line, n)
			n++
		}
	}
	var rejected map[int]error
	if len(recs) > 0 {
		var err error
		rejected, err = c.write(ctx, recs)
		if err != nil {
			c.metrics.writeErrors.Inc()
			c.logger.Warn("sink: write failed; nothing acked, retrying", "groups", len(recs), "err", err)
			for _, i := range from {
				retry[i] = true
			}
		} else {
			for j, i := range from {
				if reason, bad := rejected[j]; bad && !c.setAsideRec(ctx, msgs[i], line[j], recs[j], reasonRejected, reason) {
					retry[i] = true
				}
			}
		}
	}
	written := 0
	for j, i := range from {
		if _, bad := rejected[j]; !retry[i] && !bad {
			written++
		}
	}
	return batchResult{retry: retry, written: written, oldest: oldestTime(recs)}
}

// publishedAt is when the bus stored m; zero when unknown.
func publishedAt(m jetstream.Msg) time.Time {
	if md, err := m.Metadata(); err == nil {
		return md.Timestamp
	}
	return time.Time{}
}

// keepAlive tells the server, every third of the ack wait, that the batch
// is still being worked on, until stop is called: a slow write or a retried
// dead letter must not make the server hand the batch to another process.
func (c *Consumer) keepAlive(msgs []jetstream.Msg) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(max(c.pace.AckWait/3, 10*time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				for _, m := range msgs {
					_ = m.InProgress()
				}
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// handleRecords is the handler given to a Reader: it settles a batch,
// retrying with backoff until every record is written or set aside, and
// returns nil then; it returns ctx's error if ctx ends first.
func (c *Consumer) handleRecords(ctx context.Context, batch []Record) error {
	bo := c.newBackoff()
	type aside struct {
		rec    Record
		reason string
		err    error
	}
	var poison []aside
	recs := make([]Record, 0, len(batch))
	_, raw := c.sink.(RawWriter)
	for _, rec := range batch {
		switch {
		case raw:
			rec.Group = nil // a raw writer stores the bytes as they are
			if err := metric.Validate(rec.Data); err != nil {
				poison = append(poison, aside{rec, reasonDecode, err})
				continue
			}
		case rec.Group == nil:
			g, err := metric.Decode(rec.Data)
			if err != nil {
				poison = append(poison, aside{rec, reasonDecode, err})
				continue
			}
			rec.Group = g
		}
		recs = append(recs, rec)
	}
	written := len(recs) == 0
	for {
		if !written {
			rejected, err := c.write(ctx, recs)
			if err != nil {
				c.metrics.writeErrors.Inc()
				c.logger.Warn("sink: write failed; nothing committed, retrying", "records", len(recs), "err", err)
			} else {
				written = true
				c.metrics.written.Add(float64(len(recs) - len(rejected)))
				for j, reason := range rejected {
					poison = append(poison, aside{recs[j], reasonRejected, reason})
				}
				c.observeLatency(oldestTime(recs))
			}
		}
		kept := poison[:0]
		for _, p := range poison {
			if err := c.setAside(ctx, p.rec, "", p.reason, p.err); err != nil {
				kept = append(kept, p)
			}
		}
		poison = kept
		if written && len(poison) == 0 {
			bo.Reset()
			return nil
		}
		c.metrics.retried.Add(float64(len(poison)))
		if !written {
			c.metrics.retried.Add(float64(len(recs)))
		}
		backoff.Sleep(ctx, bo.Next())
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// write calls the sink and returns the records it rejected as malformed
// (by index in recs), or the error that makes the whole batch a retry. A
// RawWriter gets the records as a sequence and rejects none.
func (c *Consumer) write(ctx context.Context, recs []Record) (map[int]error, error) {
	start := time.Now()
	raw, isRaw := c.sink.(RawWriter)
	var err error
	if isRaw {
		err = raw.WriteRaw(ctx, slices.Values(recs))
	} else {
		err = c.sink.Write(ctx, recs)
	}
	c.metrics.writeSeconds.Observe(time.Since(start).Seconds())
	if err == nil {
		return nil, nil
	}
	var rej *Rejected
	if isRaw || !errors.As(err, &rej) {
		return nil, err
	}
	out := make(map[int]error, len(rej.Reasons))
	for i, reason := range rej.Reasons {
		if i < 0 || i >= len(recs) {
			continue // a sink bug; the record counts as written
		}
		if reason == nil {
			reason = errors.New("rejected by the store")
		}
		out[i] = reason
	}
	return out, nil
}

// setAsideRec sets record n of message m aside; false when that failed
// (the message is then retried). Its id deduplicates a record set aside
// twice (the message redelivered before its ack reached the server): the
// durable, the stream (a partition's; none for generation 0, as before
// partitions), the message's sequence in it and n.
func (c *Consumer) setAsideRec(ctx context.Context, m jetstream.Msg, n int, rec Record, reason string, cause error) bool {
	id := ""
	if md, err := m.Metadata(); err == nil {
		if md.Stream == wire.MetricsStream {
			id = fmt.Sprintf("%s:%d:%d", c.durable, md.Sequence.Stream, n)
		} else {
			id = fmt.Sprintf("%s:%s:%d:%d", c.durable, md.Stream, md.Sequence.Stream, n)
		}
	}
	return c.setAside(ctx, rec, id, reason, cause) == nil
}

// setAside logs, counts and publishes one poison record to the dead-letter
// stream. Without a bus (a Kafka source with none), the record is only
// logged: there is nowhere to keep it, and retrying cannot help.
func (c *Consumer) setAside(ctx context.Context, rec Record, id, reason string, cause error) error {
	text := reason + ": " + cause.Error()
	if c.js == nil {
		c.logger.Error("sink: poison message dropped (no bus for dead letters)", "subject", rec.Subject, "reason", text)
		c.metrics.deadLettered(reason).Inc()
		return nil
	}
	if err := c.dead.publish(context.WithoutCancel(ctx), c.js, rec, id, text); err != nil {
		c.logger.Warn("sink: cannot set a poison message aside; retrying", "subject", rec.Subject, "reason", text, "err", err)
		return err
	}
	c.logger.Warn("sink: poison message set aside", "subject", rec.Subject, "reason", text, "dead_letter_subject", c.dead.subject)
	c.metrics.deadLettered(reason).Inc()
	return nil
}

// observeLatency records how long the batch's oldest record (published at
// oldest; zero when unknown) waited.
func (c *Consumer) observeLatency(oldest time.Time) {
	if !oldest.IsZero() {
		c.metrics.latency.Observe(max(time.Since(oldest), 0).Seconds())
	}
}

// oldestTime is the earliest known Time of recs, or zero.
func oldestTime(recs []Record) time.Time {
	var oldest time.Time
	for _, r := range recs {
		oldest = older(oldest, r.Time)
	}
	return oldest
}

// older is the earlier of two times, a zero one being unknown.
func older(a, b time.Time) time.Time {
	if a.IsZero() || !b.IsZero() && b.Before(a) {
		return b
	}
	return a
}

// ackAll acks a written batch. The last ack waits for the server's
// confirmation, which also confirms the earlier ones and any term before
// (same connection, in order); a lost ack only means a duplicate later.
func (c *Consumer) ackAll(ctx context.Context, msgs []jetstream.Msg) {
	for _, m := range msgs[:len(msgs)-1] {
		if err := m.Ack(); err != nil {
			c.logger.Debug("sink: ack failed; the message will come again", "err", err)
		}
	}
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := msgs[len(msgs)-1].DoubleAck(actx); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		c.logger.Warn("sink: ack not confirmed; written messages may come again", "err", err)
	}
}

// nakAll hands messages back for redelivery after delay. The last nak is
// a request the server answers once it has processed it (and so the ones
// before): unconfirmed naks could be lost if the server stops right after.
func (c *Consumer) nakAll(ctx context.Context, nc *nats.Conn, msgs []jetstream.Msg, delay time.Duration) {
	if len(msgs) == 0 {
		return
	}
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
		c.logger.Debug("sink: nak not confirmed; the batch comes again after the ack wait", "err", err)
	}
}
