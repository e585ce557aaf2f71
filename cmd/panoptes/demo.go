package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/httpd"
	"github.com/panoptes-go/panoptes/internal/node"
	"github.com/panoptes-go/panoptes/internal/sim"
)

func demoCmd(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := newFlags("demo", "[--devices N] [--interval D] [--dir DIR]",
		"Run a whole Panoptes site in one process, with nothing else installed: simulated switches\n"+
			"and routers on loopback UDP ports, an inventory for them, the embedded bus, the interface\n"+
			"and uptime plugins, and a file sink. A line every interval says what was polled and\n"+
			"written. Runs until interrupted (Ctrl-C), then stops cleanly.\n\n"+
			"Everything lands in --dir: panoptes.yaml and devices.csv (what runs: copy them to start\n"+
			"polling real devices), metrics.jsonl (one metrics group per line) and the bus state.", stderr)
	devices := fs.Int("devices", 20, "simulated devices")
	interval := fs.Duration("interval", 15*time.Second, "polling interval")
	dir := fs.String("dir", "data/demo", "directory for the config, inventory, metrics and bus state")
	basePort := fs.Int("base-port", 21161, "UDP port of the first simulated device")
	httpListen := fs.String("http", config.DefaultHTTPListen, "address of /metrics, /healthz and /readyz (\"\" disables)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *devices < 1 || *interval < time.Second {
		return fmt.Errorf("--devices must be at least 1 and --interval at least 1s")
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	// The devices outlive the signal: they stop when the node has stopped
	// (deferred Close), so its last checks do not fail during shutdown.
	farm, err := sim.Start(context.WithoutCancel(ctx), sim.Options{
		Devices: *devices, BasePort: *basePort, Seed: 1,
		Templates: []string{"switch48", "switch48", "switch48", "router400"},
	})
	if err != nil {
		return fmt.Errorf("start simulated devices: %w", err) // the error says which flag to change
	}
	defer farm.Close()

	var inv strings.Builder
	// The credential is sim's default name, so that an inventory written by
	// `panoptes sim --inventory` works with this config too.
	if err := farm.WriteInventory(&inv, demoCredential); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(*dir, "devices.csv"), []byte(inv.String()), 0o644); err != nil {
		return err
	}
	cfgPath := filepath.Join(*dir, "panoptes.yaml")
	if err := os.WriteFile(cfgPath, []byte(demoConfig(*interval, *httpListen)), 0o644); err != nil {
		return err
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return err
	}
	logger, err := newLogger(cfg.Log, new(slog.LevelVar), stderr)
	if err != nil {
		return err
	}
	applyRuntime(cfg.Runtime, logger)
	n, err := node.New(cfg, logger)
	if err != nil {
		return err
	}
	devs := farm.Devices()
	fmt.Fprintf(stderr, "demo: %d simulated devices on %s … %s (community public)\n", len(devs), devs[0].Addr, devs[len(devs)-1].Addr)
	fmt.Fprintf(stderr, "demo: config %s, inventory %s\n", cfgPath, filepath.Join(*dir, "devices.csv"))
	if *httpListen != "" {
		fmt.Fprintf(stderr, "demo: status page → http://%s/ (devices, checks, cluster, events)\n", *httpListen)
	}
	fmt.Fprintf(stderr, "demo: metrics → %s (tail -f it); ", filepath.Join(*dir, "metrics.jsonl"))
	if *httpListen != "" {
		fmt.Fprintf(stderr, "self-metrics → http://%s/metrics; ", *httpListen)
	}
	fmt.Fprintf(stderr, "a summary line every %s; Ctrl-C to stop\n", max(*interval, 10*time.Second))
	err = n.Run(ctx)
	var le *httpd.ListenError
	if errors.As(err, &le) && le.Key == "http.listen" {
		// The demo writes http.listen from --http: name the flag.
		return fmt.Errorf("--http %s: %v; pass --http with a free address, or --http \"\" to disable", le.Addr, le.Reason())
	}
	return err
}

// demoCredential names the demo's SNMP credential: the name `panoptes sim`
// writes in its inventories by default.
const demoCredential = "sim"

// demoConfig is the demo's config: everything relative to its directory.
func demoConfig(interval time.Duration, httpListen string) string {
	return fmt.Sprintf(`# Written by panoptes demo. Copy it, point devices.csv at real devices
# and set real credentials to start polling a real site.
site: demo
data_dir: bus
http:
  listen: %q
discovery:
  interval: 1m
  sources:
    - plugin: csv
      path: devices.csv
snmp:
  timeout: 2s
  retries: 1
  credential: sim                 # the name panoptes sim writes in its inventories
  credentials:
    sim:
      version: 2c
      community: ${PANOPTES_DEMO_COMMUNITY:-public}
polling:
  plugins:
    - name: interface
      interval: %s
      rates: [bits_in, bits_out, total_packets_in, total_packets_out]   # bits/s, packets/s
    - name: uptime
      interval: %s
sinks:
  - type: file
    path: metrics.jsonl
    max_size: 100MiB
    max_files: 3
`, httpListen, interval, interval)
}
