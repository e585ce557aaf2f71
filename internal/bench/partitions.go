package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/panoptes-go/panoptes/internal/bus"
	"github.com/panoptes-go/panoptes/internal/latency"
	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/procs"
	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/sink"
	"github.com/panoptes-go/panoptes/internal/wire"
)

// The partitions mode measures the bus alone: three `panoptes run`
// processes whose embedded servers form a JetStream cluster (replicas 3,
// bus.partitions N), publishers in this process sending interface-check
// sized sets as fast as the cluster acknowledges them, and a consumer of
// every partition (the sinks' machinery, into a sink that only measures)
// in this process too. Per N it reports the acknowledged groups/s, each
// server's CPU and its cost per group, and the publish→sink latency. On
// one machine the three servers share its CPUs: the per-group cost per
// server, not the throughput, is what carries over to a real cluster
// (docs/TOPOLOGY.md, Sizing).

// PartitionsOptions choose the partitions mode's load.
type PartitionsOptions struct {
	Counts       []int         // partition counts, one fresh cluster each (default 1, 3, 9)
	Duration     time.Duration // measured window per count (default 20s)
	Warmup       time.Duration // before it (default 5s)
	Devices      int           // distinct resources (default 1000)
	GroupsPerSet int           // groups per published set: one check's (default 49, a 48-port switch)
	Publishers   int           // concurrent publishers (default 16)
	Binary       string        // the panoptes executable the servers run
	Dir          string        // the run's files; removed afterwards unless Keep
	Keep         bool
	Logger       *slog.Logger
	Progress     io.Writer
}

// PartitionsResult is the partitions mode's JSON object.
type PartitionsResult struct {
	Devices      int             `json:"devices"`
	GroupsPerSet int             `json:"groups_per_set"`
	Publishers   int             `json:"publishers"`
	Window       float64         `json:"window_seconds"`
	Runs         []PartitionsRun `json:"runs"`
}

// PartitionsRun is one partition count's figures.
type PartitionsRun struct {
	Partitions int `json:"partitions"`
	// GroupsPerSecond were acknowledged by the streams (the publishers
	// hold back while the client buffers);
	// SinkGroupsPerSecond written by the consumer of every partition.
	GroupsPerSecond     float64 `json:"groups_per_second"`
	SinkGroupsPerSecond float64 `json:"sink_groups_per_second"`
	// Publish→sink latency: from the set's publish call to the consumer's
	// write of its groups.
	PublishToSinkP50Ms float64 `json:"publish_to_sink_p50_ms"`
	PublishToSinkP99Ms float64 `json:"publish_to_sink_p99_ms"`
	// This process: the publishers and the consumer.
	ClientCPUCores float64         `json:"client_cpu_cores"`
	Servers        []ServerFigures `json:"servers"`
	// ServersCPUMicrosPerGroup is the three servers' CPU per published
	// group, together: what a group costs the cluster.
	ServersCPUMicrosPerGroup float64 `json:"servers_cpu_us_per_group"`
}

// ServerFigures are one server's figures over the window.
type ServerFigures struct {
	Name     string  `json:"name"`
	Leads    int     `json:"partitions_led"` // metrics streams it leads at the end
	CPUCores float64 `json:"cpu_cores"`
	// CPUMicrosPerGroup is its CPU per published group.
	CPUMicrosPerGroup float64 `json:"cpu_us_per_group"`
	RSSBytes          int64   `json:"rss_bytes"`
}

func (o *PartitionsOptions) defaults() error {
	if len(o.Counts) == 0 {
		o.Counts = []int{1, 3, 9}
	}
	for _, n := range o.Counts {
		if n < 1 || n > wire.MaxPartitions {
			return fmt.Errorf("partition count %d is out of range 1..%d", n, wire.MaxPartitions)
		}
	}
	if o.Duration <= 0 {
		o.Duration = 20 * time.Second
	}
	if o.Warmup <= 0 {
		o.Warmup = 5 * time.Second
	}
	if o.Devices <= 0 {
		o.Devices = 1000
	}
	if o.GroupsPerSet <= 0 {
		o.GroupsPerSet = 49
	}
	if o.Publishers <= 0 {
		o.Publishers = 16
	}
	if o.Binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		o.Binary = exe
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	return nil
}

// RunPartitions measures each partition count in turn.
func RunPartitions(ctx context.Context, o PartitionsOptions) (*PartitionsResult, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	dir := o.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "panoptes-bench-partitions-")
		if err != nil {
			return nil, err
		}
		dir = d
	}
	if !o.Keep {
		defer os.RemoveAll(dir)
	}
	res := &PartitionsResult{Devices: o.Devices, GroupsPerSet: o.GroupsPerSet, Publishers: o.Publishers, Window: o.Duration.Seconds()}
	for _, n := range o.Counts {
		fmt.Fprintf(o.Progress, "partitions %d: starting a 3-server cluster\n", n)
		run, err := runPartitions(ctx, o, n, filepath.Join(dir, fmt.Sprintf("p%d", n)))
		if err != nil {
			return nil, fmt.Errorf("partitions %d: %w", n, err)
		}
		fmt.Fprintf(o.Progress, "partitions %d: %.0f groups/s, p99 %.0f ms, servers %.1f µs/group\n",
			n, run.GroupsPerSecond, run.PublishToSinkP99Ms, run.ServersCPUMicrosPerGroup)
		res.Runs = append(res.Runs, *run)
	}
	return res, nil
}

// JSON is the result as one indented JSON object.
func (r *PartitionsResult) JSON() []byte {
	b, _ := json.MarshalIndent(r, "", "  ")
	return b
}

func runPartitions(ctx context.Context, o PartitionsOptions, n int, dir string) (*PartitionsRun, error) {
	servers, urls, err := startCluster(ctx, o, n, dir)
	defer func() {
		for _, s := range servers {
			s.stop()
		}
	}()
	if err != nil {
		return nil, err
	}
	octx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	reg := prometheus.NewRegistry()
	b, err := bus.Open(octx, bus.Options{URL: strings.Join(urls, ","), DataDir: filepath.Join(dir, "client"),
		Replicas: 3, Partitions: n, MaxBytes: 4 << 30, Logger: o.Logger, Registerer: reg})
	cancel()
	if err != nil {
		return nil, fmt.Errorf("connect to the cluster: %w", err)
	}
	defer b.Close()

	meter := &meterSink{}
	cons, err := sink.NewConsumer(sink.Spec{Name: "bench"}, meter, sink.Deps{Logger: o.Logger, Replicas: b.Replicas()})
	if err != nil {
		return nil, err
	}
	runCtx, stopAll := context.WithCancel(ctx)
	defer stopAll()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = cons.Run(runCtx, b.JetStream()) }()
	// Publishers hold back while the bus client buffers (the cluster does
	// not keep up): the figures are what the cluster acknowledges.
	var behind atomic.Bool
	wg.Add(1)
	go func() {
		defer wg.Done()
		for runCtx.Err() == nil {
			behind.Store(gathered(reg, "panoptes_bus_buffered_messages") > backlogLimit)
			_ = sleep(runCtx, 50*time.Millisecond)
		}
	}()
	for p := range o.Publishers {
		wg.Add(1)
		go func() { defer wg.Done(); publishLoop(runCtx, b, o, p, &behind) }()
	}
	defer wg.Wait()
	defer stopAll()

	if err := sleep(ctx, o.Warmup); err != nil {
		return nil, err
	}
	cpu0, self0 := serverCPU(servers), procs.CPUTime()
	pub0, sink0 := gathered(reg, "panoptes_bus_published_total"), meter.groups.Load()
	meter.hist.Store(&latency.Hist{})
	start := time.Now()
	if err := sleep(ctx, o.Duration); err != nil {
		return nil, err
	}
	window := time.Since(start).Seconds()
	cpu1, self1 := serverCPU(servers), procs.CPUTime()
	groups := gathered(reg, "panoptes_bus_published_total") - pub0
	run := &PartitionsRun{
		Partitions:          n,
		GroupsPerSecond:     groups / window,
		SinkGroupsPerSecond: float64(meter.groups.Load()-sink0) / window,
		ClientCPUCores:      (self1 - self0).Seconds() / window,
	}
	q := meter.hist.Load().Quantiles(0.5, 0.99)
	run.PublishToSinkP50Ms, run.PublishToSinkP99Ms = ms(q[0]), ms(q[1])
	leads := leaders(ctx, b.JetStream())
	var total time.Duration
	for i, s := range servers {
		d := cpu1[i] - cpu0[i]
		total += d
		f := ServerFigures{Name: s.name, Leads: leads[s.name], CPUCores: d.Seconds() / window, RSSBytes: s.rss()}
		if groups > 0 {
			f.CPUMicrosPerGroup = float64(d.Microseconds()) / groups
		}
		run.Servers = append(run.Servers, f)
	}
	if groups > 0 {
		run.ServersCPUMicrosPerGroup = float64(total.Microseconds()) / groups
	}
	return run, nil
}

// clusterServer is one of the cluster's `panoptes run` processes.
type clusterServer struct {
	*child
	name string
}

// startCluster starts three bus-only `panoptes run` processes routed to
// each other, with replicas 3 and n partitions, and waits until each
// listens.
func startCluster(ctx context.Context, o PartitionsOptions, n int, dir string) ([]*clusterServer, []string, error) {
	var clients, routes []string
	for range 6 {
		addr, err := freeLoopbackPort()
		if err != nil {
			return nil, nil, err
		}
		if len(clients) < 3 {
			clients = append(clients, addr)
		} else {
			routes = append(routes, addr)
		}
	}
	var routeURLs, urls []string
	for i := range 3 {
		routeURLs = append(routeURLs, "nats-route://"+routes[i])
		urls = append(urls, "nats://"+clients[i])
	}
	var servers []*clusterServer
	for i := range 3 {
		sdir := filepath.Join(dir, fmt.Sprintf("s%d", i+1))
		if err := os.MkdirAll(sdir, 0o755); err != nil {
			return servers, nil, err
		}
		cfg := filepath.Join(sdir, "bus.yaml")
		yaml := fmt.Sprintf(`site: bench
data_dir: %q
http: {listen: ""}
log: {level: warn}
roles: [http]
bus:
  listen: %q
  replicas: 3
  partitions: %d
  max_bytes: 4GiB
  connect_retry: 2m
  cluster: {name: bench, listen: %q, routes: [%s]}
`, filepath.Join(sdir, "data"), clients[i], n, routes[i], strings.Join(routeURLs, ", "))
		if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
			return servers, nil, err
		}
		c, err := startChild(o.Binary, "run", "--config", cfg)
		if err != nil {
			return servers, nil, fmt.Errorf("start server %d: %w", i+1, err)
		}
		servers = append(servers, &clusterServer{child: c})
	}
	deadline := time.Now().Add(2 * time.Minute)
	for i, s := range servers {
		for {
			conn, err := net.DialTimeout("tcp", clients[i], time.Second)
			if err == nil {
				conn.Close()
				break
			}
			select {
			case <-s.done:
				return servers, nil, fmt.Errorf("server %d exited before it listened on %s", i+1, clients[i])
			case <-ctx.Done():
				return servers, nil, ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				return servers, nil, fmt.Errorf("server %d not listening on %s after 2m", i+1, clients[i])
			}
		}
		name, _ := os.ReadFile(filepath.Join(dir, fmt.Sprintf("s%d", i+1), "data", "nats", "server_name"))
		s.name = strings.TrimSpace(string(name))
	}
	return servers, urls, nil
}

func serverCPU(servers []*clusterServer) []time.Duration {
	out := make([]time.Duration, len(servers))
	for i, s := range servers {
		out[i] = s.cpu()
	}
	return out
}

// leaders counts the metrics streams each server leads.
func leaders(ctx context.Context, js jetstream.JetStream) map[string]int {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out := map[string]int{}
	streams := js.ListStreams(ctx, jetstream.WithStreamListSubject(wire.AllMetrics))
	for info := range streams.Info() {
		if info.Cluster != nil && info.Cluster.Leader != "" {
			out[info.Cluster.Leader]++
		}
	}
	return out
}

// backlogLimit is the bus client's buffer (messages) past which the
// publishers wait.
const backlogLimit = 200

// gathered is the value of an unlabelled counter or gauge of reg (0 when
// absent).
func gathered(reg *prometheus.Registry, name string) float64 {
	mfs, err := reg.Gather()
	if err != nil {
		return 0
	}
	for _, mf := range mfs {
		if mf.GetName() != name || len(mf.GetMetric()) == 0 {
			continue
		}
		m := mf.GetMetric()[0]
		if c := m.GetCounter(); c != nil {
			return c.GetValue()
		}
		return m.GetGauge().GetValue()
	}
	return 0
}

// publishLoop publishes sets of o.GroupsPerSet groups, each of one of its
// devices in turn, until ctx is done, waiting while behind.
func publishLoop(ctx context.Context, b *bus.Bus, o PartitionsOptions, p int, behind *atomic.Bool) {
	var devices []*resource.Resource
	for d := p; d < o.Devices; d += o.Publishers {
		devices = append(devices, &resource.Resource{Site: "bench", Class: "network", Subclass: "switch", Type: "cisco",
			ID: fmt.Sprintf("bench%05d", d), Endpoint: "127.0.0.1:161"})
	}
	if len(devices) == 0 {
		return
	}
	set := &metric.GroupSet{}
	for i := range o.GroupsPerSet {
		g := &metric.Group{Type: "interface", Interval: 60, SchemaVersion: metric.SchemaVersion,
			Dimensions: []metric.Dimension{{Name: "interface_name", Value: fmt.Sprintf("GigabitEthernet1/0/%d", i+1)}}}
		for _, name := range []string{"bits_in", "bits_out", "packets_in", "packets_out", "errors_in", "errors_out", "discards_in", "discards_out"} {
			g.Metrics = append(g.Metrics, metric.Metric{Name: name, Value: metric.Int(int64(i) * 1000), Type: metric.Counter})
		}
		set.Groups = append(set.Groups, g)
	}
	for i := 0; ctx.Err() == nil; i++ {
		r := devices[i%len(devices)]
		now := float64(time.Now().UnixNano()) / 1e9
		for _, g := range set.Groups {
			g.Resource, g.CreationTimestamp = r, now
			for k := range g.Metrics {
				g.Metrics[k].Timestamp = now
			}
		}
		if behind.Load() {
			_ = sleep(ctx, 20*time.Millisecond)
			continue
		}
		if _, err := b.PublishSet(ctx, set); err != nil && !errors.Is(err, context.Canceled) && ctx.Err() == nil {
			_ = sleep(ctx, 10*time.Millisecond)
		}
	}
}

// meterSink counts the groups written and their publish→sink latency.
type meterSink struct {
	groups atomic.Int64
	hist   atomic.Pointer[latency.Hist]
}

func (m *meterSink) Write(_ context.Context, batch []sink.Record) error {
	now := time.Now()
	h := m.hist.Load()
	for _, r := range batch {
		if r.Group != nil && h != nil {
			h.Observe(now.Sub(time.Unix(0, int64(r.Group.CreationTimestamp*1e9))))
		}
	}
	m.groups.Add(int64(len(batch)))
	return nil
}
