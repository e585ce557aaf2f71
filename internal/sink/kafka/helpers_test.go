package kafka

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/plugin"
	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/sink"
	"github.com/panoptes-go/panoptes/internal/testutil/logbuf"
)

// newCluster starts an in-process Kafka (franz-go's kfake) with one broker.
func newCluster(t testing.TB, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1)}, opts...)...)
	if err != nil {
		t.Fatalf("start kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// sinkConfig is a kafka sink's section for the cluster.
func sinkConfig(c *kfake.Cluster, mod func(*Config)) *Config {
	k := &Config{Brokers: c.ListenAddrs(), Timeout: plugin.Duration(5 * time.Second)}
	if mod != nil {
		mod(k)
	}
	return k
}

// consumerConfig is the kafka sink k as the consumer framework gets it.
func consumerConfig(name string, k *Config) config.Sink {
	return config.Sink{Name: name, Type: "kafka", Options: plugin.BlockOf(map[string]any{"kafka": k})}
}

func newSink(t testing.TB, k *Config) *Sink {
	t.Helper()
	s, err := New(k, sink.Deps{Name: "kafka_test"})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// group builds a metrics group; dims are name, value pairs.
func group(site, id, typ string, ts float64, dims ...string) *metric.Group {
	g := &metric.Group{
		Resource: &resource.Resource{
			Site: site, Class: "network", Subclass: "switch", Type: "cisco",
			ID: id, Endpoint: id, Metadata: map[string]string{"_resource_ttl": "604800"},
			CreationTimestamp: 1535496674.53, Plugin: "discovery_csv",
		},
		Type: typ, Interval: 60, CreationTimestamp: ts, SchemaVersion: metric.SchemaVersion,
		Metrics: []metric.Metric{
			{Name: "bits_in", Value: metric.Uint(18446744073709551557), Type: metric.Counter, Timestamp: ts},
			{Name: "oper_state", Value: metric.Int(1), Type: metric.Gauge, Timestamp: ts},
		},
	}
	for i := 0; i+1 < len(dims); i += 2 {
		g.Dimensions = append(g.Dimensions, metric.Dimension{Name: dims[i], Value: dims[i+1]})
	}
	return g
}

// record is what the bus hands a sink: the subject, the JSON and the group.
func record(g *metric.Group) sink.Record {
	return sink.Record{Subject: "panoptes.metrics." + g.Resource.Site + "." + g.Type, Data: metric.AppendJSON(nil, g), Group: g}
}

// readAll consumes topic from the start (no group) until it has n records
// or the deadline passes.
func readAll(t testing.TB, c *kfake.Cluster, topic string, n int) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out []*kgo.Record
	for len(out) < n && ctx.Err() == nil {
		f := cl.PollFetches(ctx)
		f.EachRecord(func(r *kgo.Record) { out = append(out, r) })
	}
	if len(out) != n {
		t.Fatalf("topic %s: read %d records, want %d", topic, len(out), n)
	}
	return out
}

// produceRaw writes values to topic partition 0 with a plain client.
func produceRaw(t testing.TB, c *kfake.Cluster, topic string, values ...[]byte) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.DefaultProduceTopic(topic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	rs := make([]*kgo.Record, len(values))
	for i, v := range values {
		rs[i] = &kgo.Record{Value: v, Partition: 0}
	}
	if err := cl.ProduceSync(context.Background(), rs...).FirstErr(); err != nil {
		t.Fatalf("produce to %s: %v", topic, err)
	}
}

// committed returns group's committed offsets in topic, by partition.
func committed(t testing.TB, c *kfake.Cluster, group, topic string) map[int32]int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Group = group
	rt := kmsg.NewOffsetFetchRequestTopic()
	rt.Topic = topic
	rt.Partitions = []int32{0, 1, 2, 3, 4, 5, 6, 7}
	req.Topics = append(req.Topics, rt)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatalf("offset fetch: %v", err)
	}
	out := map[int32]int64{}
	for _, rt := range resp.Topics {
		for _, p := range rt.Partitions {
			if p.Offset >= 0 {
				out[p.Partition] = p.Offset
			}
		}
	}
	return out
}

func testLogger(buf *logbuf.Buffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// waitFor polls cond until it holds or 10 s pass.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func seriesName(g *metric.Group) string {
	return fmt.Sprintf("%s/%s/%v", g.Resource.ID, g.Type, g.Dimensions)
}

// topicNames maps topic IDs seen by topicID back to names.
var topicNames = map[[16]byte]string{}

// topicID asks the cluster for topic's ID.
func topicID(t testing.TB, c *kfake.Cluster, topic string) [16]byte {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, rt)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := req.RequestWith(ctx, cl)
	if err != nil || len(resp.Topics) != 1 || resp.Topics[0].ErrorCode != 0 {
		t.Fatalf("metadata for %s: %v %+v", topic, err, resp)
	}
	id := resp.Topics[0].TopicID
	topicNames[id] = topic
	return id
}
