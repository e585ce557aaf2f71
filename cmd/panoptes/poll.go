package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/parts"
	"github.com/panoptes-go/panoptes/internal/plugin"
	"github.com/panoptes-go/panoptes/internal/poll"
	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/snmp"
)

func pollCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	switch proto, rest := protocolArg(args); proto {
	case "gnmi":
		return pollGNMI(ctx, rest, stdout, stderr)
	case "snmp":
		args = rest
	default:
		return fmt.Errorf("--protocol %q: use snmp (the default) or gnmi", proto)
	}
	fs := newFlags("poll", "[--protocol snmp|gnmi] --endpoint HOST[:PORT] (--community C | --credential NAME --config FILE) [--plugin interface]",
		"Poll one device once and print its metrics groups (Panoptes JSON) to stdout: a first check\n"+
			"that a device and its credentials work. The last group is the check's status; the exit code\n"+
			"is 0 when polling_status is 0 (success) and 1 otherwise.\n\n"+
			"The community may also come from the PANOPTES_COMMUNITY environment variable, which keeps\n"+
			"it out of the shell history and the process list.\n\n"+
			"--protocol gnmi reads a gNMI target instead: panoptes poll --protocol gnmi --help.\n\n"+
			"Plugins (--plugin): "+strings.Join(poll.Names(), ", ")+"; or the name of a plugin in --config.", stderr)
	endpoint := fs.String("endpoint", "", "device address, host or host:port (default port 161)")
	community := fs.String("community", "", "SNMP v1/v2c community (or set PANOPTES_COMMUNITY)")
	version := fs.String("snmp-version", "2c", "SNMP version with --community: 1 or 2c")
	credName := fs.String("credential", "", "named credential from --config (for v3)")
	cfgPath := fs.String("config", "", "config file holding SNMP defaults and credentials")
	pluginName := fs.String("plugin", "interface", "polling plugin to run")
	timeout := fs.Duration("timeout", 0, "SNMP timeout per request (default from config, else 2s)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *endpoint == "" {
		fmt.Fprintln(stderr, "--endpoint is required")
		fs.Usage()
		return errUsage
	}
	cfg := config.Default()
	if *cfgPath != "" {
		var err error
		if cfg, err = config.Load(*cfgPath); err != nil {
			return err
		}
	}
	if *community == "" {
		*community = os.Getenv("PANOPTES_COMMUNITY")
	}
	switch {
	case *community != "" && *credName != "":
		return errors.New("give --community or --credential, not both")
	case *community != "":
		cfg.SNMP.Credentials = map[string]config.Credential{"cli": {Version: *version, Community: *community}}
		cfg.SNMP.Credential = "cli"
	case *credName != "":
		if _, ok := cfg.SNMP.Credentials[*credName]; !ok {
			if *cfgPath == "" {
				return fmt.Errorf("credential %q: named credentials come from a config file; pass --config FILE (its snmp.credentials), or --community C", *credName)
			}
			return fmt.Errorf("credential %q is not in %s's snmp.credentials (it has: %s)", *credName, *cfgPath, credentialNames(cfg))
		}
		cfg.SNMP.Credential = *credName
	default:
		return errors.New("no credentials: give --community C, or --credential NAME with --config FILE")
	}
	if ps := cfg.SNMP.Credentials[cfg.SNMP.Credential].Problems(); len(ps) > 0 {
		return fmt.Errorf("credential %s: %s %s", cfg.SNMP.Credential, ps[0].Field, ps[0].Msg)
	}
	if *timeout > 0 {
		cfg.SNMP.Timeout = config.Duration(*timeout)
	}
	var options plugin.Block // a plugin of --config named --plugin brings its options
	for _, pc := range cfg.Polling.Plugins {
		if pc.Name == *pluginName {
			*pluginName, options = pc.Plugin, pc.Options
		}
	}
	plug, err := poll.Build(*pluginName, options)
	if err != nil {
		return err
	}
	logger, err := newLogger(config.Log{Level: "warn"}, new(slog.LevelVar), stderr)
	if err != nil {
		return err
	}
	pool := snmp.NewPool(snmp.PoolOptions{MaxRequestsPerDevice: cfg.SNMP.MaxRequestsPerDevice, Logger: logger,
		ConnectedSockets: cfg.SNMP.Transport == config.SNMPTransportConnected})
	defer pool.Close()
	runner := poll.NewRunner(poll.RunnerOptions{SNMP: parts.SNMPOptions(cfg.SNMP), Pool: pool, Logger: logger})
	res := &resource.Resource{
		Site: cfg.Site, Class: cfg.Discovery.Defaults.Class, Subclass: cfg.Discovery.Defaults.Subclass,
		Type: cfg.Discovery.Defaults.Type, ID: *endpoint, Endpoint: *endpoint,
		Metadata: map[string]string{}, CreationTimestamp: float64(time.Now().UnixMilli()) / 1000, Plugin: "cli",
	}
	set := runner.Run(ctx, *pluginName, plug, res, time.Minute)
	out, err := json.MarshalIndent(set, "", "  ")
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(stdout, "%s\n", out); err != nil {
		return err
	}
	return statusError(set)
}

// statusError turns a failed check into an error that says what to try next.
func statusError(set *metric.GroupSet) error {
	for _, g := range set.Groups {
		if g.Type != "status" {
			continue
		}
		m, ok := g.Metric("polling_status")
		if !ok || m.Value.Int64() == metric.StatusSuccess {
			return nil
		}
		status := int(m.Value.Int64())
		hint := statusHints[status]
		if hint == "" {
			hint = "see the warning above"
		}
		return fmt.Errorf("polling status %d (%s): %s", status, metric.StatusName(status), hint)
	}
	return errors.New("no status group in the result")
}

// statusHints say what to check for each failed polling status; every
// status has one (TestStatusHints).
var statusHints = map[int]string{
	metric.StatusAuthFailure:     "check the v3 user name, protocols and passphrases",
	metric.StatusNetworkFailure:  "check the address resolves and the port is open",
	metric.StatusTimeout:         "check the address and port, that the agent runs, and the community (a wrong v1/v2c community looks like a timeout)",
	metric.StatusPartialFailure:  "some tables failed; the groups above are what could be read, the warning above says what failed",
	metric.StatusInternalFailure: "the device answered something Panoptes could not use, or Panoptes failed: the warning above says which",
	metric.StatusMissingMetrics:  "the device answered but has none of this plugin's data (its tables are absent or empty; the warning above names them): try another --plugin",
	metric.StatusPingFailure:     "the device does not answer pings: check the address and that ICMP is allowed",
	metric.StatusEnrichFailure:   "the metrics are there, but names (ifName, entPhysicalName) could not be read: the warning above says why",
}

func credentialNames(cfg *config.Config) string {
	if len(cfg.SNMP.Credentials) == 0 {
		return "none"
	}
	names := make([]string, 0, len(cfg.SNMP.Credentials))
	for n := range cfg.SNMP.Credentials {
		names = append(names, n)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}
