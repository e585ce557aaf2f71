// Package bench is the benchmark harness: it starts the simulator in its own
// process, runs the full pipeline (discovery → scheduler → SNMP → bus →
// file sink) in this one, and measures what the collector costs. Figures
// come from here, never from timed tests.
package bench

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/memlimit"
	"github.com/panoptes-go/panoptes/internal/node"
	_ "github.com/panoptes-go/panoptes/internal/plugins/all" // the node it runs uses the built-in plugins
	"github.com/panoptes-go/panoptes/internal/procs"
	simfarm "github.com/panoptes-go/panoptes/internal/sim"
)

// Options choose the load.
type Options struct {
	Devices  int
	Duration time.Duration // measured window, after the warm-up
	Warmup   time.Duration // first polls are not measured (default: one interval)
	Interval time.Duration
	// Plugin is interface (a 48-port walk) or uptime (one GET: a light check).
	Plugin string
	// ChecksPerDevice runs that many instances of the plugin per device, to
	// reach high check rates without more sockets.
	ChecksPerDevice int
	// Enrichment runs the interface plugin with `enrichment: true`: names,
	// aliases and speeds come from the enrichment cache (collected at the
	// first poll, in the warm-up), so the measured polls walk only counters.
	Enrichment bool
	// Rates computes `<counter>_rate` for every counter (`rates: all`),
	// to measure the rate state's CPU and memory against a run without.
	Rates    bool
	Template string // simulator template, e.g. switch48
	BasePort int
	// PortsPerAddr devices share an address before the next (127.0.0.2...),
	// keeping ports below Linux's ephemeral range (32768+), where a busy
	// machine's own connections would collide with the simulator's.
	PortsPerAddr int
	// SharedPort runs the simulator's devices on one port, each at its own
	// 127.x address, served in batches by one socket per CPU: the simulator
	// then costs a fraction of the collector (see sim.Options.SharedPort).
	SharedPort bool
	// SimMaxMsgSize is the simulated agents' largest response in bytes (0:
	// the simulator's default, 65,507, as net-snmp; 1,500 is Cisco IOS's
	// default). A GETBULK answer holds as many varbinds as fit.
	SimMaxMsgSize int
	// SNMPTransport is the collector's snmp.transport: shared or connected.
	SNMPTransport string
	MaxConcurrent int
	// SinkBatchTimeout is the file sink's batch_timeout (default 200ms, a
	// tighter poll→sink latency than the sink's own default, 1s; every
	// batch costs an fsync and an ack, so at low density it sets a floor).
	SinkBatchTimeout time.Duration
	Seed             int64
	// Binary is the panoptes executable that runs the simulator (`sim`).
	Binary string
	// Dir holds the run's files; it is removed afterwards unless Keep.
	Dir  string
	Keep bool
	// BusProcess runs the JetStream server in a process of its own (a
	// `panoptes run` with only the http role and bus.listen) and the
	// pipeline against it with bus.url, as at scale, where the bus is a
	// cluster: the collector's figures then exclude the server's, which
	// are reported beside them.
	BusProcess bool
	// Reference also measures net-snmp's snmpbulkwalk walking one device.
	Reference bool
	// HeapProfile, when set, receives a heap profile at the end of the window
	// (and HeapProfile + ".goroutines" the goroutines grouped by stack);
	// CPUProfile a CPU profile of the window.
	HeapProfile string
	CPUProfile  string
	// MaxProcs is the node's runtime.max_procs ("" its default, auto; a
	// number fixes GOMAXPROCS, the simulator's process keeps its own).
	MaxProcs string
	// Compression is the node's bus.compression ("" its default, s2).
	Compression string
	Logger      *slog.Logger
	Progress    io.Writer // a line per phase; nil for none
}

// Result is the harness's one JSON object.
//
// Check accounting over the measured window (want = devices × checks per
// device):
//   - checks_expected: floor(want × duration / interval), with the nominal
//     --duration: every check is due once per interval, so a window of a
//     whole number of intervals holds exactly this many due times (the
//     measured window, a little longer, may hold a few more; with a
//     fraction of an interval the count is an average and missed_checks
//     approximate);
//   - checks_due: the due times the scheduler reached in the window, the
//     skipped ones included (schedule.Stats.Due), counted from when it has
//     reached the window's start to when it has reached its end (it runs a
//     few milliseconds behind the clock under load; see settled);
//   - checks_started: runs started in the window;
//   - skipped_checks: due times skipped in the window (the previous run
//     still in flight, or waiting for a worker past the next due time);
//   - checks_overdue_at_end: due times still waiting for a worker more
//     than a second past due when the window closed (an overloaded node's
//     backlog; each will start late or be skipped after the window);
//   - missed_checks: skipped_checks + checks_overdue_at_end +
//     max(0, checks_expected − checks_due): the due times that did not run
//     in the window. A due time reached just before the window ends and
//     started just after it is not missed.
type Result struct {
	Devices         int     `json:"devices"`
	Plugin          string  `json:"plugin"`
	ChecksPerDevice int     `json:"checks_per_device"`
	Enrichment      bool    `json:"enrichment"`
	Rates           bool    `json:"rates"`
	SNMPTransport   string  `json:"snmp_transport"`
	BusCompression  string  `json:"bus_compression"`
	SinkBatchMs     int64   `json:"sink_batch_timeout_ms"`
	SimSharedPort   bool    `json:"simulator_shared_port"`
	SimMaxMsgSize   int     `json:"simulator_max_msg_size"`
	IntervalSeconds float64 `json:"interval_seconds"`
	WindowSeconds   float64 `json:"window_seconds"`

	ChecksPerSecond   float64 `json:"checks_per_second"`
	VarbindsPerSecond float64 `json:"varbinds_per_second"`
	// Collector CPU (user+system of this process) per million varbinds.
	CollectorCPUSecondsPer1MVarbinds float64 `json:"collector_cpu_seconds_per_1m_varbinds"`
	CollectorCPUCores                float64 `json:"collector_cpu_cores"`
	// The part of CollectorCPUCores spent in the kernel: on loopback, a
	// sender's system call also runs the receiver's network stack.
	CollectorSystemCPUCores float64 `json:"collector_system_cpu_cores"`
	SimulatorCPUCores       float64 `json:"simulator_cpu_cores"`
	RSSBytes                int64   `json:"rss_bytes"`
	GoHeapInuseBytes        uint64  `json:"go_heap_inuse_bytes"`
	// The Go heap's live bytes after the last GC: RSS above it is GC
	// headroom (GOGC), freed pages not yet returned, stacks and the binary.
	GoHeapLiveBytes   uint64  `json:"go_heap_live_bytes"`
	GoGCPercent       uint64  `json:"go_gc_percent"` // GOGC in effect
	RSSBytesPerDevice float64 `json:"rss_bytes_per_device"`
	// Heap bytes allocated in the window per check completed, and the GC
	// cycles a minute: what allocation cuts change (issue 15).
	AllocatedBytesPerCheck float64 `json:"allocated_bytes_per_check"`
	GCCyclesPerMinute      float64 `json:"gc_cycles_per_minute"`
	// runtime.max_procs, GOMAXPROCS when the window closed, and the auto
	// controller's changes of it in the window.
	MaxProcs        string `json:"max_procs"`
	GoMaxProcs      int    `json:"go_max_procs_at_end"`
	MaxProcsChanges uint64 `json:"max_procs_changes"`

	// With --bus-process: the bus server's process, and the RSS per
	// device of collector and server together (the server's whole RSS,
	// the collector's growth from its start).
	BusProcess                bool    `json:"bus_process,omitempty"`
	BusCPUCores               float64 `json:"bus_cpu_cores,omitempty"`
	BusRSSBytes               int64   `json:"bus_rss_bytes,omitempty"`
	CollectorAndBusCPUPer1MVb float64 `json:"collector_and_bus_cpu_seconds_per_1m_varbinds,omitempty"`
	CollectorAndBusRSSPerDev  float64 `json:"collector_and_bus_rss_bytes_per_device,omitempty"`

	ScheduleLatenessP50Ms float64 `json:"schedule_lateness_p50_ms"`
	ScheduleLatenessP99Ms float64 `json:"schedule_lateness_p99_ms"`
	PollToSinkP50Ms       float64 `json:"poll_to_sink_latency_p50_ms"`
	PollToSinkP99Ms       float64 `json:"poll_to_sink_latency_p99_ms"`

	ChecksExpected uint64 `json:"checks_expected"`
	ChecksDue      uint64 `json:"checks_due"`
	ChecksStarted  uint64 `json:"checks_started"`
	ChecksOverdue  uint64 `json:"checks_overdue_at_end"`
	MissedChecks   int64  `json:"missed_checks"`
	SkippedChecks  uint64 `json:"skipped_checks"`
	FailedChecks   uint64 `json:"failed_checks"`
	GroupsWritten  uint64 `json:"groups_written"`

	// Datagrams per sendmmsg and per recvmmsg on the collector's shared
	// SNMP socket in the window (0 with snmp.transport: connected): how
	// well batching amortises the system calls.
	SNMPDatagramsPerSend float64 `json:"snmp_datagrams_per_sendmmsg,omitempty"`
	SNMPDatagramsPerRecv float64 `json:"snmp_datagrams_per_recvmmsg,omitempty"`
	SNMPVarbindsPerReq   float64 `json:"snmp_varbinds_per_request,omitempty"`

	// The collector process's memory by kind at the end of the window.
	Memory *Memory `json:"memory,omitempty"`

	Reference *Reference `json:"reference,omitempty"`
}

// Reference is net-snmp's C client walking the same tables of one device.
type Reference struct {
	Tool     string `json:"tool"`
	Varbinds int    `json:"varbinds"`
	// Whole processes, start-up included, as a user runs them.
	CPUSecondsPer1MVarbinds float64 `json:"cpu_seconds_per_1m_varbinds"`
	// One process's start-up (an empty walk), and the walks without it.
	StartupCPUSeconds               float64 `json:"startup_cpu_seconds"`
	WalkOnlyCPUSecondsPer1MVarbinds float64 `json:"walk_only_cpu_seconds_per_1m_varbinds"`
	// The collector's CPU per varbind over the reference's, both ways.
	CollectorToReferenceRate float64 `json:"collector_cpu_relative_to_reference"`
	CollectorToWalkOnlyRate  float64 `json:"collector_cpu_relative_to_walk_only"`
}

func (o *Options) defaults() error {
	if o.Devices <= 0 {
		return errors.New("devices must be positive")
	}
	if o.Interval <= 0 {
		o.Interval = time.Minute
	}
	if o.Warmup <= 0 {
		o.Warmup = o.Interval + 5*time.Second
	}
	if o.Duration <= 0 {
		o.Duration = 2 * o.Interval
	}
	if o.Plugin == "" {
		o.Plugin = "interface"
	}
	if o.ChecksPerDevice <= 0 {
		o.ChecksPerDevice = 1
	}
	if o.Template == "" {
		o.Template = "switch48"
	}
	if o.BasePort == 0 {
		o.BasePort = 20000
	}
	if o.PortsPerAddr <= 0 {
		o.PortsPerAddr = max(1, min(o.Devices, 32768-o.BasePort))
	}
	if o.MaxConcurrent <= 0 {
		o.MaxConcurrent = 512
	}
	if o.SinkBatchTimeout <= 0 {
		o.SinkBatchTimeout = 200 * time.Millisecond
	}
	switch o.SNMPTransport {
	case "":
		o.SNMPTransport = config.SNMPTransportShared
	case config.SNMPTransportShared, config.SNMPTransportConnected:
	default:
		return fmt.Errorf("snmp transport %q is not %q or %q", o.SNMPTransport, config.SNMPTransportShared, config.SNMPTransportConnected)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if o.Binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		o.Binary = exe
	}
	return nil
}

// HeapProfileRate is the heap profile's sampling rate the bench command
// sets at its start when asked for a heap profile (runtime.MemProfileRate
// is read by every allocation, so it is set before anything runs): finer
// than the default 512 KB, so that a node's per-device structures of tens
// of bytes each show by name, not by chance.
const HeapProfileRate = 64 << 10

// Run runs one benchmark and returns its figures.
func Run(ctx context.Context, o Options) (*Result, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	dir := o.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "panoptes-bench-")
		if err != nil {
			return nil, err
		}
		dir = d
	}
	if !o.Keep {
		defer os.RemoveAll(dir)
	}
	inventory := filepath.Join(dir, "devices.csv")
	fmt.Fprintf(o.Progress, "bench: starting %d simulated %s devices\n", o.Devices, o.Template)
	sim, err := startSimulator(ctx, o, inventory)
	if err != nil {
		return nil, err
	}
	defer sim.stop()

	var bus *child
	busURL := ""
	if o.BusProcess {
		fmt.Fprintf(o.Progress, "bench: starting the bus in its own process\n")
		if bus, busURL, err = startBus(ctx, o, filepath.Join(dir, "bus")); err != nil {
			return nil, err
		}
		defer bus.stop()
	}

	cfgPath := filepath.Join(dir, "panoptes.yaml")
	if err := os.WriteFile(cfgPath, []byte(configYAML(o, busURL)), 0o600); err != nil {
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

	want := o.Devices * o.ChecksPerDevice
	deadline := time.Now().Add(2 * time.Minute)
	for n.Stats().Scheduled < want {
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("only %d of %d checks scheduled after 2m", n.Stats().Scheduled, want)
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return nil, err
		}
	}
	fmt.Fprintf(o.Progress, "bench: %d checks scheduled; warming up for %s\n", want, o.Warmup)
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
	var busCPU0, busCPU1 time.Duration
	if bus != nil {
		busCPU0 = bus.cpu()
	}
	// The window's due times are counted exactly between two marks set
	// ahead of the timer; the snapshots' counts are the fallback.
	markAt := time.Now().Add(100 * time.Millisecond)
	mark0, mark1 := n.DueBefore(markAt), n.DueBefore(markAt.Add(o.Duration))
	s0, cpu0, simCPU0, t0, procs0 := n.Stats(), procs.CPUTime(), sim.cpu(), time.Now(), procs.Changes()
	sys0, mux0 := selfSystemCPU(), gatherMux(n.Registry())
	tail.reset()
	gc0 := allocAndGC()
	a0 := settled(ctx, n, t0)
	if err := sleep(ctx, o.Duration-time.Since(t0)); err != nil {
		return nil, err
	}
	s1, cpu1, simCPU1, t1, procs1 := n.Stats(), procs.CPUTime(), sim.cpu(), time.Now(), procs.Changes()
	sys1, mux1 := selfSystemCPU(), gatherMux(n.Registry())
	if bus != nil {
		busCPU1 = bus.cpu()
	}
	gc1 := allocAndGC()
	a1 := settled(ctx, n, t1)
	if d0, d1, ok := marked(mark0, mark1); ok {
		a0.Due, a1.Due = d0, d1
	}
	if o.CPUProfile != "" {
		pprof.StopCPUProfile()
	}
	rssNow := rss()
	var mem runtime.MemStats
	runtime.ReadMemStats(&mem)
	live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/gc/gogc:percent"}}
	metrics.Read(live)
	memory := readMemory()
	if o.HeapProfile != "" {
		if err := writeHeapProfile(o.HeapProfile); err != nil {
			o.Logger.Warn("bench: heap profile", "err", err)
		}
		if err := writeGoroutineProfile(o.HeapProfile + ".goroutines"); err != nil {
			o.Logger.Warn("bench: goroutine profile", "err", err)
		}
	}
	window := t1.Sub(t0).Seconds()

	r := &Result{
		Devices: o.Devices, Plugin: o.Plugin, ChecksPerDevice: o.ChecksPerDevice, Enrichment: o.Enrichment, Rates: o.Rates,
		SNMPTransport: o.SNMPTransport, BusCompression: cmp.Or(o.Compression, "s2"), SimSharedPort: o.SharedPort, SimMaxMsgSize: cmp.Or(o.SimMaxMsgSize, simfarm.DefaultMaxMsgSize), SinkBatchMs: o.SinkBatchTimeout.Milliseconds(),
		IntervalSeconds: o.Interval.Seconds(), WindowSeconds: window,
		ChecksPerSecond:         float64(s1.Completed-s0.Completed) / window,
		VarbindsPerSecond:       float64(s1.Varbinds-s0.Varbinds) / window,
		CollectorCPUCores:       (cpu1 - cpu0).Seconds() / window,
		CollectorSystemCPUCores: (sys1 - sys0).Seconds() / window,
		SimulatorCPUCores:       (simCPU1 - simCPU0).Seconds() / window,
		RSSBytes:                rssNow,
		GoHeapInuseBytes:        mem.HeapInuse,
		GoHeapLiveBytes:         live[0].Value.Uint64(),
		GoGCPercent:             live[1].Value.Uint64(),
		RSSBytesPerDevice:       float64(rssNow-baseRSS) / float64(o.Devices),
		MaxProcs:                cmp.Or(o.MaxProcs, "auto"),
		GoMaxProcs:              runtime.GOMAXPROCS(0),
		MaxProcsChanges:         procs1 - procs0,
		ScheduleLatenessP50Ms:   ms(s1.LatenessP50),
		ScheduleLatenessP99Ms:   ms(s1.LatenessP99),
		FailedChecks:            s1.ChecksFailed - s0.ChecksFailed,
		Memory:                  memory,
	}
	r.countChecks(want, o.Duration, o.Interval, a0, a1)
	if c := s1.Completed - s0.Completed; c > 0 {
		r.AllocatedBytesPerCheck = float64(gc1[0]-gc0[0]) / float64(c)
	}
	r.GCCyclesPerMinute = float64(gc1[1]-gc0[1]) / window * 60
	if bus != nil {
		r.BusProcess = true
		r.BusCPUCores = (busCPU1 - busCPU0).Seconds() / window
		r.BusRSSBytes = bus.rss()
		r.CollectorAndBusRSSPerDev = float64(rssNow-baseRSS+r.BusRSSBytes) / float64(o.Devices)
		if vb := s1.Varbinds - s0.Varbinds; vb > 0 {
			r.CollectorAndBusCPUPer1MVb = (cpu1 - cpu0 + busCPU1 - busCPU0).Seconds() / float64(vb) * 1e6
		}
	}
	r.SNMPDatagramsPerSend, r.SNMPDatagramsPerRecv = mux1.perCall(mux0)
	r.SNMPVarbindsPerReq = mux1.varbindsPerRequest(mux0)
	if vb := s1.Varbinds - s0.Varbinds; vb > 0 {
		r.CollectorCPUSecondsPer1MVarbinds = (cpu1 - cpu0).Seconds() / float64(vb) * 1e6
	}
	p50, p99, lines := tail.quantiles()
	r.PollToSinkP50Ms, r.PollToSinkP99Ms, r.GroupsWritten = ms(p50), ms(p99), lines

	if o.Reference && o.Plugin == "interface" {
		ref, err := reference(ctx)
		if err != nil {
			o.Logger.Warn("bench: reference measurement failed", "err", err)
		} else {
			ref.CollectorToReferenceRate = r.CollectorCPUSecondsPer1MVarbinds / ref.CPUSecondsPer1MVarbinds
			if ref.WalkOnlyCPUSecondsPer1MVarbinds > 0 {
				ref.CollectorToWalkOnlyRate = r.CollectorCPUSecondsPer1MVarbinds / ref.WalkOnlyCPUSecondsPer1MVarbinds
			}
			r.Reference = ref
		}
	}
	return r, nil
}

// settled returns the node's stats once its scheduler has reached every due
// time up to t, for the window's check accounting: under load the timer
// runs a few milliseconds behind the clock, and at 50,000 checks/s a
// snapshot taken at t itself would lack hundreds of due times that are
// late by milliseconds, not missed. It waits at most a second: a timer
// further behind than that has missed them.
func settled(ctx context.Context, n *node.Node, t time.Time) node.Stats {
	deadline := time.Now().Add(time.Second)
	for {
		st := n.Stats()
		if !st.Reached.Before(t) || time.Now().After(deadline) || ctx.Err() != nil {
			return st
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// marked returns the counts of the window's two marks, waiting at most a
// second for the second: a timer further behind than that has missed due
// times, and the snapshots count them.
func marked(mark0, mark1 <-chan uint64) (d0, d1 uint64, ok bool) {
	timeout := time.After(time.Second)
	for _, c := range []struct {
		ch <-chan uint64
		d  *uint64
	}{{mark0, &d0}, {mark1, &d1}} {
		select {
		case *c.d = <-c.ch:
		case <-timeout:
			return 0, 0, false
		}
	}
	return d0, d1, true
}

// countChecks fills the check accounting of the window of nominal length
// duration between the node's stats s0 and s1 (see Result). The measured
// window is not used: it overshoots by the sleep's lateness, and at 2,000
// checks/s a 1 ms overshoot would expect 2 due times the window need not
// hold, and count them missed.
func (r *Result) countChecks(want int, duration, interval time.Duration, s0, s1 node.Stats) {
	r.ChecksExpected = uint64(want) * uint64(duration) / uint64(interval)
	r.ChecksDue = s1.Due - s0.Due
	r.ChecksStarted = s1.Started - s0.Started
	r.SkippedChecks = s1.Skipped - s0.Skipped
	r.ChecksOverdue = uint64(s1.Overdue)
	r.MissedChecks = int64(r.SkippedChecks) + int64(r.ChecksOverdue)
	if r.ChecksExpected > r.ChecksDue {
		r.MissedChecks += int64(r.ChecksExpected - r.ChecksDue)
	}
}

func configYAML(o Options, busURL string) string {
	var plugins strings.Builder
	options := ""
	if o.Enrichment && o.Plugin == "interface" {
		options = ", options: {enrichment: true}"
	}
	if o.Rates {
		options += ", rates: all"
	}
	for i := 0; i < o.ChecksPerDevice; i++ {
		fmt.Fprintf(&plugins, "    - {name: %s-%d, plugin: %s, interval: %s%s}\n", o.Plugin, i, o.Plugin, o.Interval, options)
	}
	var busKeys []string
	if busURL != "" {
		busKeys = append(busKeys, fmt.Sprintf("url: %q", busURL))
	}
	if o.Compression != "" {
		busKeys = append(busKeys, fmt.Sprintf("compression: %q", o.Compression))
	}
	bus := ""
	if len(busKeys) > 0 {
		bus = "bus: {" + strings.Join(busKeys, ", ") + "}\n"
	}
	if o.MaxProcs != "" {
		bus += fmt.Sprintf("runtime: {max_procs: %q}\n", o.MaxProcs)
	}
	return fmt.Sprintf(`site: bench
data_dir: data
%shttp: {listen: ""}
log: {level: warn}
discovery:
  interval: 1h
  defaults: {site: bench}
  sources: [{plugin: csv, path: devices.csv}]
snmp:
  transport: %s
  timeout: 5s
  retries: 1
  max_repetitions: 50
  credential: sim
  credentials: {sim: {version: 2c, community: public}}
polling:
  max_concurrent_checks: %d
  plugins:
%ssinks:
  - {type: file, path: metrics.jsonl, max_size: 4GiB, max_files: 1, batch_size: 2000, batch_timeout: %s}
`, bus, o.SNMPTransport, o.MaxConcurrent, plugins.String(), o.SinkBatchTimeout)
}

func writeHeapProfile(path string) error { return writeProfile("heap", path, 0) }

// writeProfile writes the runtime profile name to path (debug as
// pprof.Profile.WriteTo takes it: 0 the protobuf form).
func writeProfile(name, path string, debug int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup(name).WriteTo(f, debug); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// selfSystemCPU is this process's system CPU time.
func selfSystemCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Stime.Nano())
}

// rss is this process's resident set size in bytes, from /proc.
func rss() int64 { return statusRSS("/proc/self/status") }

// statusRSS reads VmRSS from a /proc/<pid>/status file.
func statusRSS(path string) int64 { return statusField(path, "VmRSS:") }

// JSON renders the result as the harness prints it.
func (r *Result) JSON() []byte {
	b, _ := json.MarshalIndent(r, "", "  ")
	return b
}
