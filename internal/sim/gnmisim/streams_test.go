package gnmisim

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	pb "github.com/openconfig/gnmi/proto/gnmi"
)

// TestStreams: each open Subscribe stream is listed with its client's
// address until it ends, and counted in Subscribes; the handler serves
// the same as JSON.
func TestStreams(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, conn := startDialed(t, 2, Options{UpdateInterval: 200 * time.Millisecond})
	tg := srv.Targets()[0]
	req := &pb.SubscribeRequest{Request: &pb.SubscribeRequest_Subscribe{Subscribe: &pb.SubscriptionList{
		Subscription: []*pb.Subscription{{Path: &pb.Path{Elem: []*pb.PathElem{{Name: "system"}}}, Mode: pb.SubscriptionMode_SAMPLE, SampleInterval: uint64(time.Second)}}}}}
	var stops []context.CancelFunc
	for range 2 {
		sctx, stop := context.WithCancel(ctx)
		stops = append(stops, stop)
		st, err := pb.NewGNMIClient(conn).Subscribe(sctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Send(req); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Recv(); err != nil {
			t.Fatal(err)
		}
	}
	if s := tg.Streams(); len(s) != 2 || s[0] == "" || tg.Subscribes() != 2 {
		t.Fatalf("two open streams: Streams %v, Subscribes %d", s, tg.Subscribes())
	}
	rec := httptest.NewRecorder()
	srv.StreamsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/gnmi/streams", nil))
	var got []TargetStreams
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Name != tg.Name || len(got[0].Streams) != 2 || got[0].Subscribes != 2 || len(got[1].Streams) != 0 {
		t.Errorf("handler: %+v", got)
	}
	for _, stop := range stops {
		stop()
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(tg.Streams()) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("streams still listed after their clients ended them: %v", tg.Streams())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if tg.Subscribes() != 2 {
		t.Errorf("Subscribes %d after the streams ended, want 2", tg.Subscribes())
	}
}
