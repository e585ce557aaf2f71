package bus_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/bus"
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

// BenchmarkPublishCoalesced is many concurrent publishers of light sets
// (a status group and a small result, as light checks and streaming
// inputs' rows publish) joined by the coalescer: what one set costs the
// publishing side, its allocations included.
func BenchmarkPublishCoalesced(b *testing.B) {
	ctx := context.Background()
	bs, err := bus.Open(ctx, bus.Options{DataDir: b.TempDir(), MaxBytes: 256 << 20, Linger: 5 * time.Millisecond,
		Compression: bus.CompressionS2, Name: b.Name()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = bs.Close() })
	b.ReportAllocs()
	b.SetParallelism(128) // callers waiting on their batch's ack, as many checks do at once
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		set := lightSet("dev", 1) // not changed by publishing
		for pb.Next() {
			if n, err := bs.PublishSet(ctx, set); err != nil || n != len(set.Groups) {
				b.Errorf("PublishSet = %d, %v", n, err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sets/s")
}

// BenchmarkPublishAfterGC is BenchmarkPublish with two GCs before each
// set (not timed): a sync.Pool is empty after them, so this is what a set
// costs a publisher whose scratch space did not survive the GC.
func BenchmarkPublishAfterGC(b *testing.B) {
	bs := openEmbedded(b, b.TempDir())
	set := interfaceSet(testResource("site1", "sw1.example.com"), 48)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		runtime.GC()
		runtime.GC()
		b.StartTimer()
		if n, err := bs.PublishSet(ctx, set); err != nil || n != len(set.Groups) {
			b.Fatalf("PublishSet = %d, %v", n, err)
		}
	}
}
