package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strconv"
	"strings"

	"github.com/panoptes-go/panoptes/internal/bench"
)

func benchCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	switch proto, rest := protocolArg(args); proto {
	case "gnmi":
		return benchGNMI(ctx, rest, stdout, stderr)
	case "snmp":
	default:
		return fmt.Errorf("--protocol %q: use snmp (the default) or gnmi", proto)
	}
	fs := newFlags("bench", "[--protocol snmp|gnmi] [--devices N] [--interval D] [--duration D] [--plugin interface|uptime]",
		"Start the simulator in its own process with N devices, run the full pipeline (scheduler →\n"+
			"SNMP → bus → file sink) in this one, and print one JSON object: checks/s, varbinds/s,\n"+
			"collector CPU per 1M varbinds, RSS per device, schedule lateness and poll→sink latency\n"+
			"quantiles, missed and skipped checks. With --reference it also measures net-snmp's\n"+
			"snmpbulkwalk walking the same tables of one device. Progress goes to stderr.", stderr)
	var o bench.Options
	fs.IntVar(&o.Devices, "devices", 100, "simulated devices")
	fs.DurationVar(&o.Interval, "interval", 0, "polling interval (default 60s)")
	fs.DurationVar(&o.Duration, "duration", 0, "measured window (default two intervals)")
	fs.DurationVar(&o.Warmup, "warmup", 0, "unmeasured start (default one interval + 5s)")
	fs.StringVar(&o.Plugin, "plugin", "interface", "polling plugin: interface (a full walk) or uptime (one GET)")
	fs.IntVar(&o.ChecksPerDevice, "checks-per-device", 1, "instances of the plugin per device")
	fs.BoolVar(&o.Enrichment, "enrichment", false, "interface plugin with enrichment: true (polls walk only counters)")
	fs.BoolVar(&o.Rates, "rates", false, "compute rates of every counter (rates: all), to compare CPU and RSS with a run without")
	fs.StringVar(&o.Template, "template", "switch48", "simulator template")
	fs.IntVar(&o.BasePort, "base-port", 20000, "first simulated device's UDP port")
	fs.IntVar(&o.MaxConcurrent, "max-concurrent", 512, "polling.max_concurrent_checks")
	fs.IntVar(&o.SimMaxMsgSize, "sim-max-msg-size", 0, "the simulated agents' largest response in bytes (default 65507, as net-snmp; Cisco IOS's default is 1500)")
	fs.DurationVar(&o.SinkBatchTimeout, "sink-batch-timeout", 0, "the file sink's batch_timeout (default 200ms; the sink's own default is 1s)")
	fs.StringVar(&o.SNMPTransport, "snmp-transport", "shared", "the collector's snmp.transport: shared or connected")
	fs.StringVar(&o.Compression, "compression", "", "the node's bus.compression: s2 (the default), zstd or none")
	fs.BoolVar(&o.SharedPort, "sim-shared-port", true, "simulated devices on one port at their own 127.x addresses, served in batches (false: a port each)")
	fs.Int64Var(&o.Seed, "seed", 1, "simulator seed")
	fs.BoolVar(&o.BusProcess, "bus-process", false, "run the JetStream server in its own process (bus.url), as at scale; its CPU and RSS are reported beside the collector's")
	fs.BoolVar(&o.Reference, "reference", false, "also measure snmpbulkwalk on one device (interface plugin)")
	fs.StringVar(&o.HeapProfile, "heap-profile", "", "write a heap profile here at the end of the window")
	fs.StringVar(&o.CPUProfile, "cpu-profile", "", "write a CPU profile of the measured window here")
	fs.StringVar(&o.MaxProcs, "max-procs", "", "the node's runtime.max_procs: auto (the default) or a fixed GOMAXPROCS")
	fs.StringVar(&o.Dir, "dir", "", "work directory (default a temporary one)")
	fs.BoolVar(&o.Keep, "keep", false, "keep the work directory")
	partitions := fs.String("partitions", "", "partitions mode: comma-separated partition counts (e.g. 1,3,9), each measured on a fresh\n"+
		"3-server cluster (three processes, replicas 3) with publishers and a consumer of every partition\n"+
		"in this process: groups/s, each server's CPU and cost per group, publish→sink latency; uses\n"+
		"--devices (default 1000 here), --duration (default 20s), --warmup (default 5s)")
	publishers := fs.Int("publishers", 16, "partitions mode: concurrent publishers")
	groupsPerSet := fs.Int("groups-per-set", 49, "partitions mode: groups per published set (49: a 48-port switch's interface check)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if o.HeapProfile != "" {
		runtime.MemProfileRate = bench.HeapProfileRate
	}
	if *partitions != "" {
		po := bench.PartitionsOptions{Duration: o.Duration, Warmup: o.Warmup, Publishers: *publishers,
			GroupsPerSet: *groupsPerSet, Dir: o.Dir, Keep: o.Keep, Progress: stderr,
			Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
		fs.Visit(func(f *flag.Flag) {
			if f.Name == "devices" {
				po.Devices = o.Devices // else the mode's own default
			}
		})
		for _, f := range strings.Split(*partitions, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil {
				return fmt.Errorf("--partitions: %q is not a number", f)
			}
			po.Counts = append(po.Counts, n)
		}
		r, err := bench.RunPartitions(ctx, po)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(stdout, "%s\n", r.JSON())
		return err
	}
	o.Progress = stderr
	o.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	r, err := bench.Run(ctx, o)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%s\n", r.JSON())
	return err
}

// benchGNMI is `panoptes bench --protocol gnmi`.
func benchGNMI(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench --protocol gnmi", "[--devices N] [--interval D] [--duration D] [--encoding proto|json_ietf|json]",
		"Start the simulator in its own process with N devices served as gNMI targets, stream them with\n"+
			"one node's gnmi input (every interface counter sampled every --interval; gnmi → mapping → rates\n"+
			"→ bus → file sink in this process) and print one JSON object: notifications/s and leaf updates/s\n"+
			"in, groups/s written, collector CPU per 1k notifications, per 1M updates and per 1k groups, RSS\n"+
			"per target, group→sink latency, reconnects and dropped notifications. Progress goes to stderr.", stderr)
	var o bench.GNMIOptions
	fs.IntVar(&o.Devices, "devices", 100, "simulated gNMI targets")
	fs.DurationVar(&o.Interval, "interval", 0, "sample interval (default 10s)")
	fs.DurationVar(&o.Duration, "duration", 0, "measured window (default two intervals)")
	fs.DurationVar(&o.Warmup, "warmup", 0, "unmeasured start (default one interval + 5s)")
	fs.StringVar(&o.Encoding, "encoding", "proto", "subscription encoding: proto, json_ietf or json")
	var maps listFlag
	fs.Var(&maps, "mapping", "gNMI mapping the input uses, repeatable (default openconfig-interfaces)")
	fs.StringVar(&o.Template, "template", "switch48", "simulator template")
	fs.IntVar(&o.BasePort, "base-port", 20000, "first simulated device's port (SNMP on UDP, gNMI on TCP)")
	fs.StringVar(&o.HeapProfile, "heap-profile", "", "write a heap profile here at the end of the window")
	fs.StringVar(&o.CPUProfile, "cpu-profile", "", "write a CPU profile of the measured window here")
	fs.StringVar(&o.SimCPUProfile, "sim-cpu-profile", "", "write the simulator process's CPU profile of the measured window here")
	fs.DurationVar(&o.Silence, "silence", 0, "the gnmi input's silence (default its own: twice the sample interval, at least 30s)")
	fs.DurationVar(&o.Flush, "flush", 0, "the gnmi input's flush: a row is published at most once a flush (default its own, 1s)")
	fs.BoolVar(&o.PerLeaf, "sim-per-leaf", false, "the simulator sends one notification per leaf (the reference server's way; default one\n"+
		"per interface and sample, as devices send them)")
	fs.Int64Var(&o.Seed, "seed", 1, "simulator seed")
	fs.StringVar(&o.Dir, "dir", "", "work directory (default a temporary one)")
	fs.BoolVar(&o.Keep, "keep", false, "keep the work directory")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	o.Mappings = maps
	o.Progress = stderr
	o.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	r, err := bench.RunGNMI(ctx, o)
	if err != nil {
		return err
	}
	b, _ := json.MarshalIndent(r, "", "  ")
	_, err = fmt.Fprintf(stdout, "%s\n", b)
	return err
}
