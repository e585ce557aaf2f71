package bus_test

import (
	"context"
	"testing"
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
}
