package node

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/rate"
)

// activity counts what the node did since the last summary line.
type activity struct {
	ok, failed        atomic.Uint64 // checks by outcome
	published, errors atomic.Uint64 // groups published, groups that failed to publish

	mu   sync.Mutex
	busy []busyInterface // the busiest interfaces of the round, busiest first
}

// busyInterface is an interface's traffic in one poll (bits/s).
type busyInterface struct {
	resource, name string
	in, out        float64
}

// topBusy is how many interfaces the summary line names.
const topBusy = 3

// noteBusy keeps the set's interfaces that carry the most traffic
// (bits_in_rate or bits_out_rate, with rates on) among the round's busiest.
func (a *activity) noteBusy(set *metric.GroupSet) {
	for _, g := range set.Groups {
		if g.Type != "interface" {
			continue
		}
		in, okIn := g.Metric("bits_in" + rate.Suffix)
		out, okOut := g.Metric("bits_out" + rate.Suffix)
		if !okIn && !okOut {
			continue
		}
		b := busyInterface{name: g.Dimension("interface_name"), in: in.Value.Float64(), out: out.Value.Float64()}
		if g.Resource != nil {
			b.resource = g.Resource.ID
		}
		a.mu.Lock()
		a.busy = topBusiest(a.busy, b)
		a.mu.Unlock()
	}
}

// topBusiest inserts b into list (busiest first, at most topBusy), ranked
// by its larger direction; an interface already listed is replaced.
func topBusiest(list []busyInterface, b busyInterface) []busyInterface {
	load := func(x busyInterface) float64 { return max(x.in, x.out) }
	if i := slices.IndexFunc(list, func(x busyInterface) bool { return x.resource == b.resource && x.name == b.name }); i >= 0 {
		list = slices.Delete(list, i, i+1)
	}
	if len(list) == topBusy && load(b) <= load(list[topBusy-1]) {
		return list
	}
	i, _ := slices.BinarySearchFunc(list, b, func(x, y busyInterface) int { return cmp.Compare(load(y), load(x)) })
	list = slices.Insert(list, i, b)
	if len(list) > topBusy {
		list = list[:topBusy]
	}
	return list
}

// takeBusiest returns the round's busiest interfaces as text and starts a
// new round: "sw1 Gi1/0/49 in 812 Mbit/s out 300 Mbit/s, ...".
func (a *activity) takeBusiest() string {
	a.mu.Lock()
	list := a.busy
	a.busy = nil
	a.mu.Unlock()
	parts := make([]string, len(list))
	for i, b := range list {
		parts[i] = fmt.Sprintf("%s %s in %s out %s", b.resource, b.name, bitRate(b.in), bitRate(b.out))
	}
	return strings.Join(parts, ", ")
}

// bitRate formats bits/s with an SI prefix: 812 Mbit/s, 1.25 Gbit/s.
func bitRate(v float64) string {
	units := []string{"bit/s", "kbit/s", "Mbit/s", "Gbit/s", "Tbit/s"}
	i := 0
	for v >= 1000 && i < len(units)-1 {
		v /= 1000
		i++
	}
	prec := 2
	if v >= 100 {
		prec = 0
	} else if v >= 10 {
		prec = 1
	}
	return strconv.FormatFloat(v, 'f', prec, 64) + " " + units[i]
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
		attrs := []any{
			"checks_ok", n.act.ok.Swap(0), "checks_failed", n.act.failed.Swap(0),
			"checks_skipped", skipped - lastSkipped, "groups_published", n.act.published.Swap(0),
			"publish_errors", n.act.errors.Swap(0), "resources", n.index.Len(), "scheduled", n.sched.Len(),
			"bus_buffered", h.Buffered, "bus_dropped", h.Dropped, "period", every,
		}
		if busiest := n.act.takeBusiest(); busiest != "" {
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
		ChecksOK: n.total.ok.Load(), ChecksFailed: n.total.failed.Load(),
		GroupsPublished: n.total.published.Load(), PublishFailures: n.total.errors.Load(),
	}
}
