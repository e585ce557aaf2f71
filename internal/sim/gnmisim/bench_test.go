package gnmisim

import (
	"context"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/sim"
)

// BenchmarkFeed is one update tick of a switch48 target: reading the
// device and writing every leaf into the reference cache.
func BenchmarkFeed(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	farm, err := sim.Start(ctx, sim.Options{Devices: 1, Templates: []string{"switch48"}, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer farm.Close()
	srv, err := Start(ctx, farm.Devices(), Options{UpdateInterval: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	t := srv.Targets()[0]
	b.ReportAllocs()
	b.ResetTimer()
	start := t.Updates()
	for i := 0; i < b.N; i++ {
		t.feed(time.Now())
	}
	b.ReportMetric(float64(t.Updates()-start)/float64(b.N), "leaves/op")
	b.ReportMetric(b.Elapsed().Seconds()*1e9/float64(t.Updates()-start), "ns/leaf")
}
