package ping

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/panoptes-go/panoptes/internal/poll"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/plugin"
)

func init() { poll.Register("ping", newPing) }

// PingGroupType is the group the ping plugin writes.
const PingGroupType = "ping"

// Ping is the `ping` plugin: ICMP echo to the resource's endpoint, as an
// unprivileged datagram socket where the kernel allows it (Linux:
// net.ipv4.ping_group_range includes the process's group) and a raw socket
// otherwise (root or CAP_NET_RAW). It needs no SNMP credential.
//
// Group `ping`: gauges packets_sent, packets_received, packet_loss_percent
// and, when a reply came, round_trip_min/avg/max/stddev in milliseconds.
// Total loss still writes the group (loss 100) and ends the check with
// status 7 (ping failure); some loss is a success with its loss percent.
// When the check's deadline cuts the run short, the requests sent so far
// count (the one in flight as lost).
//
// Options: count (echo requests, default 5), interval between requests
// (default 200ms), timeout per request (default 1s). The check needs at
// most count × max(interval, timeout); give the plugin's timeout room.
type Ping struct {
	count    int
	interval time.Duration
	timeout  time.Duration
	pinger   pinger // nil: ICMP sockets
	now      func() time.Time
}

// pinger opens an echo session to one address.
type pinger interface {
	open(ctx context.Context, addr netip.Addr) (echoConn, error)
}

// echoConn sends echo request seq and waits for its reply. A lost packet
// is errLost; any other error ends the check.
type echoConn interface {
	echo(ctx context.Context, seq int, timeout time.Duration) (time.Duration, error)
	Close() error
}

var errLost = errors.New("no echo reply")

// NoSNMP tells the Runner this plugin needs no SNMP target.
func (*Ping) NoSNMP() bool { return true }

func newPing(options plugin.Block) (poll.Plugin, error) {
	o := struct {
		Count    int             `yaml:"count"`    // echo requests per check
		Interval plugin.Duration `yaml:"interval"` // between requests
		Timeout  plugin.Duration `yaml:"timeout"`  // wait for the last reply
	}{Count: 5, Interval: plugin.Duration(200 * time.Millisecond), Timeout: plugin.Duration(time.Second)}
	if err := options.Decode(&o); err != nil {
		return nil, err
	}
	p := &Ping{count: o.Count, interval: o.Interval.D(), timeout: o.Timeout.D(), now: time.Now}
	var errs []error
	if p.count < 1 || p.count > 100 {
		errs = append(errs, plugin.Errorf("count", "%d is out of range 1..100", p.count))
	}
	if p.interval < 0 || p.interval > time.Minute {
		errs = append(errs, plugin.Errorf("interval", "%s is out of range 0..1m", p.interval))
	}
	if p.timeout < time.Millisecond || p.timeout > time.Minute {
		errs = append(errs, plugin.Errorf("timeout", "%s is out of range 1ms..1m", p.timeout))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return p, nil
}

// Poll pings the endpoint count times.
func (p *Ping) Poll(ctx context.Context, req *poll.Request) ([]*metric.Group, error) {
	addr, err := resolveEndpoint(ctx, req.Resource.Endpoint)
	if err != nil {
		return nil, poll.WithStatus(metric.StatusNetworkFailure, err)
	}
	pg := p.pinger
	if pg == nil {
		pg = icmpPinger{}
	}
	conn, err := pg.open(ctx, addr)
	if err != nil {
		return nil, poll.WithStatus(metric.StatusInternalFailure, err)
	}
	defer conn.Close()

	var rtts []time.Duration
	sent := 0
	var began time.Time
	for seq := range p.count {
		// The interval runs from one request to the next.
		if seq > 0 && !sleepCtx(ctx, p.interval-time.Since(began)) {
			break
		}
		began = time.Now()
		sent++
		rtt, err := conn.echo(ctx, seq, p.timeout)
		switch {
		case err == nil:
			rtts = append(rtts, rtt)
		case errors.Is(err, errLost):
		case ctx.Err() != nil:
		default:
			return nil, poll.WithStatus(metric.StatusNetworkFailure, fmt.Errorf("ping %s: %w", addr, err))
		}
	}
	// The check's deadline cut the run short: what was sent counts, the
	// unanswered request as lost. A cancellation (shutdown) is no result.
	if err := ctx.Err(); err != nil && (!errors.Is(err, context.DeadlineExceeded) || sent == 0) {
		return nil, fmt.Errorf("ping %s: %w", addr, err)
	}
	g := p.group(req, sent, rtts)
	if ctx.Err() != nil && len(rtts) > 0 {
		return []*metric.Group{g}, fmt.Errorf("ping %s: %d of %d requests sent before the check's deadline: %w", addr, sent, p.count, ctx.Err())
	}
	if len(rtts) == 0 {
		return []*metric.Group{g}, poll.WithStatus(metric.StatusPingFailure,
			fmt.Errorf("ping %s: no reply to %d echo requests (timeout %s)", addr, sent, p.timeout))
	}
	return []*metric.Group{g}, nil
}

func (p *Ping) group(req *poll.Request, sent int, rtts []time.Duration) *metric.Group {
	at := poll.Epoch(p.now())
	gauge := func(name string, v metric.Value) metric.Metric {
		return metric.Metric{Name: name, Value: v, Type: metric.Gauge, Timestamp: at}
	}
	ms := []metric.Metric{
		gauge("packets_sent", metric.Int(int64(sent))),
		gauge("packets_received", metric.Int(int64(len(rtts)))),
		gauge("packet_loss_percent", metric.Float(lossPercent(sent, len(rtts)))),
	}
	if len(rtts) > 0 {
		s := rttStats(rtts)
		ms = append(ms, gauge("round_trip_min", metric.Float(s.min)), gauge("round_trip_avg", metric.Float(s.avg)),
			gauge("round_trip_max", metric.Float(s.max)), gauge("round_trip_stddev", metric.Float(s.stddev)))
	}
	return &metric.Group{
		Resource: req.Resource, Type: PingGroupType, Interval: int(req.Interval / time.Second),
		CreationTimestamp: poll.Epoch(req.Now), SchemaVersion: metric.SchemaVersion,
		Metrics: ms, Dimensions: []metric.Dimension{},
	}
}

func lossPercent(sent, received int) float64 {
	if sent == 0 {
		return 100
	}
	return 100 * float64(sent-received) / float64(sent)
}

// pingStats are round-trip statistics in milliseconds; stddev is the
// population standard deviation, as ping(8) prints it (mdev).
type pingStats struct{ min, avg, max, stddev float64 }

func rttStats(rtts []time.Duration) pingStats {
	s := pingStats{min: math.Inf(1), max: math.Inf(-1)}
	var sum float64
	for _, d := range rtts {
		ms := float64(d) / float64(time.Millisecond)
		sum += ms
		s.min, s.max = math.Min(s.min, ms), math.Max(s.max, ms)
	}
	s.avg = sum / float64(len(rtts))
	var sq float64
	for _, d := range rtts {
		dev := float64(d)/float64(time.Millisecond) - s.avg
		sq += dev * dev
	}
	s.stddev = math.Sqrt(sq / float64(len(rtts)))
	return s
}

// sleepCtx waits d or until ctx is done; it reports whether d passed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// resolveEndpoint turns resource_endpoint ("host", "host:port", "[v6]:port",
// a bare IPv6 address) into one address, IPv4 first.
func resolveEndpoint(ctx context.Context, ep string) (netip.Addr, error) {
	host := strings.TrimSpace(ep)
	if a, err := netip.ParseAddr(host); err == nil {
		return a.Unmap(), nil
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if a, err := netip.ParseAddr(host); err == nil {
		return a.Unmap(), nil
	}
	if host == "" {
		return netip.Addr{}, fmt.Errorf("resource_endpoint %q has no host to ping", ep)
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("resolve %s: %w", host, err)
	}
	for _, a := range addrs {
		if a.Unmap().Is4() {
			return a.Unmap(), nil
		}
	}
	if len(addrs) == 0 {
		return netip.Addr{}, fmt.Errorf("resolve %s: no addresses", host)
	}
	return addrs[0], nil
}
