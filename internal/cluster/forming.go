package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/panoptes-go/panoptes/internal/backoff"
	"github.com/panoptes-go/panoptes/internal/jserr"
)

const (
	formingAttempt  = 5 * time.Second // one JetStream API call while the cluster forms
	formingMaxDelay = 2 * time.Second
)

// WhileForming runs op (creating a bucket; what names it in logs) until it
// succeeds, fails for a reason waiting will not fix, or retry
// (bus.connect_retry) has passed. bus.Open
// returns once the metrics stream exists, but in a cluster of embedded
// servers that start together every other replicated asset is created
// next, by every node at once, while the meta leader is still busy: such a
// request can time out. Without retrying, the nodes of a cluster started
// together exited with "open bucket panoptes_inventory: context deadline
// exceeded".
func WhileForming(ctx context.Context, retry time.Duration, log *slog.Logger, what string, op func(context.Context) error) error {
	deadline := time.Now().Add(retry)
	bo := backoff.Backoff{Min: 250 * time.Millisecond, Max: formingMaxDelay} // jittered: the nodes start together
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, formingAttempt)
		err := op(actx)
		cancel()
		if err == nil {
			return nil
		}
		if !jserr.NotReady(err) || ctx.Err() != nil {
			return err
		}
		delay := bo.Next()
		if time.Now().Add(delay).After(deadline) {
			return fmt.Errorf("%w (retried %d times for bus.connect_retry: the JetStream cluster has no leader or fewer servers than bus.replicas)", err, attempt)
		}
		log.Warn(what+": JetStream cluster not ready yet; retrying", "attempt", attempt, "err", err)
		if backoff.Sleep(ctx, delay) != nil {
			return err
		}
	}
}
