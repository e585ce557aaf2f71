package sink

import (
	"context"
	"fmt"
	"iter"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/panoptes-go/panoptes/internal/bus"
	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/testutil/freeport"
)

// startCluster opens three embedded servers routed on loopback, each with
// its own store, with R3 partitioned metrics streams.
func startCluster(t *testing.T, partitions int) []*bus.Bus {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a 3-server embedded NATS cluster")
	}
	var listen, routes []string
	for range 3 {
		a := freeport.Addr(freeport.TCP(t))
		listen = append(listen, a)
		routes = append(routes, "nats-route://"+a)
	}
	buses := make([]*bus.Bus, 3)
	errs := make(chan error, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	for i := range buses {
		o := fastLayout(bus.Options{
			DataDir: t.TempDir(), Replicas: 3, Partitions: partitions, Name: fmt.Sprintf("node%d", i),
			Cluster:      bus.Cluster{Name: "panoptes-sink-test", Listen: listen[i], Routes: routes},
			ConnectRetry: 40 * time.Second, PublishTimeout: 2 * time.Second,
		})
		go func() {
			var err error
			buses[i], err = bus.Open(ctx, o)
			errs <- err
		}()
	}
	for range buses {
		if err := <-errs; err != nil {
			t.Fatalf("open cluster node: %v", err)
		}
	}
	t.Cleanup(func() {
		for _, b := range buses {
			if b != nil {
				_ = b.Close()
			}
		}
	})
	return buses
}

// hookSink runs before ahead of every write of the sink it wraps.
type hookSink struct {
	Sink
	before func()
}

func (h *hookSink) Write(ctx context.Context, batch []Record) error {
	h.before()
	return h.Sink.Write(ctx, batch)
}

func (h *hookSink) WriteRaw(ctx context.Context, records iter.Seq[Record]) error {
	h.before()
	return h.Sink.(RawWriter).WriteRaw(ctx, records)
}

func (h *hookSink) Close() error {
	if cl, ok := h.Sink.(Closer); ok {
		return cl.Close()
	}
	return nil
}

// inOrderOnce reports whether every resource has every seq of 0..n-1 and
// wrote each the first time after every lower one and before every higher
// one: a seq written again (at least once) is skipped, one missing or
// written late is an error.
func inOrderOnce(got map[string][]int, devices, n int) error {
	if len(got) != devices {
		return fmt.Errorf("%d devices written, want %d", len(got), devices)
	}
	for id, seqs := range got {
		seen := map[int]bool{}
		next := 0
		for _, s := range seqs {
			if seen[s] {
				continue
			}
			if s != next {
				return fmt.Errorf("%s: seq %d first written after %d (got %v)", id, s, next-1, seqs)
			}
			seen[s] = true
			next++
		}
		if next != n {
			return fmt.Errorf("%s: %d of %d seqs written", id, next, n)
		}
	}
	return nil
}

// consumerLeader is the server leading the durable on stream ("" when it
// cannot be told now: no leader, or no answer in time).
func consumerLeader(js jetstream.JetStream, stream, durable string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cons, err := js.Consumer(ctx, stream, durable)
	if err != nil {
		return ""
	}
	info, err := cons.Info(ctx)
	if err != nil || info.Cluster == nil {
		return ""
	}
	return info.Cluster.Leader
}

// TestClusterConsumerLeaderKilled: on a 3-server cluster (R3 stream and
// consumer), a sink reading with an Owner writes every check in order
//
//   - from a backlog of many full batches: a replicated consumer's "409
//     Batch Completed" overtakes the batch's messages (nats-server 2.15),
//     which jetstream's Fetch then dropped, to come again only after their
//     ack wait, after newer ones;
//   - when the server leading the consumer is killed in the middle of a
//     batch: the batch is written, its acks go nowhere, deliveries on their
//     way are lost, and a new leader is elected.
//
// The ack wait is a minute: nothing here may wait for redelivery.
func TestClusterConsumerLeaderKilled(t *testing.T) {
	fastPartitions(t)
	buses := startCluster(t, 1)
	reader := buses[0]
	js := reader.JetStream()
	stream := reader.Layout().Stream(0)
	out := filepath.Join(t.TempDir(), "m.jsonl")
	c := fastConsumer(t, config.Sink{Name: "replicated", Options: fileBlock(out)}, nil)
	c.owner = soleOwner{}
	c.pace.AckWait = time.Minute
	c.pace.Batch = 20
	var kill atomic.Pointer[bus.Bus]
	killed := make(chan struct{})
	c.sink = &hookSink{Sink: c.sink, before: func() {
		if b := kill.Swap(nil); b != nil {
			_ = b.Close() // its server stops with the consumer's leadership
			close(killed)
		}
	}}
	ctx := context.Background()
	if _, err := c.ensure(ctx, js, stream); err != nil {
		t.Fatal(err)
	}
	// The consumer's leader on another server than the reader's.
	self := reader.Conn().ConnectedServerName()
	moveBy := time.Now().Add(30 * time.Second)
	var leader string
	for leader = consumerLeader(js, stream, c.durable); leader == self || leader == ""; leader = consumerLeader(js, stream, c.durable) {
		if time.Now().After(moveBy) {
			t.Fatalf("the consumer's leader is still %q", leader)
		}
		if leader == self {
			_, _ = reader.Conn().Request("$JS.API.CONSUMER.LEADER.STEPDOWN."+stream+"."+c.durable, nil, 5*time.Second)
		}
		time.Sleep(200 * time.Millisecond)
	}
	var victim, publisher *bus.Bus
	for _, b := range buses[1:] {
		if b.Conn().ConnectedServerName() == leader {
			victim = b
		} else {
			publisher = b
		}
	}
	if victim == nil || publisher == nil {
		t.Fatalf("consumer leader %s is no server of the cluster", leader)
	}

	const devices = 10
	n := 0
	for ; n < 12; n++ { // 6 full batches
		publishDevices(t, publisher, devices, n)
	}
	running(t, c, js)
	waitUntilTrue(20*time.Second, func() bool { return inOrderOnce(written(t, out), devices, n) == nil })
	if err := inOrderOnce(written(t, out), devices, n); err != nil {
		t.Fatalf("a backlog of %d messages: %v", devices*n, err)
	}

	// Armed before the publishing, so that the first batch of the new
	// messages kills the leader: armed after it, a quick sink could have
	// written them all already, and the kill would wait for a batch that
	// never comes (a clean-clone CI run failed so).
	kill.Store(victim)
	for ; n < 24; n++ {
		publishDevices(t, publisher, devices, n)
	}
	select {
	case <-killed:
	case <-time.After(20 * time.Second):
		t.Fatal("the sink wrote nothing more")
	}
	waitUntilTrue(30*time.Second, func() bool { return inOrderOnce(written(t, out), devices, n) == nil })
	if err := inOrderOnce(written(t, out), devices, n); err != nil {
		t.Fatalf("after the consumer's leader %s was killed mid-batch: %v", leader, err)
	}
	t.Logf("consumer leader after the kill: %s (was %s)", consumerLeader(js, stream, c.durable), leader)
}
