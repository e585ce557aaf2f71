// Package procs chooses the Go runtime's GOMAXPROCS for a node
// (runtime.max_procs): a fixed number, or "auto", a controller that runs a
// node using well under a core on one P and gives a busy one every core,
// without an operator choosing.
//
// Why: at low density every SNMP request hands off between goroutines (the
// session, the shared socket's sender and its reader), and with idle Ps the
// runtime wakes a sleeping thread to spin for each hand-off (a futex wake,
// a spin, a futex sleep). With one P there is no idle P to wake: measured,
// 0.80× the collector's CPU at 100 and 1,000 devices (BENCHMARKS.md, issue
// 15). A busy node must not queue behind one thread, so the controller goes
// back to every core at the next tick when the one P is saturated or
// goroutines wait to run.
package procs

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/panoptes-go/panoptes/internal/selfmetric"
	"github.com/prometheus/client_golang/prometheus"
)

// Policy holds the controller's thresholds.
type Policy struct {
	// Tick is how often the controller looks (and how soon it goes up).
	Tick time.Duration
	// Low: at the ceiling, the process using fewer cores than this for
	// Hold ticks in a row goes down to one P.
	Low float64
	// High: below the ceiling, the process using High × procs cores or more
	// in a tick (the Ps saturated) goes back to the ceiling.
	High float64
	// MaxLatency: below the ceiling, a p99 scheduling latency (runnable to
	// running) above this in a tick of at least MinEvents goroutine
	// wake-ups, while the process used at least MinBusy cores, goes back
	// to the ceiling: goroutines wait for the P. A wait while the process
	// is nearly idle is the machine's (other processes hold the cores:
	// measured on a shared machine), which more Ps would not cure.
	MaxLatency time.Duration
	MinEvents  uint64
	MinBusy    float64
	// Hold is the number of quiet ticks before going down; it doubles, up
	// to MaxHold, each time the node goes back up within two holds of going
	// down (so a load at the edge does not flap), and is Hold again after a
	// longer stay.
	Hold, MaxHold int
}

// DefaultPolicy: down after 30 s under 0.4 cores; up the next second at
// 0.7 cores on one P, or a p99 wait above 5 ms at 0.25 cores or more. A
// variable for tests.
var DefaultPolicy = Policy{Tick: time.Second, Low: 0.4, High: 0.7, MaxLatency: 5 * time.Millisecond, MinEvents: 100, MinBusy: 0.25,
	Hold: 30, MaxHold: 600}

// State is what the controller knows between ticks.
type State struct {
	Procs, Ceiling int
	LowTicks       int // quiet ticks in a row at the ceiling
	Hold           int // quiet ticks needed before going down (0: the policy's)
	SinceDown      int // ticks since the last time it went down
}

// Sample is one tick's measurement.
type Sample struct {
	Cores      float64       // CPU the process used (user+system) over the tick, in cores
	LatencyP99 time.Duration // p99 of the goroutines' wait for a P over the tick
	Events     uint64        // goroutine wake-ups the latency was measured over
}

// Decide is the controller's rule: the state after the tick x. It only
// moves between one P and the ceiling: the saving measured is the idle Ps'
// wake-ups, which only one P avoids altogether.
func Decide(p Policy, st State, x Sample) State {
	if st.Hold == 0 {
		st.Hold = p.Hold
	}
	st.SinceDown++
	if st.Procs < st.Ceiling {
		busy := x.Cores >= p.High*float64(st.Procs)
		waiting := x.Events >= p.MinEvents && x.LatencyP99 > p.MaxLatency && x.Cores >= p.MinBusy
		if busy || waiting {
			if st.SinceDown <= 2*st.Hold {
				st.Hold = min(2*st.Hold, p.MaxHold)
			} else {
				st.Hold = p.Hold
			}
			st.Procs, st.LowTicks = st.Ceiling, 0
		}
		return st
	}
	if x.Cores < p.Low {
		st.LowTicks++
	} else {
		st.LowTicks = 0
	}
	if st.Procs > 1 && st.LowTicks >= st.Hold {
		st.Procs, st.LowTicks, st.SinceDown = 1, 0, 0
	}
	return st
}

var (
	running atomic.Bool   // one controller a process: GOMAXPROCS is the process's
	changes atomic.Uint64 // GOMAXPROCS changes made by a controller
)

// collectors are the self-metrics: the GOMAXPROCS in effect and the
// controller's changes of it (process-wide, so every node's registry
// shows them).
func collectors() []prometheus.Collector {
	return []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "panoptes_runtime_max_procs",
			Help: "GOMAXPROCS in effect: the Ps running Go code at once (runtime.max_procs)."},
			func() float64 { return float64(runtime.GOMAXPROCS(0)) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "panoptes_runtime_max_procs_changes_total",
			Help: "Changes of GOMAXPROCS by the runtime.max_procs: auto controller."},
			func() float64 { return float64(changes.Load()) }),
	}
}

// Runner is a node's service: it registers the self-metrics with reg and
// runs Run with fixed (runtime.max_procs; 0 for auto), DefaultPolicy as it
// is when the service starts, and GOMAXPROCS from the environment.
func Runner(fixed int, reg prometheus.Registerer, log *slog.Logger) func(context.Context) error {
	for _, c := range collectors() {
		selfmetric.Register(reg, c)
	}
	return func(ctx context.Context) error {
		Run(ctx, fixed, os.Getenv("GOMAXPROCS") != "", DefaultPolicy, log)
		return nil
	}
}

// Changes is the number of GOMAXPROCS changes made by a controller in this process.
func Changes() uint64 { return changes.Load() }

// Run applies runtime.max_procs until ctx ends: fixed > 0 sets GOMAXPROCS
// to it; 0 (auto) runs the controller with p. envSet (GOMAXPROCS in the
// environment) wins over both. One call a process acts; another (two
// nodes in one test process) waits for ctx. At the end, GOMAXPROCS is the
// runtime's default again.
func Run(ctx context.Context, fixed int, envSet bool, p Policy, log *slog.Logger) {
	if envSet {
		log.Info("go runtime: max procs from GOMAXPROCS", "max_procs", runtime.GOMAXPROCS(0))
		<-ctx.Done()
		return
	}
	if !running.CompareAndSwap(false, true) {
		log.Debug("go runtime: max procs already chosen by another node in this process")
		<-ctx.Done()
		return
	}
	defer running.Store(false)
	defer runtime.SetDefaultGOMAXPROCS()
	if fixed > 0 {
		runtime.SetDefaultGOMAXPROCS() // the CPUs this process may use, cgroup limit included
		if limit := runtime.GOMAXPROCS(0); fixed > limit {
			log.Warn("go runtime: runtime.max_procs is above the CPUs this process may use (its cgroup's CPU limit or the machine's CPUs); the extra Ps only contend for them: lower it, or use auto",
				"max_procs", fixed, "cpu_limit", limit)
		}
		runtime.GOMAXPROCS(fixed)
		log.Info("go runtime: max procs fixed", "max_procs", fixed)
		<-ctx.Done()
		return
	}
	// The runtime's default respects the cgroup's CPU limit and follows
	// it while no one sets GOMAXPROCS; going up goes back to it
	// (SetDefaultGOMAXPROCS), which also resumes that following.
	runtime.SetDefaultGOMAXPROCS()
	st := State{Procs: runtime.GOMAXPROCS(0)}
	st.Ceiling = st.Procs
	log.Info("go runtime: max procs auto", "max_procs", st.Procs, "ceiling", st.Ceiling)
	m := newMeter()
	t := time.NewTicker(p.Tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if st.Procs == st.Ceiling { // the runtime follows the cgroup meanwhile
			st.Ceiling = runtime.GOMAXPROCS(0)
			st.Procs = st.Ceiling
		}
		x := m.sample()
		next := Decide(p, st, x)
		if next.Procs != st.Procs {
			if next.Procs == next.Ceiling {
				runtime.SetDefaultGOMAXPROCS()
				next.Ceiling = runtime.GOMAXPROCS(0)
				next.Procs = next.Ceiling
			} else {
				runtime.GOMAXPROCS(next.Procs)
			}
			changes.Add(1)
			log.Debug("go runtime: max procs changed", "from", st.Procs, "to", next.Procs, "cores", fmt.Sprintf("%.3f", x.Cores),
				"sched_latency_p99", x.LatencyP99, "wakeups", x.Events, "hold_ticks", next.Hold)
		}
		st = next
	}
}

// meter measures the process's CPU (getrusage: the runtime's own CPU
// classes are only updated at GC) and the scheduling latency histogram
// between calls.
type meter struct {
	at      time.Time
	cpu     time.Duration
	hist    []metrics.Sample
	counts  []uint64
	buckets []float64
}

const latencyMetric = "/sched/latencies:seconds"

func newMeter() *meter {
	m := &meter{hist: []metrics.Sample{{Name: latencyMetric}}}
	m.at, m.cpu = time.Now(), CPUTime()
	m.readLatency()
	return m
}

func (m *meter) sample() Sample {
	now, cpu := time.Now(), CPUTime()
	var x Sample
	if wall := now.Sub(m.at); wall > 0 {
		x.Cores = float64(cpu-m.cpu) / float64(wall)
	}
	m.at, m.cpu = now, cpu
	prev := m.counts
	m.readLatency()
	x.LatencyP99, x.Events = p99(prev, m.counts, m.buckets)
	return x
}

func (m *meter) readLatency() {
	metrics.Read(m.hist)
	if m.hist[0].Value.Kind() != metrics.KindFloat64Histogram {
		return
	}
	h := m.hist[0].Value.Float64Histogram()
	m.counts = append([]uint64(nil), h.Counts...) // the runtime may reuse h's slices
	m.buckets = h.Buckets
}

// p99 of the events between two readings of a histogram (bucket i is
// [buckets[i], buckets[i+1])): the lower bound of the bucket holding the
// 99th percentile, so that a bucket's width never sends the node up.
func p99(prev, cur []uint64, buckets []float64) (time.Duration, uint64) {
	if len(prev) != len(cur) || len(buckets) != len(cur)+1 {
		return 0, 0
	}
	var total uint64
	for i := range cur {
		total += cur[i] - prev[i]
	}
	if total == 0 {
		return 0, 0
	}
	want := total - total/100 // the rank of the 99th percentile
	var seen uint64
	for i := range cur {
		seen += cur[i] - prev[i]
		if seen >= want {
			lo := max(buckets[i], 0)
			return time.Duration(lo * float64(time.Second)), total
		}
	}
	return 0, total
}

// CPUTime is the CPU time (user and system) this process has used.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
