package collector

import (
	"context"
	"log/slog"
	"time"

	"github.com/panoptes-go/panoptes/internal/schedule"
)

// Runs is what the summary line and Stats read of the scheduler
// (*schedule.Scheduler).
type Runs interface {
	Stats() schedule.Stats
	Len() int
}

// SummaryOptions configure the summary line.
type SummaryOptions struct {
	Runs Runs
	// Resources counts the inventory; Bus says what the bus buffers and
	// dropped (bus.Health).
	Resources func() int
	Bus       func() (buffered int, dropped uint64)
	Logger    *slog.Logger
}

// SummaryInterval is the shortest plugin interval, at least 10s, so the
// console shows one line per polling round.
func (c *Collector) SummaryInterval() time.Duration {
	d := time.Minute
	for _, p := range c.Plugins() {
		d = min(d, p.Interval)
	}
	return max(d, 10*time.Second)
}

// LogSummaries writes one readable line per interval until ctx ends: what
// was polled, what failed, what reached the bus.
func (c *Collector) LogSummaries(ctx context.Context, every time.Duration, o SummaryOptions) {
	t := time.NewTicker(every)
	defer t.Stop()
	var lastSkipped uint64
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		skipped, act := o.Runs.Stats().Skipped, &c.Interval
		buffered, dropped := o.Bus()
		attrs := []any{
			"checks_ok", act.OK.Swap(0), "checks_failed", act.Failed.Swap(0),
			"checks_skipped", skipped - lastSkipped, "groups_published", act.Published.Swap(0),
			"publish_errors", act.Errors.Swap(0), "resources", o.Resources(), "scheduled", o.Runs.Len(),
			"bus_buffered", buffered, "bus_dropped", dropped, "period", every,
		}
		if busiest := act.TakeBusiest(); busiest != "" {
			attrs = append(attrs, "busiest", busiest)
		}
		o.Logger.Info("polled", attrs...)
		lastSkipped = skipped
	}
}

// Stats are a node's running totals, for the benchmark harness and tests.
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

// Stats returns the totals since the start: the scheduler's and the
// collector's, with the inventory's resources and the varbinds read.
func (c *Collector) Stats(s *schedule.Scheduler, resources int, varbinds uint64) Stats {
	ss := s.Stats()
	p50, p99 := s.LatencyQuantiles()
	return Stats{
		Resources: resources, Scheduled: s.Len(),
		Due: ss.Due, Started: ss.Started, Skipped: ss.Skipped, Completed: ss.Completed, Reached: ss.Reached,
		Overdue:     s.Overdue(time.Second),
		LatenessP50: p50, LatenessP99: p99, Varbinds: varbinds,
		ChecksOK: c.Total.OK.Load(), ChecksFailed: c.Total.Failed.Load(),
		GroupsPublished: c.Total.Published.Load(), PublishFailures: c.Total.Errors.Load(),
	}
}

// maxFinishWait bounds how long a stop waits for checks in flight (a
// device that does not answer holds its check until the SNMP timeouts
// end); what still runs then is cancelled.
const maxFinishWait = 20 * time.Second

// Finish unschedules every check and waits until those in flight have
// finished and published, each within its deadline (its next due time) or
// maxFinishWait: stopping the scheduler would cancel them, ending each as
// status 5, context canceled. With wait false (an abrupt stop, tests) it
// waits for nothing.
func (c *Collector) Finish(s *schedule.Scheduler, wait bool) {
	s.Update(nil)
	if !wait {
		return
	}
	var longest time.Duration
	for _, p := range c.Plugins() {
		longest = max(longest, p.Interval)
	}
	limit := min(longest+time.Second, maxFinishWait)
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if st := s.Stats(); st.Started == st.Completed {
			return
		}
	}
}
