package gnmisim

import (
	"context"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/panoptes-go/panoptes/internal/sim"
)

// startDialed starts devices simulated switch48s served by a Server with
// opts and dials its first target; everything is closed when the test
// ends.
func startDialed(tb testing.TB, devices int, opts Options) (*Server, *grpc.ClientConn) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	farm, err := sim.Start(ctx, sim.Options{Devices: devices, Templates: []string{"switch48"}, Seed: 1})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = farm.Close() })
	srv, err := Start(ctx, farm.Devices(), opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(srv.Close)
	conn, err := grpc.NewClient("passthrough:///"+srv.Targets()[0].Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = conn.Close() })
	return srv, conn
}
