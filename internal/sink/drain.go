package sink

import (
	"context"
	"log/slog"
	"time"
)

// Drain waits, up to timeout, until every consumer has written and acked
// everything on the partitions it reads, so a graceful stop leaves nothing
// pending. A consumer that shares its partitions with other nodes has
// handed them over by then (the node is draining) and waits for nothing.
// What is still pending after the timeout is not lost: it waits on the bus
// for the next start or the node taking the partitions over.
func Drain(consumers []*Consumer, timeout time.Duration, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for _, c := range consumers {
		for {
			pending, err := c.Pending(ctx)
			if err == nil && pending == 0 {
				break
			}
			if ctx.Err() != nil {
				log.Warn("drain: sink did not catch up; its messages stay on the bus for the next start",
					"sink", c.Name(), "pending", pending, "err", err)
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}
