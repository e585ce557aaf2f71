package collector

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/checkstate"
	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/poll"
	"github.com/panoptes-go/panoptes/internal/wire"
)

// refPublisher is a fakePublisher that also says where the set went.
type refPublisher struct {
	fakePublisher
	seq uint64
}

func (p *refPublisher) PublishSetRefs(ctx context.Context, set *metric.GroupSet, until time.Time, refs []wire.Ref) (int, []wire.Ref, error) {
	n, err := p.PublishSetUntil(ctx, set, until)
	p.seq++
	return n, append(refs, wire.Ref{Stream: wire.MetricsStream, Seq: p.seq}), err
}

// With Options.Checks every check's run is recorded for the status page:
// its status from the status group, its times, next due (the check's
// deadline) and, from a RefPublisher, where its groups went; a reconcile
// forgets the resources no longer owned.
func TestChecksRecorded(t *testing.T) {
	sw, other := res("sw1", "lab", "network"), res("sw2", "lab", "network")
	owner := &fakeOwner{}
	c, _, _, _, _ := newTest(t, fakeInventory{sw, other}, owner)
	book := checkstate.New()
	pub := &refPublisher{}
	c.o.Checks, c.o.Publisher = book, pub

	due := time.Now().Add(time.Minute)
	ctx, cancel := context.WithDeadline(context.Background(), due)
	before := time.Now()
	c.CheckFunc(&c.o.Plugins[0], sw, time.Time{}, time.Time{})(ctx)
	c.CheckFunc(&c.o.Plugins[1], other, time.Time{}, time.Time{})(ctx)
	cancel()
	checks := book.Checks(sw.Key())
	if len(checks) != 1 {
		t.Fatalf("%d checks recorded for sw1, want 1", len(checks))
	}
	run := checks[0].Last
	if run.Plugin != "iface" || run.Interval != time.Minute || run.Status != metric.StatusSuccess || run.Reason != "" ||
		run.Start.Before(before) || run.End.Before(run.Start) || !run.NextDue.Equal(due) ||
		len(run.Messages) != 1 || run.Messages[0] != (wire.Ref{Stream: wire.MetricsStream, Seq: 1}) {
		t.Fatalf("recorded run %+v", run)
	}

	// Only sw1 owned now: sw2's record goes at the next reconcile.
	owner.owned = map[string]bool{sw.Key(): true}
	c.Reconcile()
	if book.Checks(other.Key()) != nil || book.Checks(sw.Key()) == nil {
		t.Fatal("the book still holds a resource no longer owned, or lost an owned one")
	}

	// A plain Publisher: the run is recorded without refs.
	c.o.Publisher = &pub.fakePublisher
	ctx, cancel = context.WithDeadline(context.Background(), due)
	c.CheckFunc(&c.o.Plugins[0], sw, time.Time{}, time.Time{})(ctx)
	cancel()
	if last := book.Checks(sw.Key())[0]; len(last.Last.Messages) != 0 || len(last.History) != 2 {
		t.Fatalf("without refs: %+v", last)
	}
}

// A failed check's recorded reason is its status and the runner's error,
// which is what a person needs on the device's page.
func TestRunReasonNamesTheError(t *testing.T) {
	status := &metric.Group{Type: poll.StatusGroupType, Metrics: []metric.Metric{{Name: poll.StatusMetric, Value: metric.Int(metric.StatusNetworkFailure)}}}
	set := &metric.GroupSet{Groups: []*metric.Group{status}, Err: errors.New("walk ifTable: device 10.0.0.1:161: timeout after 2 retries")}
	run := runOf(&Plugin{Name: "iface", Interval: time.Minute}, time.Now(), time.Time{}, set, nil)
	if want := metric.StatusName(metric.StatusNetworkFailure) + ": walk ifTable: device 10.0.0.1:161: timeout after 2 retries"; run.Reason != want {
		t.Fatalf("reason %q, want %q", run.Reason, want)
	}
	set.Err = nil
	if run := runOf(&Plugin{Name: "iface"}, time.Now(), time.Time{}, set, nil); run.Reason != metric.StatusName(metric.StatusNetworkFailure) {
		t.Fatalf("without an error: reason %q", run.Reason)
	}
}
