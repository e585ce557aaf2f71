package sink

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/wire"
)

// errStoppedEarly fails a batch whose RawWriter returned nil without
// pulling every record: what it did not see is not stored.
var errStoppedEarly = errors.New("the sink stopped reading the batch before its end")

// streamMsgs writes a batch to a RawWriter message by message: each one is
// decompressed into one reused buffer, its groups are checked with
// metric.Validate (not decoded) unless the publisher vouched for them
// (wire.Vouched: our own encoder, not a sourced stream), and handed over
// one by one, so about one
// decompressed message is in memory at a time. Poison is set aside as in
// decodeMsgs (same reasons and dead-letter ids) as the stream reaches it.
// On a failed write every message with a record handed over, and every
// message the sink did not reach, is handed back.
func (c *Consumer) streamMsgs(ctx context.Context, raw RawWriter, msgs []jetstream.Msg) batchResult {
	res := batchResult{retry: make([]bool, len(msgs))}
	good := make([]int, len(msgs)) // records of each message handed to the sink
	handed := 0                    // in all
	finished := 0                  // messages whose every record was handed over or set aside
	var own time.Duration          // spent here rather than in the sink
	started := false
	records := func(yield func(Record) bool) {
		if started {
			return // a sequence to pull once
		}
		started = true
		for i, m := range msgs {
			t0 := time.Now()
			at := publishedAt(m)
			payload, err := c.reader.Payload(m.Data()) // valid until the next message: the sink copied what it kept
			if err != nil {
				// Damaged compression: the whole message is one bad record.
				rec := Record{Subject: m.Subject(), Data: m.Data(), Time: at}
				if !c.setAsideRec(ctx, m, 0, rec, reasonDecode, err) {
					res.retry[i] = true
				}
				own += time.Since(t0)
				finished++
				continue
			}
			n := 0
			vouched := wire.Vouched(m.Headers().Get)
			for data := range wire.Groups(payload) {
				rec := Record{Subject: m.Subject(), Data: data, Time: at}
				if vouched {
					c.metrics.trusted.Inc()
				} else if err := metric.Validate(data); err != nil {
					// Validate's error is Decode's: the same reason as decodeMsgs gives.
					if !c.setAsideRec(ctx, m, n, rec, reasonDecode, err) {
						res.retry[i] = true
					}
					n++
					continue
				}
				n++
				good[i]++
				handed++
				res.oldest = older(res.oldest, at)
				own += time.Since(t0)
				if !yield(rec) {
					return
				}
				t0 = time.Now()
			}
			own += time.Since(t0)
			finished++
		}
	}
	start := time.Now()
	err := raw.WriteRaw(ctx, records)
	if err == nil && finished < len(msgs) {
		err = errStoppedEarly
	}
	if handed > 0 {
		c.metrics.writeSeconds.Observe(max(time.Since(start)-own, 0).Seconds())
	}
	c.reader.Trim()
	if err != nil {
		c.metrics.writeErrors.Inc()
		c.logger.Warn("sink: write failed; nothing acked, retrying", "groups", handed, "err", err)
		for i := range msgs {
			if good[i] > 0 || i >= finished {
				res.retry[i] = true
			}
		}
	}
	for i, n := range good {
		if !res.retry[i] {
			res.written += n
		}
	}
	return res
}
