package kafka

import (
	"context"
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/panoptes-go/panoptes/internal/sink"
)

// BenchmarkKafkaWrite writes one 48-port switch poll (48 interface groups
// and a cpu group) to an in-process broker and waits for the acks.
func BenchmarkKafkaWrite(b *testing.B) {
	c := newCluster(b, kfake.SeedTopics(8, "site1-processed"))
	s := newSink(b, sinkConfig(c, nil))
	batch := make([]sink.Record, 0, 49)
	for i := range 48 {
		batch = append(batch, record(group("site1", "sw1.example.com", "interface", 1535497112.075,
			"interface_name", fmt.Sprintf("Ethernet1/%d", i+1), "media_type", "ethernetCsmacd")))
	}
	batch = append(batch, record(group("site1", "sw1.example.com", "cpu", 1535497112.075, "cpu_no", "0")))
	var bytes int64
	for _, r := range batch {
		bytes += int64(len(r.Data))
	}
	ctx := context.Background()
	if err := s.Write(ctx, batch); err != nil { // connect outside the timing
		b.Fatal(err)
	}
	b.SetBytes(bytes)
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Write(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
}
