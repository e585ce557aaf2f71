package gnmi

import (
	"context"
	"strings"
	"testing"

	pb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/protobuf/proto"
)

// TestQueueBytesBound: huge values are bounded by the queue's bytes (the
// approximate size is within a few hundred bytes of proto's), the oldest
// dropped and counted, markers kept.
func TestQueueBytesBound(t *testing.T) {
	big := func(i int) *pb.Notification {
		return &pb.Notification{Timestamp: int64(i), Prefix: &pb.Path{Target: "t", Elem: []*pb.PathElem{{Name: "interfaces"},
			{Name: "interface", Key: map[string]string{"name": "Gi1/0/1"}}}},
			Update: []*pb.Update{{Path: &pb.Path{Elem: []*pb.PathElem{{Name: "state"}, {Name: "description"}}},
				Val: &pb.TypedValue{Value: &pb.TypedValue_StringVal{StringVal: strings.Repeat("x", 1<<20)}}}}}
	}
	if a, p := approxSize(big(0)), proto.Size(big(0)); a < p || a > p+1024 {
		t.Errorf("approxSize %d, proto.Size %d", a, p)
	}
	dropped := 0
	q := newQueue(1000, 4<<20, func(n int) { dropped += n })
	q.push(Event{Kind: Connected})
	for i := 0; i < 10; i++ {
		q.push(Event{Kind: Notification, Notification: big(i)})
	}
	if q.Len() != 4 || dropped != 7 { // the marker and the 3 newest
		t.Fatalf("queued %d, dropped %d; want 4, 7", q.Len(), dropped)
	}
	if e, _ := q.pop(context.Background(), nil); e.Kind != Connected {
		t.Errorf("first out: %v, want the Connected marker", e.Kind)
	}
	if e, _ := q.pop(context.Background(), nil); e.Notification.GetTimestamp() != 7 {
		t.Errorf("oldest kept: %d, want 7", e.Notification.GetTimestamp())
	}
}
