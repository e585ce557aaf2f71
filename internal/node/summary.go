package node

import (
	"context"
	"time"
)

// summaryInterval is the shortest plugin interval, at least 10s, so the
// console shows one line per polling round.
func (n *Node) summaryInterval() time.Duration {
	d := time.Minute
	for _, p := range n.parts.plugins {
		d = min(d, p.Interval)
	}
	return max(d, 10*time.Second)
}

// logSummaries writes one readable line per interval: what was polled,
// what failed, what reached the bus.
func (n *Node) logSummaries(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	var lastSkipped uint64
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		skipped, act := n.sched.Stats().Skipped, &n.col.Interval
		h := n.bus.Health()
		attrs := []any{
			"checks_ok", act.OK.Swap(0), "checks_failed", act.Failed.Swap(0),
			"checks_skipped", skipped - lastSkipped, "groups_published", act.Published.Swap(0),
			"publish_errors", act.Errors.Swap(0), "resources", n.index.Len(), "scheduled", n.sched.Len(),
			"bus_buffered", h.Buffered, "bus_dropped", h.Dropped, "period", every,
		}
		if busiest := act.TakeBusiest(); busiest != "" {
			attrs = append(attrs, "busiest", busiest)
		}
		n.log.Info("polled", attrs...)
		lastSkipped = skipped
	}
}

// Stats are the node's running totals, for the benchmark harness and tests.
type Stats struct {
	Resources, Scheduled int
	// Due, Started, Skipped and Completed are the scheduler's (see
	// schedule.Stats): every due time reached is started or skipped.
	Due, Started, Skipped, Completed uint64
	// Reached: the latest due time counted in Due (schedule.Stats).
	Reached time.Time
	// Overdue: runs waiting for a worker more than a second past their
	// due time (schedule.Scheduler.Overdue).
	Overdue                          int
	LatenessP50, LatenessP99         time.Duration
	Varbinds                         uint64
	ChecksOK, ChecksFailed           uint64
	GroupsPublished, PublishFailures uint64
}

// Stats returns the totals since Run started; zero before.
func (n *Node) Stats() Stats {
	n.readyMu.Lock()
	started := n.started
	n.readyMu.Unlock()
	if !started {
		return Stats{}
	}
	ss := n.sched.Stats()
	p50, p99 := n.sched.LatencyQuantiles()
	return Stats{
		Resources: n.index.Len(), Scheduled: n.sched.Len(),
		Due: ss.Due, Started: ss.Started, Skipped: ss.Skipped, Completed: ss.Completed, Reached: ss.Reached,
		Overdue:     n.sched.Overdue(time.Second),
		LatenessP50: p50, LatenessP99: p99, Varbinds: n.pool.Varbinds(),
		ChecksOK: n.col.Total.OK.Load(), ChecksFailed: n.col.Total.Failed.Load(),
		GroupsPublished: n.col.Total.Published.Load(), PublishFailures: n.col.Total.Errors.Load(),
	}
}
