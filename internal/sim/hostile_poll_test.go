package sim_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	_ "github.com/panoptes-go/panoptes/internal/poll/iface" // the interface plugin the hostile agents face

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/phase"
	"github.com/panoptes-go/panoptes/internal/poll"
	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/schedule"
	"github.com/panoptes-go/panoptes/internal/sim"
	"github.com/panoptes-go/panoptes/internal/snmp"
)

// run is one finished run of a check.
type run struct {
	status   int
	late     time.Duration // start − due time
	took     time.Duration
	early    time.Duration // how long before its deadline it ended
	varbinds uint64        // varbinds the device answered during the run
	ended    time.Time
}

// hostileCase is a device misbehaving one way, and the statuses its
// interface check may end with.
type hostileCase struct {
	name    string
	hostile sim.Hostile
	want    []int
}

// TestHostileAgents polls, in one scheduler, a healthy simulated switch
// every 2 seconds and, every 30 seconds, one switch per way an agent can
// misbehave. Each hostile check ends with a polling status before its
// deadline; what it holds is bounded (the walk limit, counted on the
// agent); and the healthy switch's checks stay on time and succeed. The
// machine running the tests is shared: the time bounds are generous, and
// the walk limit is lowered to 50,000 varbinds from snmp.DefaultWalkLimit
// so that the 200,000-row table meets it within seconds under -race
// (snmp's TestWalkLimit* test the limit itself).
func TestHostileAgents(t *testing.T) {
	if testing.Short() {
		t.Skip("polls simulated devices for about half a minute")
	}
	const walkLimit = 50_000
	cases := []hostileCase{
		// Dropped answers: the requests time out after their retries.
		{"wrong request id", sim.Hostile{WrongRequestID: true}, []int{metric.StatusTimeout}},
		{"truncated answers", sim.Hostile{Truncate: true}, []int{metric.StatusTimeout}},
		{"one answer in ten", sim.Hostile{AnswerEvery: 10}, []int{metric.StatusTimeout}},
		// Answers far larger than asked for are still answers.
		{"oversized answers", sim.Hostile{Oversize: true}, []int{metric.StatusSuccess}},
		// Walks that go nowhere or back stop with ErrNotIncrease.
		{"OIDs not increasing", sim.Hostile{Stuck: true}, []int{metric.StatusInternalFailure}},
		{"OIDs looping", sim.Hostile{LoopEvery: 40}, []int{metric.StatusInternalFailure}},
		// A table past the walk limit: partial, not a memory blow-up.
		{"200,000-row table", sim.Hostile{TableRows: 200_000}, []int{metric.StatusPartialFailure}},
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	farm, err := sim.Start(ctx, sim.Options{Devices: 1 + len(cases), Templates: []string{"switch48"}})
	if err != nil {
		t.Fatal(err)
	}
	defer farm.Close()
	devices := farm.Devices()
	for i, c := range cases {
		devices[1+i].SetHostile(c.hostile)
	}

	pool := snmp.NewPool(snmp.PoolOptions{})
	defer pool.Close()
	runner := poll.NewRunner(poll.RunnerOptions{
		SNMP: poll.SNMPOptions{Timeout: 2 * time.Second, Retries: 1, MaxRepetitions: 25, Credential: "sim",
			Credentials: map[string]*snmp.Credential{"sim": {Version: "2c", Community: sim.DefaultCommunity}}},
		Pool:      pool,
		WalkLimit: walkLimit,
	})
	plugin, err := poll.New("interface", nil)
	if err != nil {
		t.Fatal(err)
	}
	sched := schedule.New(schedule.Options{})

	var mu sync.Mutex
	runs := map[string][]run{}
	start := time.Now()
	check := func(name string, d *sim.Device, interval time.Duration) schedule.Check {
		res := &resource.Resource{Site: "test", Class: "network", Subclass: "switch", Type: "cisco",
			ID: name, Endpoint: d.Addr}
		pc := &poll.Check{Name: "interface", Plugin: plugin, Resource: res, Interval: interval}
		return schedule.Check{Key: dueSoon("interface|"+name, interval, start), Plugin: "interface", Interval: interval,
			Run: func(ctx context.Context) {
				began := time.Now()
				deadline, _ := ctx.Deadline()
				before := d.Stats().Varbinds
				set := runner.RunCheck(ctx, pc)
				ended := time.Now()
				st := set.Groups[len(set.Groups)-1]
				m, _ := st.Metric(poll.StatusMetric)
				mu.Lock()
				runs[name] = append(runs[name], run{
					status: int(m.Value.Int64()), late: began.Sub(deadline.Add(-interval)), took: ended.Sub(began),
					early: deadline.Sub(ended), varbinds: d.Stats().Varbinds - before, ended: ended,
				})
				mu.Unlock()
			}}
	}
	checks := []schedule.Check{check("healthy", devices[0], 2*time.Second)}
	for i, c := range cases {
		checks = append(checks, check(c.name, devices[1+i], 30*time.Second))
	}
	sched.Update(checks)
	done := make(chan struct{})
	go func() { _ = sched.Run(ctx); close(done) }()

	// Wait for one run of every hostile check (each is due within 3 s and
	// has 30 s), then a little longer for the healthy one.
	waitUntil := time.Now().Add(45 * time.Second)
	for time.Now().Before(waitUntil) {
		time.Sleep(250 * time.Millisecond)
		mu.Lock()
		n := 0
		for _, c := range cases {
			if len(runs[c.name]) > 0 {
				n++
			}
		}
		mu.Unlock()
		if n == len(cases) {
			break
		}
	}
	time.Sleep(3 * time.Second)
	stopped := time.Now()
	cancel()
	<-done
	elapsed := time.Since(start)

	mu.Lock()
	defer mu.Unlock()
	for _, c := range cases {
		rs := runs[c.name]
		if len(rs) == 0 {
			t.Errorf("%s: no run finished in %v", c.name, elapsed)
			continue
		}
		r := rs[0]
		t.Logf("%-20s status %d in %v (%v before its deadline), %d varbinds answered", c.name, r.status, r.took.Round(time.Millisecond),
			r.early.Round(time.Millisecond), r.varbinds)
		if !slices.Contains(c.want, r.status) {
			t.Errorf("%s: status %d, want one of %v", c.name, r.status, c.want)
		}
		if r.early <= 0 {
			t.Errorf("%s: the run ended %v after its deadline", c.name, -r.early)
		}
	}
	// The counted bound: the table's check read no more than the walk
	// limit, and one answer per concurrent walk, from its device.
	if rs := runs["200,000-row table"]; len(rs) > 0 && rs[0].varbinds > walkLimit+3*25+100 {
		t.Errorf("200,000-row table: the device answered %d varbinds in one check; the walk limit is %d", rs[0].varbinds, walkLimit)
	}

	healthy := runs["healthy"]
	var worst, slowest time.Duration
	for i, r := range healthy {
		// A run the test's own stop cut short (it ended after the stop,
		// with status 4 or 5 as its walk was cancelled) is not the device's.
		if r.status != metric.StatusSuccess && r.ended.Before(stopped) {
			t.Errorf("healthy run %d: status %d", i, r.status)
		}
		worst, slowest = max(worst, r.late), max(slowest, r.took)
	}
	st := sched.Stats()
	p50, p99 := sched.LatencyQuantiles()
	t.Logf("healthy: %d runs in %v, start lateness up to %v, longest run %v; scheduler: %+v, lateness p50 %v p99 %v",
		len(healthy), elapsed.Round(time.Second), worst, slowest, st, p50, p99)
	if min := int(elapsed/(2*time.Second)) - 2; len(healthy) < min {
		t.Errorf("healthy check ran %d times in %v, want at least %d (one every 2 s)", len(healthy), elapsed, min)
	}
	if worst > 2*time.Second || p99 > 2*time.Second {
		t.Errorf("healthy check started up to %v late (scheduler p99 %v): hostile devices delayed it", worst, p99)
	}
	if st.Skipped != 0 {
		t.Errorf("%d due times skipped: a check overran its interval", st.Skipped)
	}
}

// dueSoon returns key with a suffix that makes its first due time, with
// this interval, fall 1-3 s after start (due times are aligned to the
// wall clock by the key's phase).
func dueSoon(key string, interval time.Duration, start time.Time) string {
	if interval <= 3*time.Second {
		return key
	}
	for n := 0; ; n++ {
		k := fmt.Sprintf("%s#%d", key, n)
		wait := (phase.Of(k, interval) - time.Duration(start.UnixNano()%int64(interval)) + interval) % interval
		if wait >= time.Second && wait <= 3*time.Second {
			return k
		}
	}
}
