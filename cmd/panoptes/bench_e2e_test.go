package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/memlimit"
	"github.com/panoptes-go/panoptes/internal/testutil/freeport"
)

// The harness end to end: `panoptes bench` starts the simulator (and, with
// --bus-process, the bus) as processes of its own, measures a window and
// prints one JSON object whose accounting adds up.
func TestBenchHarness(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs the harness: simulator, pipeline and bus processes")
	}
	for _, busProcess := range []bool{false, true} {
		args := []string{"bench", "--devices", "20", "--checks-per-device", "2", "--plugin", "uptime",
			"--interval", "1s", "--warmup", "3s", "--duration", "3s", "--base-port", strconv.Itoa(freeport.UDPBlock(t, 20))}
		maxProcs := "1" // a fixed runtime.max_procs reaches the in-process node
		if busProcess {
			args, maxProcs = append(args, "--bus-process"), "auto"
		} else {
			args = append(args, "--max-procs", maxProcs, "--sim-max-msg-size", "1500")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		cmd := exec.CommandContext(ctx, binary(t), args...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		cancel()
		if err != nil {
			t.Fatalf("bus process %v: %v\n%s", busProcess, err, stderr.String())
		}
		var r struct {
			ChecksPerSecond float64 `json:"checks_per_second"`
			ChecksExpected  uint64  `json:"checks_expected"`
			ChecksDue       uint64  `json:"checks_due"`
			Missed          int64   `json:"missed_checks"`
			Failed          uint64  `json:"failed_checks"`
			Groups          uint64  `json:"groups_written"`
			PollToSinkP99   float64 `json:"poll_to_sink_latency_p99_ms"`
			CollectorCPU    float64 `json:"collector_cpu_cores"`
			GCPercent       uint64  `json:"go_gc_percent"`
			SimMaxMsgSize   int     `json:"simulator_max_msg_size"`
			BusProcess      bool    `json:"bus_process"`
			BusRSS          int64   `json:"bus_rss_bytes"`
			BothRSSPerDev   float64 `json:"collector_and_bus_rss_bytes_per_device"`
			MaxProcs        string  `json:"max_procs"`
			GoMaxProcs      int     `json:"go_max_procs_at_end"`
		}
		if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
			t.Fatalf("bus process %v: output is not one JSON object: %v\n%s", busProcess, err, stdout.String())
		}
		// 40 checks a second for 3 s: every due time reached, none missed,
		// each check's two groups written.
		if r.ChecksExpected != 120 || r.ChecksDue < r.ChecksExpected || r.Missed != 0 || r.Failed != 0 {
			t.Errorf("bus process %v: expected %d, due %d, missed %d, failed %d; want 120, ≥120, 0, 0",
				busProcess, r.ChecksExpected, r.ChecksDue, r.Missed, r.Failed)
		}
		if r.ChecksPerSecond < 30 || r.Groups < 2*100 || r.PollToSinkP99 <= 0 || r.CollectorCPU <= 0 || r.GCPercent == 0 {
			t.Errorf("bus process %v: %+v", busProcess, r)
		}
		if want := map[bool]int{false: 1500, true: 65507}[busProcess]; r.SimMaxMsgSize != want {
			t.Errorf("bus process %v: simulator_max_msg_size %d, want %d", busProcess, r.SimMaxMsgSize, want)
		}
		// The bench applies a node's runtime defaults, as `panoptes run` does.
		if _, set := os.LookupEnv("GOGC"); !set && r.GCPercent != uint64(memlimit.DefaultGCPercent) {
			t.Errorf("bus process %v: go_gc_percent %d, want the node's default %d", busProcess, r.GCPercent, memlimit.DefaultGCPercent)
		}
		if r.MaxProcs != maxProcs || r.GoMaxProcs < 1 || (maxProcs == "1" && r.GoMaxProcs != 1) {
			t.Errorf("bus process %v: max_procs %q, GOMAXPROCS %d; want %q", busProcess, r.MaxProcs, r.GoMaxProcs, maxProcs)
		}
		if r.BusProcess != busProcess || (busProcess && (r.BusRSS <= 0 || r.BothRSSPerDev <= 0)) || (!busProcess && r.BusRSS != 0) {
			t.Errorf("bus process %v: bus_process %v, bus_rss_bytes %d, collector_and_bus_rss_bytes_per_device %v",
				busProcess, r.BusProcess, r.BusRSS, r.BothRSSPerDev)
		}
	}
}

// The partitions mode end to end, briefly: per partition count a 3-server
// cluster of its own, groups acknowledged and written, each server's CPU
// and cost per group, the streams' leaders on the servers.
func TestBenchPartitions(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs two 3-server clusters (six processes)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(t), "bench", "--partitions", "1,3", "--devices", "60", "--publishers", "4",
		"--warmup", "2s", "--duration", "2s")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	var r struct {
		Runs []struct {
			Partitions int     `json:"partitions"`
			Groups     float64 `json:"groups_per_second"`
			Sink       float64 `json:"sink_groups_per_second"`
			P99        float64 `json:"publish_to_sink_p99_ms"`
			PerGroup   float64 `json:"servers_cpu_us_per_group"`
			Servers    []struct {
				Name     string  `json:"name"`
				Leads    int     `json:"partitions_led"`
				CPU      float64 `json:"cpu_cores"`
				PerGroup float64 `json:"cpu_us_per_group"`
			} `json:"servers"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("output is not one JSON object: %v\n%s", err, stdout.String())
	}
	if len(r.Runs) != 2 {
		t.Fatalf("%d runs, want 2 (partitions 1 and 3):\n%s", len(r.Runs), stdout.String())
	}
	for i, run := range r.Runs {
		want := []int{1, 3}[i]
		leads := 0
		for _, s := range run.Servers {
			leads += s.Leads
			if s.Name == "" || s.CPU <= 0 || s.PerGroup <= 0 {
				t.Errorf("partitions %d: server %+v: want a name, CPU and a cost per group", want, s)
			}
		}
		if run.Partitions != want || len(run.Servers) != 3 || leads != want {
			t.Errorf("partitions %d: got %d partitions, %d servers leading %d streams; want %d, 3, %d", want, run.Partitions, len(run.Servers), leads, want, want)
		}
		if run.Groups <= 0 || run.Sink <= 0 || run.P99 <= 0 || run.PerGroup <= 0 {
			t.Errorf("partitions %d: %.0f groups/s published, %.0f written, p99 %.0f ms, %.1f µs/group: want all positive", want, run.Groups, run.Sink, run.P99, run.PerGroup)
		}
	}
	t.Logf("%s", stdout.String())
}
