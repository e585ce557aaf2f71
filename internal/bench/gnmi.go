package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/memlimit"
	"github.com/panoptes-go/panoptes/internal/node"
	"github.com/panoptes-go/panoptes/internal/procs"
)

// GNMIOptions choose a gNMI load: Devices simulated targets (the
// simulator's --gnmi, in its own process) streamed by one node's gnmi
// input, every interface counter sampled every Interval.
type GNMIOptions struct {
	Options
	// Encoding of the subscriptions: proto (default), json_ietf or json.
	Encoding string
	// Mappings the input uses (default openconfig-interfaces: the
	// interface groups the SNMP harness's interface plugin makes).
	Mappings []string
	// PerLeaf: the simulator sends one notification per leaf (the
	// reference server's way) instead of one per container and sample.
	PerLeaf bool
	// Silence: the input's silence option (0: its default, 30 s at 10 s
	// samples). 1,000 targets' first full dumps all at once take longer on
	// a loaded machine, and each stream given up re-subscribes (another dump).
	Silence time.Duration
	// Flush: the input's flush option (0: its default, 1 s). A row is
	// published at most once a flush, so with 1 s samples a flush of 1 s
	// folds two samples of a row that land in one flush into one group.
	Flush time.Duration
	// SimCPUProfile: write the simulator process's CPU profile of the
	// measured window here (read from its --control /debug/pprof/profile).
	SimCPUProfile string
}

// GNMIResult is the gNMI harness's JSON object.
type GNMIResult struct {
	Targets         int     `json:"targets"`
	Template        string  `json:"template"`
	Encoding        string  `json:"encoding"`
	Mappings        string  `json:"mappings"`
	PerLeaf         bool    `json:"simulator_per_leaf_notifications"`
	IntervalSeconds float64 `json:"sample_interval_seconds"`
	WindowSeconds   float64 `json:"window_seconds"`

	// Received from the targets: notifications (a timestamp and its
	// updates) and leaf updates.
	NotificationsPerSecond float64 `json:"notifications_per_second"`
	UpdatesPerSecond       float64 `json:"leaf_updates_per_second"`
	// Written by the file sink, through rates and the bus: every group
	// (interface and status).
	GroupsPerSecond float64 `json:"groups_per_second"`

	CollectorCPUCores                 float64 `json:"collector_cpu_cores"`
	CollectorCPUSecondsPer1kNotifs    float64 `json:"collector_cpu_seconds_per_1k_notifications"`
	CollectorCPUSecondsPer1MUpdates   float64 `json:"collector_cpu_seconds_per_1m_leaf_updates"`
	CollectorCPUMillisecondsPer1kGrps float64 `json:"collector_cpu_ms_per_1k_groups"`
	SimulatorCPUCores                 float64 `json:"simulator_cpu_cores"`
	RSSBytes                          int64   `json:"rss_bytes"`
	RSSBytesPerTarget                 float64 `json:"rss_bytes_per_target"`
	GoHeapLiveBytes                   uint64  `json:"go_heap_live_bytes"`

	// The status group's creation (each target's, every interval) to its
	// line in the sink's file.
	GroupToSinkP50Ms float64 `json:"group_to_sink_latency_p50_ms"`
	GroupToSinkP99Ms float64 `json:"group_to_sink_latency_p99_ms"`

	// Over the window: stream reconnects, notifications dropped by a full
	// queue (the consumer behind), and targets not streaming at its end.
	Reconnects           uint64 `json:"reconnects"`
	DroppedNotifications uint64 `json:"dropped_notifications"`
	TargetsNotStreaming  int    `json:"targets_not_streaming_at_end"`
	GroupsWritten        uint64 `json:"groups_written"`
}

// gnmiCounts are the node's gNMI self-metrics at one moment.
type gnmiCounts struct {
	notifications, updates, reconnects, dropped float64
	streaming                                   int
}

func gatherGNMI(g prometheus.Gatherer) gnmiCounts {
	var c gnmiCounts
	mfs, err := g.Gather()
	if err != nil {
		return c
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			switch mf.GetName() {
			case "panoptes_gnmi_notifications_total":
				c.notifications += m.GetCounter().GetValue()
			case "panoptes_gnmi_updates_total":
				c.updates += m.GetCounter().GetValue()
			case "panoptes_gnmi_reconnects_total":
				c.reconnects += m.GetCounter().GetValue()
			case "panoptes_gnmi_notifications_dropped_total":
				c.dropped += m.GetCounter().GetValue()
			case "panoptes_gnmi_subscriptions":
				for _, l := range m.GetLabel() {
					if l.GetName() == "state" && l.GetValue() == "success" {
						c.streaming += int(m.GetGauge().GetValue())
					}
				}
			}
		}
	}
	return c
}

func (o *GNMIOptions) defaults() error {
	if o.Interval <= 0 {
		o.Interval = 10 * time.Second
	}
	if o.Warmup <= 0 {
		o.Warmup = o.Interval + 5*time.Second
	}
	if o.Encoding == "" {
		o.Encoding = "proto"
	}
	if len(o.Mappings) == 0 {
		o.Mappings = []string{"openconfig-interfaces"}
	}
	o.Plugin = "gnmi"
	return o.Options.defaults()
}

// RunGNMI runs one gNMI benchmark and returns its figures.
func RunGNMI(ctx context.Context, o GNMIOptions) (*GNMIResult, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	dir := o.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "panoptes-bench-gnmi-")
		if err != nil {
			return nil, err
		}
		dir = d
	}
	if !o.Keep {
		defer os.RemoveAll(dir)
	}
	inventory := filepath.Join(dir, "devices.csv")
	fmt.Fprintf(o.Progress, "bench: starting %d simulated %s gNMI targets\n", o.Devices, o.Template)
	// The targets feed their caches every interval: SAMPLE at the interval
	// then sends each counter once per sample.
	simArgs := []string{"--gnmi", "--gnmi-base-port", strconv.Itoa(o.BasePort), "--gnmi-update", o.Interval.String()}
	if o.PerLeaf {
		simArgs = append(simArgs, "--gnmi-per-leaf")
	}
	control := ""
	if o.SimCPUProfile != "" {
		var err error
		if control, err = freeLoopbackPort(); err != nil {
			return nil, err
		}
		simArgs = append(simArgs, "--control", control)
	}
	sim, err := startSimulator(ctx, o.Options, inventory, simArgs...)
	if err != nil {
		return nil, err
	}
	defer sim.stop()

	cfgPath := filepath.Join(dir, "panoptes.yaml")
	if err := os.WriteFile(cfgPath, []byte(gnmiConfigYAML(o)), 0o600); err != nil {
		return nil, err
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return nil, fmt.Errorf("bench config: %w", err)
	}
	// The node's runtime defaults, as `panoptes run` sets them, so the
	// figures are a real node's (GOGC in the environment still wins).
	goRuntime := memlimit.FromConfig(cfg.Runtime)
	o.Logger.Info("go runtime: "+goRuntime.String(), "gc_percent", goRuntime.GCPercent)
	baseRSS := rss()
	n, err := node.New(cfg, o.Logger)
	if err != nil {
		return nil, err
	}
	runCtx, stopNode := context.WithCancel(ctx)
	nodeDone := make(chan error, 1)
	go func() { nodeDone <- n.Run(runCtx) }()
	defer func() { stopNode(); <-nodeDone }()

	tail := newTailer(filepath.Join(dir, "metrics.jsonl"))
	go tail.run(runCtx)

	wait := 2*time.Minute + time.Duration(o.Devices)*100*time.Millisecond
	deadline := time.Now().Add(wait)
	for gatherGNMI(n.Registry()).streaming < o.Devices {
		if time.Now().After(deadline) {
			// Measured anyway: the result says how many were not streaming.
			fmt.Fprintf(o.Progress, "bench: only %d of %d targets streaming after %s; measuring anyway\n", gatherGNMI(n.Registry()).streaming, o.Devices, wait)
			break
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return nil, err
		}
	}
	fmt.Fprintf(o.Progress, "bench: %d targets streaming; warming up for %s\n", gatherGNMI(n.Registry()).streaming, o.Warmup)
	if err := sleep(ctx, o.Warmup); err != nil {
		return nil, err
	}
	fmt.Fprintf(o.Progress, "bench: measuring for %s\n", o.Duration)
	if o.CPUProfile != "" {
		f, err := os.Create(o.CPUProfile)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, err
		}
	}
	simProfile := make(chan error, 1)
	if control != "" {
		go func() { simProfile <- fetchProfile(ctx, control, o.Duration, o.SimCPUProfile) }()
	}
	g0, cpu0, simCPU0, t0 := gatherGNMI(n.Registry()), procs.CPUTime(), sim.cpu(), time.Now()
	tail.reset()
	if err := sleep(ctx, o.Duration); err != nil {
		return nil, err
	}
	g1, cpu1, simCPU1, t1 := gatherGNMI(n.Registry()), procs.CPUTime(), sim.cpu(), time.Now()
	// Groups are the lines written in the window: counted at its end, not
	// after the wait for its last latencies (which added up to half a
	// second of lines: +0.8 % at 60 s, 5,639 groups/s where 5,600 were due).
	_, _, lines := tail.quantiles()
	if o.CPUProfile != "" {
		pprof.StopCPUProfile()
	}
	if control != "" {
		if err := <-simProfile; err != nil {
			o.Logger.Warn("bench: simulator CPU profile", "err", err)
		}
	}
	if o.HeapProfile != "" {
		if err := writeHeapProfile(o.HeapProfile); err != nil {
			o.Logger.Warn("bench: heap profile", "err", err)
		}
	}
	// The window's last groups are still on their way to the file.
	if err := sleep(ctx, 500*time.Millisecond); err != nil {
		return nil, err
	}
	rssNow := rss()
	runtime.GC()
	var mem runtime.MemStats
	runtime.ReadMemStats(&mem)
	window := t1.Sub(t0).Seconds()
	cpu := (cpu1 - cpu0).Seconds()
	p50, p99, _ := tail.quantiles()
	r := &GNMIResult{
		Targets: o.Devices, Template: o.Template, Encoding: o.Encoding, Mappings: fmt.Sprint(o.Mappings), PerLeaf: o.PerLeaf,
		IntervalSeconds: o.Interval.Seconds(), WindowSeconds: window,
		NotificationsPerSecond: (g1.notifications - g0.notifications) / window,
		UpdatesPerSecond:       (g1.updates - g0.updates) / window,
		GroupsPerSecond:        float64(lines) / window,
		CollectorCPUCores:      cpu / window,
		SimulatorCPUCores:      (simCPU1 - simCPU0).Seconds() / window,
		RSSBytes:               rssNow,
		RSSBytesPerTarget:      float64(rssNow-baseRSS) / float64(o.Devices),
		GoHeapLiveBytes:        mem.HeapAlloc,
		GroupToSinkP50Ms:       ms(p50),
		GroupToSinkP99Ms:       ms(p99),
		Reconnects:             uint64(g1.reconnects - g0.reconnects),
		DroppedNotifications:   uint64(g1.dropped - g0.dropped),
		TargetsNotStreaming:    o.Devices - g1.streaming,
		GroupsWritten:          lines,
	}
	if d := g1.notifications - g0.notifications; d > 0 {
		r.CollectorCPUSecondsPer1kNotifs = cpu / d * 1e3
	}
	if d := g1.updates - g0.updates; d > 0 {
		r.CollectorCPUSecondsPer1MUpdates = cpu / d * 1e6
	}
	if lines > 0 {
		r.CollectorCPUMillisecondsPer1kGrps = cpu / float64(lines) * 1e6
	}
	return r, nil
}

// gnmiConfigYAML is the node's config: the simulator's inventory (with its
// gnmi_port column), one gnmi input over every device, no polling, the
// file sink as in the SNMP harness.
func gnmiConfigYAML(o GNMIOptions) string {
	maps := ""
	for i, m := range o.Mappings {
		if i > 0 {
			maps += ", "
		}
		maps += strconv.Quote(m)
	}
	silence := ""
	if o.Silence > 0 {
		silence = ", silence: " + o.Silence.String()
	}
	if o.Flush > 0 {
		silence += ", flush: " + o.Flush.String()
	}
	return fmt.Sprintf(`site: bench
data_dir: data
http: {listen: ""}
log: {level: warn}
discovery:
  interval: 1h
  defaults: {site: bench}
  sources: [{plugin: csv, path: devices.csv}]
polling:
  plugins: []
inputs:
  - name: gnmi
    plugin: gnmi
    interval: %s
    rates: all
    options: {encoding: %s, mappings: [%s]%s}
sinks:
  - {type: file, path: metrics.jsonl, max_size: 4GiB, max_files: 1, batch_size: 2000, batch_timeout: 200ms}
`, o.Interval, o.Encoding, maps, silence)
}

// fetchProfile writes the CPU profile of the next d of the simulator
// serving its controls on addr to file.
func fetchProfile(ctx context.Context, addr string, d time.Duration, file string) error {
	secs := max(1, int(d.Round(time.Second)/time.Second))
	ctx, cancel := context.WithTimeout(ctx, d+2*time.Minute) // a loaded machine answers late
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, secs), nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("simulator profile: %s", resp.Status)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
