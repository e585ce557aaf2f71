package node

import (
	"context"
	"time"

	"github.com/panoptes-go/panoptes/internal/sink"
	"github.com/panoptes-go/panoptes/internal/wire"
)

// drainSinks waits, up to timeout, until every sink has written and acked
// everything on the bus, so a graceful stop leaves nothing pending. What is
// still pending after the timeout is not lost: it waits on the bus for the
// next start.
func (n *Node) drainSinks(timeout time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	js := n.bus.JetStream()
	for _, sc := range n.cfg.Sinks {
		if sc.Source != nil {
			continue // reads another source (Kafka): no bus consumer to wait for
		}
		for {
			c, err := js.Consumer(ctx, wire.MetricsStream, sink.DurableName(sc.Name))
			if err != nil {
				n.log.Warn("drain: sink consumer not found", "sink", sc.Name, "err", err)
				break
			}
			info, err := c.Info(ctx)
			if err == nil && info.NumPending == 0 && info.NumAckPending == 0 {
				break
			}
			if ctx.Err() != nil {
				pending := uint64(0)
				if info != nil {
					pending = info.NumPending + uint64(info.NumAckPending)
				}
				n.log.Warn("drain: sink did not catch up; its messages stay on the bus for the next start",
					"sink", sc.Name, "pending", pending)
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}
