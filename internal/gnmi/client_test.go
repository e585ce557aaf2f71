package gnmi_test

import (
	"context"
	"testing"

	pb "github.com/openconfig/gnmi/proto/gnmi"

	"github.com/panoptes-go/panoptes/internal/gnmi"
	"github.com/panoptes-go/panoptes/internal/sim/gnmisim"
)

func TestSmoke(t *testing.T) {
	tg, _ := startTarget(t, "switch48", gnmisim.Options{})
	c, err := gnmi.Dial(gnmi.Config{Address: tg.Addr})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	caps, err := c.Capabilities(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("caps %v", caps.GetSupportedEncodings())
	for _, enc := range []pb.Encoding{pb.Encoding_PROTO, pb.Encoding_JSON_IETF} {
		ns, err := c.Get(ctx, "", []string{"/interfaces/interface[name=Gi1/0/1]/state"}, enc)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%v: %d notifications, first %v", enc, len(ns), ns[0])
	}
	ns, err := c.Once(ctx, &gnmi.Request{Subscriptions: []gnmi.Subscription{{Path: "/interfaces/interface/state/counters"}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("once: %d", len(ns))
}
