package kafka

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/wire"
)

func TestMurmur2MatchesKafka(t *testing.T) {
	// Vectors from Kafka's UtilsTest.testMurmur2 (Java ints).
	for key, want := range map[string]int32{
		"21":                         -973932308,
		"foobar":                     -790332482,
		"a-little-bit-long-string":   -985981536,
		"a-little-bit-longer-string": -1486304829,
		"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
		"abc": 479470107,
	} {
		if got := int32(wire.Murmur2([]byte(key))); got != want {
			t.Errorf("wire.Murmur2(%q) = %d, want %d", key, got, want)
		}
	}
	// And the same partition as franz-go's Kafka-compatible key partitioner.
	kafkaDefault := kgo.StickyKeyPartitioner(nil).ForTopic("t")
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		key := make([]byte, rng.IntN(64)+1)
		for i := range key {
			key[i] = byte(rng.IntN(256))
		}
		n := rng.IntN(64) + 1
		if got, want := partitionOf(wire.Murmur2(key), n), kafkaDefault.Partition(&kgo.Record{Key: key}, n); got != want {
			t.Fatalf("key %x over %d partitions: %d, Kafka's partitioner says %d", key, n, got, want)
		}
	}
}

func TestPartitionKeyIsPanoptes(t *testing.T) {
	var scratch []metric.Dimension
	for _, tc := range []struct {
		g    *metric.Group
		want string
	}{
		// Dimensions sorted by name, whatever their order in the group.
		{group("site1", "sw1.example.com", "interface", 1, "media_type", "ethernetCsmacd", "interface_name", "Ethernet1/39"),
			"sw1.example.com|interface|interface_name|Ethernet1/39|media_type|ethernetCsmacd"},
		// No dimensions: Panoptes joined an empty string, leaving a trailing '|'.
		{group("site1", "sw1", "heartbeat", 1), "sw1|heartbeat|"},
	} {
		if got := string(appendPartitionKey(nil, tc.g, &scratch)); got != tc.want {
			t.Errorf("partition key %q, want %q", got, tc.want)
		}
	}
	g := group("site1", "sw1", "interface", 1, "b", "2", "a", "1")
	appendPartitionKey(nil, g, &scratch)
	if g.Dimensions[0].Name != "b" {
		t.Error("computing the key reordered the group's dimensions")
	}
	if got := string(appendMessageKey(nil, g)); got != "network:switch:cisco" {
		t.Errorf("message key %q", got)
	}
}

func TestPartitionerFallsBackToKey(t *testing.T) {
	p := seriesPartitioner{}.ForTopic("t")
	if !p.RequiresConsistency(&kgo.Record{}) {
		t.Error("series partitioner must be consistent")
	}
	r := &kgo.Record{Key: []byte("network:switch:cisco"), Context: context.Background()}
	if got, want := p.Partition(r, 12), partitionOf(wire.Murmur2(r.Key), 12); got != want {
		t.Errorf("record without a series hash on %d, want %d", got, want)
	}
	r.Context = &seriesCtx{Context: context.Background(), hash: 7}
	if got := p.Partition(r, 5); got != 2 {
		t.Errorf("hash 7 over 5 partitions on %d, want 2", got)
	}
}
