package node

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/panoptes-go/panoptes/internal/metric"
)

// activity counts what the node did since the last summary line.
type activity struct {
	ok, failed        atomic.Uint64 // checks by outcome
	published, errors atomic.Uint64 // groups published, groups that failed to publish
}

func (a *activity) record(set *metric.GroupSet, published int, pubErr error) {
	status := metric.StatusInternalFailure
	if n := len(set.Groups); n > 0 {
		if m, ok := set.Groups[n-1].Metric("polling_status"); ok {
			status = int(m.Value.Int64())
		}
	}
	if status == metric.StatusSuccess {
		a.ok.Add(1)
	} else {
		a.failed.Add(1)
	}
	a.published.Add(uint64(published))
	if pubErr != nil {
		a.errors.Add(uint64(len(set.Groups) - published))
	}
}

// summaryInterval is the shortest plugin interval, at least 10s, so the
// console shows one line per polling round.
func (n *Node) summaryInterval() time.Duration {
	d := time.Minute
	for _, p := range n.parts.plugins {
		d = min(d, p.interval)
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
		skipped := n.sched.Stats().Skipped
		h := n.bus.Health()
		n.log.Info("polled",
			"checks_ok", n.act.ok.Swap(0), "checks_failed", n.act.failed.Swap(0),
			"checks_skipped", skipped-lastSkipped, "groups_published", n.act.published.Swap(0),
			"publish_errors", n.act.errors.Swap(0), "resources", n.index.Len(), "scheduled", n.sched.Len(),
			"bus_buffered", h.Buffered, "bus_dropped", h.Dropped, "period", every)
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
		ChecksOK: n.total.ok.Load(), ChecksFailed: n.total.failed.Load(),
		GroupsPublished: n.total.published.Load(), PublishFailures: n.total.errors.Load(),
	}
}
