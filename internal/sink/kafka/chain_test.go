package kafka

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/panoptes-go/panoptes/internal/bus"
	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/plugin"
	"github.com/panoptes-go/panoptes/internal/sink"
)

// chainStore is the store behind the test sink type "kafka_chain_store".
var (
	chainStoreOnce sync.Once
	chainStore     = &failOnceSink{}
)

func registerChainStore() {
	chainStoreOnce.Do(func() {
		sink.Register("kafka_chain_store", func(plugin.Block, sink.Deps) (sink.Sink, error) { return chainStore, nil })
	})
}

// runConsumer runs a framework consumer until the test ends.
func runConsumer(t *testing.T, cfg config.Sink, js jetstream.JetStream) {
	t.Helper()
	cons, err := sink.New(cfg, sink.Deps{})
	if err != nil {
		t.Fatalf("sink.New(%s): %v", cfg.Name, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cons.Run(ctx, js) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("consumer %s: %v", cfg.Name, err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("consumer %s did not stop", cfg.Name)
		}
	})
}

// TestBusToKafkaToStore runs the whole chain with the real consumer
// framework: groups published on the bus → Kafka sink → site topic → Kafka
// source → a store that fails its first write. Every group arrives, the
// undecodable record produced by someone else is dead-lettered, and the
// source's offsets are committed to the end.
func TestBusToKafkaToStore(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded NATS server")
	}
	registerChainStore()
	chainStore = &failOnceSink{} // the factory hands out the current one
	c := newCluster(t, kfake.SeedTopics(2, "site1-processed"))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := bus.Open(ctx, bus.Options{DataDir: t.TempDir(), MaxBytes: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })

	pace := func(s config.Sink) config.Sink {
		s.BatchSize, s.BatchTimeout, s.MaxBackoff = 20, config.Duration(50*time.Millisecond), config.Duration(200*time.Millisecond)
		return s
	}
	runConsumer(t, pace(consumerConfig("kafka_test", sinkConfig(c, nil))), b.JetStream())
	source := pace(config.Sink{Name: "from_kafka", Type: "kafka_chain_store",
		Source: map[string]plugin.Block{"kafka": plugin.BlockOf(SourceConfig{Brokers: c.ListenAddrs(), Topics: []string{"site1-processed"}})}})
	runConsumer(t, source, b.JetStream())

	const n = 40
	set := &metric.GroupSet{}
	for i := range n {
		set.Groups = append(set.Groups, group("site1", "sw1", "interface", float64(1000+i), "interface_name", "Eth1/"+string(rune('0'+i%10))))
	}
	if got, err := b.PublishSet(ctx, set); err != nil || got != n {
		t.Fatalf("PublishSet = %d, %v", got, err)
	}
	produceRaw(t, c, "site1-processed", []byte("not json"))

	waitFor(t, "40 groups in the store", func() bool {
		chainStore.mu.Lock()
		defer chainStore.mu.Unlock()
		return len(chainStore.written) >= n
	})
	waitFor(t, "offsets committed to the end", func() bool {
		var sum int64
		for _, o := range committed(t, c, sink.DurableName("from_kafka"), "site1-processed") {
			sum += o
		}
		return sum == n+1
	})

	chainStore.mu.Lock()
	seen := map[float64]int{}
	for _, r := range chainStore.written {
		seen[r.Group.CreationTimestamp]++
	}
	writes := chainStore.writes
	chainStore.mu.Unlock()
	if writes < 2 {
		t.Errorf("store saw %d writes, want its failure and the retry", writes)
	}
	for i := range n {
		if seen[float64(1000+i)] != 1 {
			t.Errorf("group %d stored %d times, want once", i, seen[float64(1000+i)])
		}
	}

	dl, err := b.JetStream().Stream(ctx, sink.DeadLetterStream)
	if err != nil {
		t.Fatalf("dead-letter stream: %v", err)
	}
	msg, err := dl.GetLastMsgForSubject(ctx, sink.DeadLetterSubject("from_kafka"))
	if err != nil {
		t.Fatalf("no dead letter for the undecodable record: %v", err)
	}
	if string(msg.Data) != "not json" || msg.Header.Get(sink.HeaderSubject) != "site1-processed" {
		t.Errorf("dead letter %q from %q", msg.Data, msg.Header.Get(sink.HeaderSubject))
	}
}
