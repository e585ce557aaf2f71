package node

import (
	"context"
	"time"
)

// drainSinks waits, up to timeout, until every sink has written and acked
// everything on the partitions it reads, so a graceful stop leaves nothing
// pending. A sink that shares its partitions with other nodes has handed
// them over by now (this node is draining) and waits for nothing. What is
// still pending after the timeout is not lost: it waits on the bus for the
// next start or the node taking the partitions over.
func (n *Node) drainSinks(timeout time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for _, c := range n.sinks {
		for {
			pending, err := c.Pending(ctx)
			if err == nil && pending == 0 {
				break
			}
			if ctx.Err() != nil {
				n.log.Warn("drain: sink did not catch up; its messages stay on the bus for the next start",
					"sink", c.Name(), "pending", pending, "err", err)
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}
