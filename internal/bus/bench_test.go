package bus_test

import (
	"context"
	"testing"

	"github.com/panoptes-go/panoptes/internal/metric"
)

// BenchmarkPublish publishes one interface check of a 48-port switch (48
// interface groups + status) per iteration to the embedded server.
func BenchmarkPublish(b *testing.B) {
	bs := openEmbedded(b, b.TempDir())
	set := interfaceSet(testResource("site1", "sw1.example.com"), 48)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if n, err := bs.PublishSet(ctx, set); err != nil || n != len(set.Groups) {
			b.Fatalf("PublishSet = %d, %v", n, err)
		}
	}
	b.ReportMetric(float64(b.N*len(set.Groups))/b.Elapsed().Seconds(), "groups/s")
	size := 0
	for _, g := range set.Groups {
		size += len(metric.AppendJSON(nil, g))
	}
	b.ReportMetric(float64(size)/float64(len(set.Groups)), "bytes/group")
}

// BenchmarkPublishCluster3 is BenchmarkPublish into an R3 stream on a
// cluster of three embedded servers routed on loopback.
func BenchmarkPublishCluster3(b *testing.B) {
	nodes := startCluster(b)
	bs := nodes[0].b
	set := interfaceSet(testResource("site1", "sw1.example.com"), 48)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if n, err := bs.PublishSet(ctx, set); err != nil || n != len(set.Groups) {
			b.Fatalf("PublishSet = %d, %v", n, err)
		}
	}
	b.ReportMetric(float64(b.N*len(set.Groups))/b.Elapsed().Seconds(), "groups/s")
	if h := bs.Health(); h.Buffered > 0 {
		b.Logf("%d groups were buffered (acks slower than the publish timeout)", h.Buffered)
	}
}
