package gnmisim

import (
	"context"
	"testing"
	"time"

	pb "github.com/openconfig/gnmi/proto/gnmi"
)

// TestGetOneLeaf: a Get of one leaf answers that leaf alone, whether the
// target keeps an interface's leaves as one notification or one per leaf
// (PerLeaf, which once answered every leaf of the container).
func TestGetOneLeaf(t *testing.T) {
	for _, perLeaf := range []bool{false, true} {
		_, conn := startDialed(t, 1, Options{UpdateInterval: time.Hour, PerLeaf: perLeaf})
		path := &pb.Path{Elem: []*pb.PathElem{{Name: "interfaces"}, {Name: "interface", Key: map[string]string{"name": "Gi1/0/1"}},
			{Name: "state"}, {Name: "counters"}, {Name: "in-octets"}}}
		resp, err := pb.NewGNMIClient(conn).Get(context.Background(), &pb.GetRequest{Path: []*pb.Path{path}, Encoding: pb.Encoding_PROTO})
		if err != nil {
			t.Fatalf("perLeaf %v: %v", perLeaf, err)
		}
		var got []string
		for _, n := range resp.GetNotification() {
			for _, u := range n.GetUpdate() {
				got = append(got, formatKey(n.GetPrefix(), u.GetPath(), 0))
			}
		}
		if len(got) != 1 {
			t.Errorf("perLeaf %v: Get of in-octets answered %d leaves, want 1: %v", perLeaf, len(got), got)
		}
	}
}
