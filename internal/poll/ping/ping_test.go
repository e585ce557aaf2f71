package ping

import (
	"context"
	"errors"
	"math"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/poll/polltest"

	"github.com/panoptes-go/panoptes/internal/poll"

	"github.com/panoptes-go/panoptes/internal/metric"
)

// scriptedPinger answers echo seq with rtts[seq]; a negative rtt is a lost
// packet, hang blocks until ctx is done.
type scriptedPinger struct {
	rtts    []time.Duration
	hang    bool
	openErr error
	closed  bool
}

func (s *scriptedPinger) open(context.Context, netip.Addr) (echoConn, error) {
	if s.openErr != nil {
		return nil, s.openErr
	}
	return s, nil
}

func (s *scriptedPinger) echo(ctx context.Context, seq int, _ time.Duration) (time.Duration, error) {
	if s.hang {
		<-ctx.Done()
		return 0, ctx.Err()
	}
	if s.rtts[seq] < 0 {
		return 0, errLost
	}
	return s.rtts[seq], nil
}

func (s *scriptedPinger) Close() error { s.closed = true; return nil }

func pingReq(endpoint string) *poll.Request {
	r := polltest.Resource.Clone()
	r.Endpoint = endpoint
	return &poll.Request{Resource: r, Interval: time.Minute, Now: polltest.Now}
}

func newTestPing(t *testing.T, opts map[string]any, pg pinger) *Ping {
	t.Helper()
	p, err := poll.New("ping", opts)
	if err != nil {
		t.Fatal(err)
	}
	pp := p.(*Ping)
	pp.pinger = pg
	return pp
}

func TestPingStatistics(t *testing.T) {
	ms := time.Millisecond
	sp := &scriptedPinger{rtts: []time.Duration{1 * ms, -1, 2 * ms, 3 * ms, 4 * ms}}
	p := newTestPing(t, map[string]any{"count": 5, "interval": "1ms"}, sp)
	groups, err := p.Poll(context.Background(), pingReq("10.0.0.1:161"))
	if err != nil || len(groups) != 1 {
		t.Fatalf("Poll = %v, %v", groups, err)
	}
	g := groups[0]
	if g.Type != PingGroupType || g.Validate() != nil || !sp.closed {
		t.Fatalf("group %+v closed %v", g, sp.closed)
	}
	want := map[string]float64{"packets_sent": 5, "packets_received": 4, "packet_loss_percent": 20,
		"round_trip_min": 1, "round_trip_avg": 2.5, "round_trip_max": 4, "round_trip_stddev": math.Sqrt(1.25)}
	for name, w := range want {
		if got := polltest.Gauge(t, g, name); math.Abs(got-w) > 1e-9 {
			t.Errorf("%s = %v, want %v", name, got, w)
		}
	}
}

func TestPingFailures(t *testing.T) {
	ctx := context.Background()
	// Total loss: the group is written (loss 100) and the status is 7.
	p := newTestPing(t, map[string]any{"count": 3, "interval": "0s"}, &scriptedPinger{rtts: []time.Duration{-1, -1, -1}})
	groups, err := p.Poll(ctx, pingReq("10.0.0.1"))
	if poll.StatusOf(ctx, len(groups), err) != metric.StatusPingFailure || len(groups) != 1 {
		t.Fatalf("total loss: %d groups, %v", len(groups), err)
	}
	if polltest.Gauge(t, groups[0], "packet_loss_percent") != 100 {
		t.Error("loss is not 100")
	}
	if _, ok := groups[0].Metric("round_trip_avg"); ok {
		t.Error("round trips without replies")
	}

	// A device that never answers before the check's deadline: no hung
	// worker, and a ping failure (the request in flight counts as lost).
	p = newTestPing(t, map[string]any{"count": 3}, &scriptedPinger{hang: true})
	tctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	began := time.Now()
	groups, err = p.Poll(tctx, pingReq("10.0.0.1"))
	if time.Since(began) > time.Second || poll.StatusOf(tctx, len(groups), err) != metric.StatusPingFailure || len(groups) != 1 {
		t.Errorf("hanging echo: %d groups, %v after %v", len(groups), err, time.Since(began))
	}
	// A cancelled check (shutdown) reports no result.
	cctx, ccancel := context.WithCancel(ctx)
	ccancel()
	if groups, err := p.Poll(cctx, pingReq("10.0.0.1")); len(groups) != 0 || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %d groups, %v", len(groups), err)
	}

	p = newTestPing(t, nil, &scriptedPinger{openErr: errors.New("operation not permitted")})
	if _, err := p.Poll(ctx, pingReq("10.0.0.1")); poll.StatusOf(ctx, 0, err) != metric.StatusInternalFailure {
		t.Errorf("socket failure: %v", err)
	}
	if _, err := p.Poll(ctx, pingReq("[")); poll.StatusOf(ctx, 0, err) != metric.StatusNetworkFailure {
		t.Errorf("bad endpoint: %v", err)
	}
	for _, bad := range []map[string]any{{"count": 0}, {"interval": "fast"}, {"timeout": "0s"}, {"count": "5"}, {"cuont": 5}} {
		if _, err := poll.New("ping", bad); err == nil {
			t.Errorf("options %v accepted", bad)
		}
	}
}

// A real ICMP echo to 127.0.0.1 (datagram socket if ping_group_range
// allows, else raw: CI runs as root). Nothing leaves the machine.
func TestPingLoopback(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: opens ICMP sockets")
	}
	if _, err := (icmpPinger{}).open(context.Background(), netip.MustParseAddr("127.0.0.1")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true: %v", err)
		}
		t.Skipf("no ICMP socket: %v", err)
	}
	p := newTestPing(t, map[string]any{"count": 3, "interval": "10ms", "timeout": "1s"}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	groups, err := p.Poll(ctx, pingReq("127.0.0.1:161"))
	if err != nil || len(groups) != 1 {
		t.Fatalf("ping 127.0.0.1: %v", err)
	}
	g := groups[0]
	if polltest.Gauge(t, g, "packet_loss_percent") != 0 || polltest.Gauge(t, g, "packets_received") != 3 {
		t.Errorf("loopback lost packets: %+v", g.Metrics)
	}
	if mx := polltest.Gauge(t, g, "round_trip_max"); mx <= 0 || mx > 500 || polltest.Gauge(t, g, "round_trip_min") > mx {
		t.Errorf("round trips %+v", g.Metrics)
	}

	// The real socket's loss path: a reply that cannot arrive before the
	// deadline is a lost packet, not an error.
	conn, err := (icmpPinger{}).open(ctx, netip.MustParseAddr("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	t.Logf("ICMP socket: datagram=%v (net.ipv4.ping_group_range decides)", conn.(*icmpConn).datagram)
	if _, err := conn.echo(ctx, 7, time.Nanosecond); !errors.Is(err, errLost) {
		t.Errorf("echo with a 1ns timeout: %v, want errLost", err)
	}
	if rtt, err := conn.echo(ctx, 8, time.Second); err != nil || rtt <= 0 {
		t.Errorf("echo after a lost one: %v, %v", rtt, err)
	}
}
