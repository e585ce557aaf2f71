package uptime

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/poll"
	"github.com/panoptes-go/panoptes/internal/poll/polltest"
	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/sim"
	"github.com/panoptes-go/panoptes/internal/snmp"
)

// The light check as a node runs it, minus the scheduler and the bus: the
// check's deadline context, Runner.Run, the uptime plugin's GET through a
// pooled session to an in-process simulated device, and the status group.
// The logger is a text handler at warn, as `log: {level: warn}` gives, and
// the self-metrics are registered, so their costs are the node's.
// cpu-ns/check is the process's CPU time (the simulator's share included).
//
//	go test -run '^$' -bench LightCheck -benchmem ./internal/poll/uptime

func BenchmarkLightCheck(b *testing.B) {
	// The Runner and the plugin alone, the GET answered in memory: what a
	// light check costs besides SNMP and the network.
	b.Run("runner", func(b *testing.B) { benchLightRunner(b, false) })
	// The same with a prepared Check, as a node runs it.
	b.Run("runner-check", func(b *testing.B) { benchLightRunner(b, true) })
	b.Run("serial", func(b *testing.B) { benchLightCheck(b, 1, 1) })
	// 4 devices × 8 checks in flight: checks wait for the per-device limit
	// and share sessions, as 10 checks per device do in the harness.
	b.Run("parallel", func(b *testing.B) { benchLightCheck(b, 4, 16) })
}

func benchLightCheck(b *testing.B, devices, parallelism int) {
	farm, err := sim.Start(context.Background(), sim.Options{Devices: devices, Templates: []string{"switch48"}})
	if err != nil {
		b.Fatal(err)
	}
	defer farm.Close()
	reg := prometheus.NewRegistry()
	log := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn}))
	pool := snmp.NewPool(snmp.PoolOptions{IdleTimeout: 10 * time.Second, MaxIdleSessions: 4096, Logger: log, Registerer: reg})
	defer pool.Close()
	r := poll.NewRunner(poll.RunnerOptions{
		SNMP: poll.SNMPOptions{Credential: "sim", Timeout: 5 * time.Second, Retries: 1,
			Credentials: map[string]*snmp.Credential{"sim": {Version: "2c", Community: "public"}}},
		Pool: pool, Logger: log, Registerer: reg,
	})
	plug, err := poll.New("uptime", nil)
	if err != nil {
		b.Fatal(err)
	}
	var resources []*resource.Resource
	for _, d := range farm.Devices() {
		resources = append(resources, &resource.Resource{Site: "bench", Class: "network", Subclass: "switch", Type: "cisco",
			ID: d.Name, Endpoint: d.Host + ":" + strconv.Itoa(d.Port), Plugin: "discovery_csv"})
	}
	check := func(res *resource.Resource) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		set := r.Run(ctx, "uptime-0", plug, res, time.Second)
		cancel()
		if st, ok := set.Groups[len(set.Groups)-1].Metric(poll.StatusMetric); !ok || st.Value.Int64() != metric.StatusSuccess {
			b.Errorf("check of %s: status %v", res.ID, st.Value)
		}
	}
	check(resources[0]) // the session is opened before the clock starts
	b.ReportAllocs()
	cpu0, user0 := cpuTime(), userTime()
	if parallelism <= 1 {
		for b.Loop() {
			check(resources[0])
		}
	} else {
		var next atomic.Uint64
		b.SetParallelism(parallelism)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				check(resources[next.Add(1)%uint64(len(resources))])
			}
		})
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/check")
	b.ReportMetric(float64((userTime()-user0).Nanoseconds())/float64(b.N), "user-ns/check")
}

func benchLightRunner(b *testing.B, prepared bool) {
	log := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn}))
	r := poll.NewRunner(poll.RunnerOptions{SNMP: poll.SNMPOptions{Credential: "lab", Credentials: map[string]*snmp.Credential{"lab": {Version: "2c", Community: "public"}}}, Logger: log, Registerer: prometheus.NewRegistry()})
	vbs := []snmp.Varbind{{Name: oidSysUpTime, Type: gosnmp.TimeTicks, Value: uint32(123456)}}
	plug := &Uptime{getter: polltest.GetFunc(func(context.Context, snmp.Target, []string) ([]snmp.Varbind, error) { return vbs, nil })}
	k := &poll.Check{Name: "uptime-0", Plugin: plug, Resource: polltest.Resource, Interval: time.Second}
	b.ReportAllocs()
	for b.Loop() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		var set *metric.GroupSet
		if prepared {
			set = r.RunCheck(ctx, k)
		} else {
			set = r.Run(ctx, "uptime-0", plug, polltest.Resource, time.Second)
		}
		cancel()
		if len(set.Groups) != 2 {
			b.Fatalf("%d groups", len(set.Groups))
		}
	}
}

// userTime is the process's user CPU time so far: without the kernel's
// share (the UDP exchange), the steadier figure on a busy machine.
func userTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano())
}

// cpuTime is the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
