package gnmisim

import (
	"context"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	pb "github.com/openconfig/gnmi/proto/gnmi"

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

// BenchmarkServe is one update tick of a switch48 target streamed to one
// SAMPLE subscriber of its interfaces' state (the harness's subscription):
// the feed, the reference cache and Subscribe server, the stream wrapper
// and gRPC, until the subscriber has every leaf of the tick. The
// subscriber's decoding runs in the same process (a small part).
func BenchmarkServe(b *testing.B) {
	for _, perLeaf := range []bool{false, true} {
		name := "containers"
		if perLeaf {
			name = "per-leaf"
		}
		b.Run(name, func(b *testing.B) { benchmarkServe(b, perLeaf) })
	}
}

func benchmarkServe(b *testing.B, perLeaf bool) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, conn := startDialed(b, 1, Options{UpdateInterval: time.Hour, PerLeaf: perLeaf})
	tg := srv.Targets()[0]
	st, err := pb.NewGNMIClient(conn).Subscribe(ctx)
	if err != nil {
		b.Fatal(err)
	}
	var subs []*pb.Subscription
	for _, p := range []string{"state", "ethernet/state"} {
		path := &pb.Path{Elem: []*pb.PathElem{{Name: "interfaces"}, {Name: "interface"}}}
		path.Elem = append(path.Elem, rel(p).Elem...)
		subs = append(subs, &pb.Subscription{Path: path, Mode: pb.SubscriptionMode_SAMPLE, SampleInterval: uint64(time.Second)})
	}
	if err := st.Send(&pb.SubscribeRequest{Request: &pb.SubscribeRequest_Subscribe{Subscribe: &pb.SubscriptionList{Subscription: subs, Encoding: pb.Encoding_PROTO}}}); err != nil {
		b.Fatal(err)
	}
	var got atomic.Int64
	synced := make(chan struct{})
	go func() {
		for {
			r, err := st.Recv()
			if err != nil {
				return
			}
			if r.GetSyncResponse() {
				close(synced)
			}
			got.Add(int64(len(r.GetUpdate().GetUpdate())))
		}
	}()
	<-synced
	now := time.Now()
	tick := func() {
		now = now.Add(time.Second)
		tg.feed(now)
	}
	// A tick's leaves, measured (per leaf a tick without the static
	// leaves: they come every tenth).
	base := got.Load()
	tick()
	var per int64
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
		if n := got.Load() - base; n > 0 && n == per {
			break
		} else {
			per = n
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu0 := got.Load(), cpuTime()
	for i := 0; i < b.N; i++ {
		tick()
		for got.Load()-start < int64(i+1)*per {
			time.Sleep(20 * time.Microsecond)
		}
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		n := got.Load()
		time.Sleep(20 * time.Millisecond)
		if got.Load() == n {
			break
		}
	}
	b.StopTimer()
	leaves := got.Load() - start
	b.ReportMetric(float64(leaves)/float64(b.N), "leaves/op")
	b.ReportMetric(b.Elapsed().Seconds()*1e9/float64(leaves), "ns/leaf")
	// The process's CPU per leaf: on a shared machine the wall clock
	// counts the waits for a core.
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(leaves), "cpu-ns/leaf")
}

// cpuTime is the process's user and system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
