package sink

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/bus"
	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/wire"
)

// appLike is a sink as an app is one: it reads one group type (a subject
// filter) from now on (FromNow) and records each group's device and seq.
// A write may be held (hold closed: held until release), as a process that
// dies with its batch in hand: what it holds is never recorded.
type appLike struct {
	mu      sync.Mutex
	seqs    map[string][]int // device → seqs in write order
	other   int              // groups of another type
	hold    bool
	release chan struct{}
	fail    int // the next writes that fail
}

func (a *appLike) FromNow() {}

func (a *appLike) Write(_ context.Context, batch []Record) error {
	a.mu.Lock()
	hold := a.hold
	a.mu.Unlock()
	if hold {
		<-a.release
		return errors.New("dead")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.fail > 0 {
		a.fail--
		return errors.New("store unavailable")
	}
	for _, r := range batch {
		if r.Group.Type != "status" {
			a.other++
			continue
		}
		seq, _ := strconv.Atoi(r.Group.Dimension("seq"))
		a.seqs[r.Group.Resource.ID] = append(a.seqs[r.Group.Resource.ID], seq)
	}
	return nil
}

func (a *appLike) snapshot() map[string][]int {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := map[string][]int{}
	for k, v := range a.seqs {
		out[k] = append([]int(nil), v...)
	}
	return out
}

// publishMixed publishes check seq of devices sw00..: a status group (the
// type the app reads) and an interface group (another, filtered out).
func publishMixed(t *testing.T, b *bus.Bus, devices, seq int) {
	t.Helper()
	for d := range devices {
		r := &resource.Resource{Site: "lab", Class: "network", Subclass: "switch", Type: "cisco", ID: fmt.Sprintf("sw%02d", d), Endpoint: "x"}
		for _, typ := range []string{"interface", "status"} {
			set := &metric.GroupSet{Groups: []*metric.Group{{
				Resource: r, Type: typ, Interval: 1, CreationTimestamp: float64(seq), SchemaVersion: metric.SchemaVersion,
				Dimensions: []metric.Dimension{{Name: "seq", Value: strconv.Itoa(seq)}},
				Metrics:    []metric.Metric{{Name: "polling_status", Value: metric.Int(0), Type: metric.Gauge, Timestamp: float64(seq)}},
			}}}
			if n, err := b.PublishSet(context.Background(), set); n != 1 || err != nil {
				t.Fatalf("PublishSet = %d, %v", n, err)
			}
		}
	}
}

// exactlyOnce reports whether the union of got has every seq 0..n-1 of
// every device exactly once, in order.
func exactlyOnce(devices, n int, got ...map[string][]int) error {
	all := map[string][]int{}
	for _, g := range got {
		for k, v := range g {
			if len(all[k]) > 0 && len(v) > 0 {
				return fmt.Errorf("%s written by two instances", k)
			}
			all[k] = append(all[k], v...)
		}
	}
	if len(all) != devices {
		return fmt.Errorf("%d devices written, want %d", len(all), devices)
	}
	for id, seqs := range all {
		for i, s := range seqs {
			if s != i {
				return fmt.Errorf("%s: seqs %v, want 0..%d once each in order", id, seqs, n-1)
			}
		}
		if len(seqs) != n {
			return fmt.Errorf("%s: seqs %v, want 0..%d once each in order", id, seqs, n-1)
		}
	}
	return nil
}

// TestAppInstancesSplitPartitions: two instances of an app (a consumer
// with a subject filter, reading from now on, each with the node's Owner)
// split the partitions: every group of the app's type is handled once, by
// the instance owning its partition, in order, none of another type. When
// one dies holding a batch, the other takes its partitions over and
// handles what it held and what came since, once each, in order.
func TestAppInstancesSplitPartitions(t *testing.T) {
	fastPartitions(t)
	b := openPartitioned(t, bus.Options{DataDir: t.TempDir(), Partitions: 4})
	js := b.JetStream()
	streams := b.Layout().Streams()
	assign := map[string]string{streams[0]: "a", streams[1]: "b", streams[2]: "a", streams[3]: "b"}
	instance := func(self string) (*Consumer, *appLike, *testOwner) {
		app := &appLike{seqs: map[string][]int{}, release: make(chan struct{})}
		owner := &testOwner{owner: maps.Clone(assign), self: self}
		c, err := NewFor(config.Sink{Name: "app_events", Subjects: []string{wire.MetricsPrefix + "*.status"}}, app, Deps{Owner: owner})
		if err != nil {
			t.Fatal(err)
		}
		c.pace.MaxWait = 100 * time.Millisecond
		return c, app, owner
	}
	ca, appA, ownerA := instance("a")
	cb, appB, ownerB := instance("b")
	running(t, ca, js)
	t.Cleanup(func() { close(appA.release) }) // before a's stop: a dead instance's write never ends
	running(t, cb, js)
	eventually(t, "both instances' consumers on every partition", func() bool {
		for _, s := range streams {
			if _, err := js.Consumer(context.Background(), s, DurableName("app_events")); err != nil {
				return false
			}
		}
		return true
	})
	const devices = 40
	n := 0
	for ; n < 5; n++ {
		publishMixed(t, b, devices, n)
	}
	eventually(t, "every status group handled", func() bool { return exactlyOnce(devices, n, appA.snapshot(), appB.snapshot()) == nil })
	l := b.Layout()
	for self, app := range map[string]*appLike{"a": appA, "b": appB} {
		for id := range app.snapshot() {
			if s := l.Stream(l.Partition(id)); assign[s] != self {
				t.Errorf("instance %s handled %s, of partition %s (instance %s's)", self, id, s, assign[s])
			}
		}
		if app.other != 0 {
			t.Errorf("instance %s handled %d groups of a type it does not read", self, app.other)
		}
	}

	// a dies with its next batch in hand; its partitions move to b.
	appA.mu.Lock()
	appA.hold = true
	appA.mu.Unlock()
	for ; n < 10; n++ {
		publishMixed(t, b, devices, n)
	}
	time.Sleep(300 * time.Millisecond) // a fetches its batch and holds it
	for _, o := range []*testOwner{ownerA, ownerB} {
		o.mu.Lock()
		for s := range o.owner {
			o.owner[s] = "b"
		}
		o.mu.Unlock()
	}
	// a's devices: b goes on from where a stopped.
	joined := func() map[string][]int {
		out := appB.snapshot()
		for id, seqs := range appA.snapshot() {
			out[id] = append(seqs, out[id]...)
		}
		return out
	}
	waitUntilTrue(20*time.Second, func() bool { return exactlyOnce(devices, n, joined()) == nil })
	after := joined()
	if err := exactlyOnce(devices, n, after); err != nil {
		t.Fatalf("after b took a's partitions over: %v", err)
	}
}

// TestFailedWritesKeepOrder: with an Owner, a batch whose write failed
// comes again before anything published meanwhile (the reader resets the
// consumer to its ack floor after handing it back): every group once, in
// order, however the failures and new messages interleave.
func TestFailedWritesKeepOrder(t *testing.T) {
	b := openPartitioned(t, bus.Options{DataDir: t.TempDir(), Partitions: 1})
	js := b.JetStream()
	app := &appLike{seqs: map[string][]int{}, release: make(chan struct{}), fail: 4}
	c, err := NewFor(config.Sink{Name: "flaky", Subjects: []string{wire.MetricsPrefix + "*.status"}}, app, Deps{Owner: soleOwner{}})
	if err != nil {
		t.Fatal(err)
	}
	c.pace.MaxWait = 50 * time.Millisecond
	c.pace.BackoffMin, c.pace.BackoffMax = 30*time.Millisecond, 60*time.Millisecond
	running(t, c, js)
	eventually(t, "the consumer", func() bool {
		_, err := js.Consumer(context.Background(), b.Layout().Stream(0), DurableName("flaky"))
		return err == nil
	})
	const devices = 10
	n := 0
	for ; n < 8; n++ { // new checks while writes fail and batches come again
		publishMixed(t, b, devices, n)
		time.Sleep(40 * time.Millisecond)
	}
	waitUntilTrue(15*time.Second, func() bool { return exactlyOnce(devices, n, app.snapshot()) == nil })
	if err := exactlyOnce(devices, n, app.snapshot()); err != nil {
		t.Fatalf("after 4 failed writes: %v", err)
	}
	app.mu.Lock()
	defer app.mu.Unlock()
	if app.fail != 0 {
		t.Fatalf("%d of the 4 failures left: the test wrote too soon", app.fail)
	}
}

// TestConsumerDeletedMidBatch: when the partition's durable consumer is
// deleted (an operator's `nats consumer rm`) while a batch is in hand and
// that batch's write fails, the reader does not retry the reset to the
// ack floor forever: it sets the consumer up again and reads on.
func TestConsumerDeletedMidBatch(t *testing.T) {
	b := openPartitioned(t, bus.Options{DataDir: t.TempDir(), Partitions: 1})
	js := b.JetStream()
	app := &appLike{seqs: map[string][]int{}, release: make(chan struct{}), hold: true}
	c, err := NewFor(config.Sink{Name: "gone", Subjects: []string{wire.MetricsPrefix + "*.status"}}, app, Deps{Owner: soleOwner{}})
	if err != nil {
		t.Fatal(err)
	}
	c.pace.MaxWait = 50 * time.Millisecond
	c.pace.BackoffMin, c.pace.BackoffMax = 20*time.Millisecond, 50*time.Millisecond
	running(t, c, js)
	stream, durable := b.Layout().Stream(0), DurableName("gone")
	eventually(t, "the consumer", func() bool {
		_, err := js.Consumer(context.Background(), stream, durable)
		return err == nil
	})
	publishMixed(t, b, 2, 0)
	eventually(t, "a batch in hand", func() bool {
		cons, err := js.Consumer(context.Background(), stream, durable)
		return err == nil && cons.CachedInfo().NumAckPending > 0
	})
	if err := js.DeleteConsumer(context.Background(), stream, durable); err != nil {
		t.Fatal(err)
	}
	app.mu.Lock()
	app.hold = false
	app.mu.Unlock()
	close(app.release) // the held write fails: the batch is handed back
	eventually(t, "the consumer set up again", func() bool {
		_, err := js.Consumer(context.Background(), stream, durable)
		return err == nil
	})
	// The new consumer reads from now on (an app's): what is published
	// after it exists is written.
	for seq := 1; ; seq++ {
		publishMixed(t, b, 2, seq)
		if got := app.snapshot(); len(got["sw00"]) > 0 && len(got["sw01"]) > 0 {
			break
		}
		if seq == 100 {
			t.Fatalf("nothing written after the consumer was deleted and set up again: %v", app.snapshot())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
