package gnmisim

import (
	"context"
	"testing"
	"time"

	pb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/panoptes-go/panoptes/internal/sim"
)

// TestBatching: a STREAM gets an interface's leaves of one sample in one
// notification (one prefix, one timestamp, many updates), every leaf once;
// with PerLeaf one notification per leaf, as the reference server sends.
func TestBatching(t *testing.T) {
	for _, perLeaf := range []bool{false, true} {
		ctx, cancel := context.WithCancel(context.Background())
		farm, err := sim.Start(ctx, sim.Options{Devices: 1, Templates: []string{"switch48"}, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		srv, err := Start(ctx, farm.Devices(), Options{UpdateInterval: 300 * time.Millisecond, PerLeaf: perLeaf})
		if err != nil {
			t.Fatal(err)
		}
		conn, err := grpc.NewClient("passthrough:///"+srv.Targets()[0].Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		st, err := pb.NewGNMIClient(conn).Subscribe(ctx)
		if err != nil {
			t.Fatal(err)
		}
		path := &pb.Path{Elem: []*pb.PathElem{{Name: "interfaces"}, {Name: "interface"}, {Name: "state"}}}
		if err := st.Send(&pb.SubscribeRequest{Request: &pb.SubscribeRequest_Subscribe{Subscribe: &pb.SubscriptionList{
			Subscription: []*pb.Subscription{{Path: path, Mode: pb.SubscriptionMode_SAMPLE, SampleInterval: uint64(300 * time.Millisecond)}}}}}); err != nil {
			t.Fatal(err)
		}
		notifs, updates, synced := 0, 0, false
		leaves := map[string]int{} // after the sync: per leaf and timestamp
		deadline := time.Now().Add(10 * time.Second)
		for updates < 3000 && time.Now().Before(deadline) {
			r, err := st.Recv()
			if err != nil {
				t.Fatal(err)
			}
			if r.GetSyncResponse() {
				synced = true
			}
			n := r.GetUpdate()
			if n == nil || !synced {
				continue
			}
			notifs++
			updates += len(n.GetUpdate())
			for _, u := range n.GetUpdate() {
				leaves[formatKey(n.GetPrefix(), u.GetPath(), n.GetTimestamp())]++
			}
		}
		cancel()
		_ = conn.Close()
		srv.Close()
		_ = farm.Close()
		if updates < 3000 {
			t.Fatalf("perLeaf %v: %d updates in 10 s", perLeaf, updates)
		}
		if perLeaf && notifs != updates {
			t.Errorf("per leaf: %d notifications for %d updates", notifs, updates)
		}
		if !perLeaf && updates/notifs < 10 {
			t.Errorf("batched: %d notifications for %d updates, want about an interface's counters each", notifs, updates)
		}
		for k, n := range leaves {
			if n != 1 {
				t.Errorf("perLeaf %v: %s sent %d times", perLeaf, k, n)
			}
		}
	}
}

func formatKey(prefix, p *pb.Path, ts int64) string {
	b := appendKey(nil, "", append(append([]*pb.PathElem(nil), prefix.GetElem()...), p.GetElem()...))
	return string(b) + "@" + time.Unix(0, ts).String()
}
