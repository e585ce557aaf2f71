//go:build unix

package node

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/poll/uptime"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/panoptes-go/panoptes/internal/bus"
	"github.com/panoptes-go/panoptes/internal/checkstate"
	"github.com/panoptes-go/panoptes/internal/cluster"
	"github.com/panoptes-go/panoptes/internal/collector"
	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/poll"
	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/schedule"
)

// benchLight is the uptime plugin without SNMP: the same `system` group,
// and the same use of ctx as a GET on the pool's shared socket (Err,
// Deadline, a wait that selects on Done), so that the path around it costs
// what it costs with a device.
type benchLight struct{}

func (benchLight) NoSNMP() bool { return true }

// answers stands for the sessions' reply channels a GET waits on.
var answers = sync.Pool{New: func() any { return make(chan struct{}, 1) }}

func (benchLight) Poll(ctx context.Context, req *poll.Request) ([]*metric.Group, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	_, _ = ctx.Deadline()
	answer := answers.Get().(chan struct{})
	defer answers.Put(answer)
	answer <- struct{}{}
	select {
	case <-answer:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	o := &struct {
		groups [2]*metric.Group
		group  metric.Group
		metric [1]metric.Metric
	}{}
	o.metric[0] = metric.Metric{Name: "uptime_seconds", Value: metric.Float(1234.56), Type: metric.Gauge,
		Timestamp: float64(time.Now().UnixNano()) / 1e9}
	o.group = metric.Group{Resource: req.Resource, Type: uptime.UptimeGroupType, Interval: int(req.Interval / time.Second),
		CreationTimestamp: float64(req.Now.UnixNano()) / 1e9, SchemaVersion: metric.SchemaVersion,
		Metrics: o.metric[:], Dimensions: []metric.Dimension{}}
	o.groups[0] = &o.group
	return o.groups[:1], nil
}

// BenchmarkLightPath runs light checks as a node does, minus SNMP and
// sinks: the scheduler in real time, the collector's CheckFunc, the Runner, the status
// group and PublishSet (coalesced, 5ms linger, S2) into an embedded bus,
// and the activity counters. 10,000 checks on a 1s interval; one op is one
// interval (run with -benchtime=Nx). cpu-µs/check is the whole process's
// CPU (the embedded NATS server storing the messages included) per check
// started; allocs/check and B/check likewise.
//
// "book" records every run in the status page's checkstate.Book, as a
// node does; "nobook" leaves it out (what the book costs is the difference).
//
//	go test -run '^$' -bench LightPath -benchtime 5x ./internal/node
func BenchmarkLightPath(b *testing.B) {
	b.Run("book", func(b *testing.B) { benchLightPath(b, true) })
	b.Run("nobook", func(b *testing.B) { benchLightPath(b, false) })
}

func benchLightPath(b *testing.B, withBook bool) {
	const (
		devices   = 1000
		perDevice = 10
		iv        = time.Second
	)
	log := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn}))
	reg := prometheus.NewRegistry()
	ctx := context.Background()
	bs, err := bus.Open(ctx, bus.Options{DataDir: b.TempDir(), Name: "bench", Linger: 5 * time.Millisecond,
		Logger: log, Registerer: reg})
	if err != nil {
		b.Fatal(err)
	}
	defer bs.Close()
	cl, err := cluster.Join(ctx, cluster.Options{JS: bs.JetStream(),
		Self: cluster.Member{ID: "bench", Site: "bench", Roles: []string{config.RolePoller}}, Logger: log})
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Abandon()
	runner := poll.NewRunner(poll.RunnerOptions{Logger: log, Registerer: reg})
	sched := schedule.New(schedule.Options{MaxConcurrent: 1024, Logger: log, Registerer: reg})
	plugins := make([]collector.Plugin, perDevice)
	for i := range plugins {
		plugins[i] = collector.Plugin{Name: fmt.Sprintf("uptime-%d", i), Interval: iv, Timeout: iv, Plugin: benchLight{}}
	}
	co := collector.Options{Site: "bench", Plugins: plugins, Owner: cl, Publisher: bs, Poller: runner, Scheduler: sched, Logger: log}
	if withBook {
		co.Checks = checkstate.New()
	}
	col := collector.New(co)
	var checks []schedule.Check
	for d := range devices {
		res := &resource.Resource{Site: "bench", Class: "network", Subclass: "switch", Type: "cisco",
			ID: fmt.Sprintf("sw%d.example.net", d), Endpoint: "127.0.0.1:161", Plugin: "discovery_csv"}
		for i := range plugins {
			pi := &plugins[i]
			checks = append(checks, schedule.Check{Key: pi.Name + "|" + res.Key(), Plugin: pi.Name, Interval: iv,
				Run: col.CheckFunc(pi, res, time.Time{}, time.Time{})})
		}
	}
	sched.Update(checks)
	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- sched.Run(sctx) }()
	time.Sleep(3 * iv / 2) // every check has run once: sessions, pools, maps warmed

	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	failed0, unpublished0 := col.Total.Failed.Load(), col.Total.Errors.Load()
	st0, cpu0, t0 := sched.Stats(), processCPU(b), time.Now()
	b.ResetTimer()
	for range b.N {
		time.Sleep(iv)
	}
	b.StopTimer()
	st1, cpu1, wall := sched.Stats(), processCPU(b), time.Since(t0)
	runtime.ReadMemStats(&ms1)
	stop()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	started := float64(st1.Started - st0.Started)
	if started == 0 {
		b.Fatal("no check started")
	}
	// A check times out when the machine is too busy to keep up (reported
	// as failed); most of them failing means the path is broken.
	failed, unpublished := col.Total.Failed.Load()-failed0, col.Total.Errors.Load()-unpublished0
	if float64(failed) > started/2 || unpublished > 0 {
		_, p99 := sched.LatencyQuantiles()
		b.Fatalf("%d of %.0f checks failed, %d groups not published (p99 start lateness %v)", failed, started, unpublished, p99)
	}
	b.ReportMetric(float64(failed), "failed")
	_, p99 := sched.LatencyQuantiles()
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-late-ms")
	b.ReportMetric(started/wall.Seconds(), "checks/s")
	b.ReportMetric(float64(st1.Skipped-st0.Skipped), "skipped")
	b.ReportMetric(float64((cpu1-cpu0).Microseconds())/started, "cpu-µs/check")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/started, "allocs/check")
	b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/started, "B/check")
}

// processCPU is the process's user+system CPU time so far.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
