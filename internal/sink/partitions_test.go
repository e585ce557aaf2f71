package sink

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/panoptes-go/panoptes/internal/bus"
	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/wire"
)

// fastLayout: buses that follow a new generation within 100ms and retire
// the old one 300ms after it is made.
func fastLayout(o bus.Options) bus.Options {
	o.LayoutTick, o.RetireAfter = 100*time.Millisecond, 300*time.Millisecond
	if o.MaxBytes == 0 {
		o.MaxBytes = 256 << 20
	}
	return o
}

func openPartitioned(t *testing.T, o bus.Options) *bus.Bus {
	t.Helper()
	if testing.Short() {
		t.Skip("starts an embedded NATS server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := bus.Open(ctx, fastLayout(o))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// fastPartitions makes consumers read the layout every 100ms.
func fastPartitions(t *testing.T) {
	old := partitionsTick
	partitionsTick = 100 * time.Millisecond
	t.Cleanup(func() { partitionsTick = old })
}

// publishDevices publishes check number seq of devices sw00.., one set (a
// status group with dimension "seq") per device.
func publishDevices(t *testing.T, b *bus.Bus, devices, seq int) {
	t.Helper()
	for d := range devices {
		r := &resource.Resource{Site: "lab", Class: "network", Subclass: "switch", Type: "cisco", ID: fmt.Sprintf("sw%02d", d), Endpoint: "x"}
		set := &metric.GroupSet{Groups: []*metric.Group{{
			Resource: r, Type: "status", Interval: 1, CreationTimestamp: float64(seq), SchemaVersion: metric.SchemaVersion,
			Dimensions: []metric.Dimension{{Name: "seq", Value: strconv.Itoa(seq)}},
			Metrics:    []metric.Metric{{Name: "polling_status", Value: metric.Int(0), Type: metric.Gauge, Timestamp: float64(seq)}},
		}}}
		if n, err := b.PublishSet(context.Background(), set); n != 1 || err != nil {
			t.Fatalf("PublishSet = %d, %v", n, err)
		}
	}
}

// written is what a file sink wrote: each resource's seqs in file order.
func written(t *testing.T, paths ...string) map[string][]int {
	t.Helper()
	out := map[string][]int{}
	for _, p := range paths {
		for _, g := range readFileGroups(t, p) {
			seq, _ := strconv.Atoi(g.Dimension("seq"))
			out[g.Resource.ID] = append(out[g.Resource.ID], seq)
		}
	}
	return out
}

// inOrder reports whether every resource has every seq of 0..n-1, in order,
// a repeat (at-least-once) allowed only of the seq before.
func inOrder(got map[string][]int, devices, n int) error {
	if len(got) != devices {
		return fmt.Errorf("%d devices written, want %d", len(got), devices)
	}
	for id, seqs := range got {
		next := 0
		for _, s := range seqs {
			switch {
			case s == next:
				next++
			case s == next-1: // redelivered
			default:
				return fmt.Errorf("%s: seq %d after %d (got %v)", id, s, next-1, seqs)
			}
		}
		if next != n {
			return fmt.Errorf("%s: %d of %d seqs written", id, next, n)
		}
	}
	return nil
}

// TestPartitionedSinkReadsEveryPartition: with 3 partitions a sink has a
// durable consumer on each stream and writes every group once; Pending
// falls to 0 once all is written.
func TestPartitionedSinkReadsEveryPartition(t *testing.T) {
	fastPartitions(t)
	b := openPartitioned(t, bus.Options{DataDir: t.TempDir(), Partitions: 3})
	out := filepath.Join(t.TempDir(), "m.jsonl")
	c := fastConsumer(t, config.Sink{Name: "parts", Options: fileBlock(out)}, nil)
	const devices, checks = 30, 5
	for s := range checks {
		publishDevices(t, b, devices, s)
	}
	running(t, c, b.JetStream())
	eventually(t, "every group written", func() bool { return inOrder(written(t, out), devices, checks) == nil })
	if err := inOrder(written(t, out), devices, checks); err != nil {
		t.Fatal(err)
	}
	for _, name := range b.Layout().Streams() {
		if _, err := b.JetStream().Consumer(context.Background(), name, DurableName("parts")); err != nil {
			t.Errorf("no durable on %s: %v", name, err)
		}
	}
	eventually(t, "nothing pending", func() bool {
		n, err := c.Pending(context.Background())
		return err == nil && n == 0
	})
}

// TestUpgradeDeliversTheSingleStream: a data_dir of a version before
// partitions holds messages in PANOPTES_METRICS that no sink has read yet,
// and others a sink had started on. After the upgrade, with 3 partitions,
// every one reaches the sinks, before anything published since (each
// device's checks in order).
func TestUpgradeDeliversTheSingleStream(t *testing.T) {
	fastPartitions(t)
	if testing.Short() {
		t.Skip("starts an embedded NATS server")
	}
	dir, outDir := t.TempDir(), t.TempDir()
	b := openPartitioned(t, bus.Options{DataDir: dir})
	if b.Layout() != wire.Legacy {
		t.Fatalf("a new bus without partitions is %v", b.Layout())
	}
	// As before partitions: the stream takes every metrics subject.
	if _, err := b.JetStream().UpdateStream(context.Background(), jetstream.StreamConfig{Name: wire.MetricsStream, Subjects: []string{wire.AllMetrics},
		Storage: jetstream.FileStorage, MaxBytes: 256 << 20, Duplicates: 2 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	const devices = 12
	publishDevices(t, b, devices, 0)
	// "early" reads part of it before the upgrade; "late" never ran.
	early := fastConsumer(t, config.Sink{Name: "early", Options: fileBlock(filepath.Join(outDir, "early.jsonl"))}, nil)
	stop := running(t, early, b.JetStream())
	eventually(t, "early to write check 0", func() bool { return len(written(t, filepath.Join(outDir, "early.jsonl"))) == devices })
	stop()
	publishDevices(t, b, devices, 1)
	publishDevices(t, b, devices, 2)
	_ = b.Close()

	b = openPartitioned(t, bus.Options{DataDir: dir, Partitions: 3})
	if b.Layout() != (wire.Layout{Gen: 1, N: 3}) {
		t.Fatalf("upgraded with 3 partitions: %v", b.Layout())
	}
	publishDevices(t, b, devices, 3)
	publishDevices(t, b, devices, 4)
	early = fastConsumer(t, config.Sink{Name: "early", Options: fileBlock(filepath.Join(outDir, "early.jsonl"))}, nil)
	late := fastConsumer(t, config.Sink{Name: "late", Options: fileBlock(filepath.Join(outDir, "late.jsonl"))}, nil)
	running(t, early, b.JetStream())
	running(t, late, b.JetStream())
	for _, name := range []string{"early", "late"} {
		path := filepath.Join(outDir, name+".jsonl")
		eventually(t, name+" to write every check", func() bool { return inOrder(written(t, path), devices, 5) == nil })
		if err := inOrder(written(t, path), devices, 5); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
}

// TestSinkFollowsRepartition: while groups are published a hub changes
// from 3 to 5 partitions; the sink finishes the old generation before it
// reads the new one, so every device's checks are written in order.
func TestSinkFollowsRepartition(t *testing.T) {
	fastPartitions(t)
	hub := openPartitioned(t, bus.Options{DataDir: t.TempDir(), Listen: "127.0.0.1:0", Partitions: 3})
	out := filepath.Join(t.TempDir(), "m.jsonl")
	c := fastConsumer(t, config.Sink{Name: "follow", Options: fileBlock(out)}, nil)
	running(t, c, hub.JetStream())
	const devices = 10
	n := 0
	for ; n < 20; n++ {
		publishDevices(t, hub, devices, n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sw, err := bus.Open(ctx, fastLayout(bus.Options{URL: hub.ClientURL(), Partitions: 5}))
	if err != nil {
		t.Fatal(err)
	}
	_ = sw.Close()
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); n++ {
		publishDevices(t, hub, devices, n)
		time.Sleep(10 * time.Millisecond)
	}
	if hub.Layout() != (wire.Layout{Gen: 2, N: 5}) {
		t.Fatalf("hub publishes to %v", hub.Layout())
	}
	eventually(t, "every check written", func() bool { return inOrder(written(t, out), devices, n) == nil })
	if err := inOrder(written(t, out), devices, n); err != nil {
		t.Fatal(err)
	}
}

// testOwner assigns partitions to instances by a table the test changes.
type testOwner struct {
	mu    sync.Mutex
	owner map[string]string // partition → instance
	self  string
}

func (o *testOwner) Owns(_, partition string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.owner[partition] == o.self
}

// TestInstancesSplitPartitions: two instances of one sink read the
// partitions their Owner gives them, nothing else; when one stops and its
// partitions are given to the other, the other takes them over from where
// the first one's acks stopped: nothing lost.
func TestInstancesSplitPartitions(t *testing.T) {
	fastPartitions(t)
	b := openPartitioned(t, bus.Options{DataDir: t.TempDir(), Partitions: 4})
	streams := b.Layout().Streams()
	assign := map[string]string{streams[0]: "a", streams[1]: "b", streams[2]: "a", streams[3]: "b"}
	dir := t.TempDir()
	instance := func(self string) (*Consumer, string) {
		path := filepath.Join(dir, self+".jsonl")
		c, err := New(config.Sink{Name: "shared", Type: "test_file", Options: fileBlock(path)}, Deps{Owner: &testOwner{owner: maps.Clone(assign), self: self}})
		if err != nil {
			t.Fatal(err)
		}
		c.pace.MaxWait = 100 * time.Millisecond
		return c, path
	}
	ca, pa := instance("a")
	cb, pb := instance("b")
	ownerA, ownerB := ca.owner.(*testOwner), cb.owner.(*testOwner)
	stopA := running(t, ca, b.JetStream())
	running(t, cb, b.JetStream())
	const devices = 40
	n := 0
	for ; n < 5; n++ {
		publishDevices(t, b, devices, n)
	}
	eventually(t, "both instances to write everything", func() bool { return inOrder(written(t, pa, pb), devices, n) == nil })
	l := b.Layout()
	for path, self := range map[string]string{pa: "a", pb: "b"} {
		for id := range written(t, path) {
			if s := l.Stream(l.Partition(id)); assign[s] != self {
				t.Errorf("instance %s wrote %s, of partition %s (instance %s's)", self, id, s, assign[s])
			}
		}
	}

	stopA()
	for ; n < 10; n++ {
		publishDevices(t, b, devices, n)
	}
	for _, o := range []*testOwner{ownerA, ownerB} {
		o.mu.Lock()
		for s := range o.owner {
			o.owner[s] = "b"
		}
		o.mu.Unlock()
	}
	eventually(t, "b to take a's partitions over", func() bool { return inOrder(written(t, pa, pb), devices, n) == nil })
	if err := inOrder(written(t, pa, pb), devices, n); err != nil {
		t.Fatal(err)
	}
	after := written(t, pb)
	for id := range written(t, pa) {
		if !slices.ContainsFunc(after[id], func(seq int) bool { return seq >= 5 }) {
			t.Errorf("%s (a's partition) has no check after the takeover in b's file: %v", id, after[id])
		}
	}
}

// readFileGroups decodes the complete lines of a file sink's file.
func readFileGroups(t *testing.T, path string) []*metric.Group {
	t.Helper()
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	} else if err != nil {
		t.Fatal(err)
	}
	var out []*metric.Group
	for _, line := range strings.SplitAfter(string(data), "\n") {
		if !strings.HasSuffix(line, "\n") || strings.TrimSpace(line) == "" {
			continue // the sink may be writing the last one
		}
		g, err := metric.Decode([]byte(line))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, g)
	}
	return out
}

// TestTakeoverAfterKillKeepsOrder: a reader that dies holding a fetched
// batch unacknowledged (here a raw fetch on the sink's durable, never
// acked) leaves it to the next reader, which writes it before anything
// newer of the same series.
func TestTakeoverAfterKillKeepsOrder(t *testing.T) {
	fastPartitions(t)
	b := openPartitioned(t, bus.Options{DataDir: t.TempDir(), Partitions: 2})
	js := b.JetStream()
	out := filepath.Join(t.TempDir(), "m.jsonl")
	c := fastConsumer(t, config.Sink{Name: "kept", Options: fileBlock(out)}, nil)
	c.owner = soleOwner{}
	c.pace.AckWait = time.Minute // the dead reader's messages would come again a minute later
	const devices = 20
	n := 0
	for ; n < 3; n++ {
		publishDevices(t, b, devices, n)
	}
	ctx := context.Background()
	stream := b.Layout().Stream(0)
	dead, err := c.ensure(ctx, js, stream)
	if err != nil {
		t.Fatal(err)
	}
	batch, err := dead.Fetch(4, jetstream.FetchMaxWait(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	held := 0
	for range batch.Messages() {
		held++ // never acked: the reader "dies" with them
	}
	if held == 0 {
		t.Fatalf("the dead reader fetched nothing: %v", batch.Error())
	}
	for ; n < 6; n++ {
		publishDevices(t, b, devices, n)
	}
	running(t, c, js)
	eventually(t, "every check written", func() bool { return inOrder(written(t, out), devices, n) == nil })
	if err := inOrder(written(t, out), devices, n); err != nil {
		t.Fatalf("after a takeover from a reader that held %d messages: %v", held, err)
	}
}

// TestLostDeliveryKeepsOrder: messages delivered from the sink's durable
// but never received (here taken by a raw fetch that never acks, as when a
// server dies with them on the way) leave a gap in the stream sequences
// the consumer sees; it reads again from the first unacknowledged message,
// so each series is written in order, without waiting for the ack wait.
func TestLostDeliveryKeepsOrder(t *testing.T) {
	fastPartitions(t)
	b := openPartitioned(t, bus.Options{DataDir: t.TempDir(), Partitions: 2})
	js := b.JetStream()
	out := filepath.Join(t.TempDir(), "m.jsonl")
	c := fastConsumer(t, config.Sink{Name: "gaps", Options: fileBlock(out)}, nil)
	c.owner = soleOwner{}
	c.pace.AckWait = time.Minute // what is lost would come again a minute later
	running(t, c, js)
	const devices = 20
	n := 0
	for ; n < 2; n++ {
		publishDevices(t, b, devices, n)
	}
	eventually(t, "the first checks written", func() bool { return inOrder(written(t, out), devices, n) == nil })
	stolen := 0
	ctx := context.Background()
	for attempt := 0; stolen == 0 && attempt < 5; attempt++ {
		thief, err := js.Consumer(ctx, b.Layout().Stream(0), DurableName("gaps"))
		if err != nil {
			t.Fatal(err)
		}
		got := make(chan int)
		go func() {
			k := 0
			if batch, err := thief.Fetch(3, jetstream.FetchMaxWait(2*time.Second)); err == nil {
				for range batch.Messages() {
					k++ // never acked: lost on the way
				}
			}
			got <- k
		}()
		time.Sleep(50 * time.Millisecond) // the thief's pull waits beside the consumer's
		publishDevices(t, b, devices, n)
		n++
		stolen += <-got
	}
	if stolen == 0 {
		t.Fatal("the raw fetch never got a message ahead of the consumer")
	}
	for end := n + 2; n < end; n++ {
		publishDevices(t, b, devices, n)
	}
	waitUntilTrue(20*time.Second, func() bool { return inOrder(written(t, out), devices, n) == nil })
	if err := inOrder(written(t, out), devices, n); err != nil {
		t.Fatalf("after %d messages lost on the way: %v", stolen, err)
	}
}

func waitUntilTrue(d time.Duration, cond func() bool) {
	for deadline := time.Now().Add(d); !cond() && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
}

// soleOwner makes a consumer the only reader of every partition.
type soleOwner struct{}

func (soleOwner) Owns(_, _ string) bool { return true }
