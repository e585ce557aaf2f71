package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	pb "github.com/openconfig/gnmi/proto/gnmi"

	"github.com/panoptes-go/panoptes/gnmimaps"
	"github.com/panoptes-go/panoptes/internal/gnmi"
	"github.com/panoptes-go/panoptes/internal/gnmi/mapping"
	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/resource"
)

// protocolArg returns the value of --protocol (or -protocol) in args, and
// args without it.
func protocolArg(args []string) (string, []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		for _, p := range []string{"--protocol", "-protocol"} {
			if a == p && i+1 < len(args) {
				return args[i+1], append(append([]string(nil), args[:i]...), args[i+2:]...)
			}
			if v, ok := strings.CutPrefix(a, p+"="); ok {
				return v, append(append([]string(nil), args[:i]...), args[i+1:]...)
			}
		}
	}
	return "snmp", args
}

// pollGNMI is `panoptes poll --protocol gnmi`: one Subscribe ONCE (or Get)
// of a target, mapped to Panoptes groups by the shipped gNMI mappings (and
// --mappings), printed as JSON with a status group last.
func pollGNMI(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("poll --protocol gnmi", "--endpoint HOST:PORT [--path /interfaces]... [--get] [--encoding json_ietf|json|proto] [--tls ...]",
		"Read one gNMI target once (Subscribe ONCE, or Get with --get) and print what the gNMI mappings\n"+
			"make of it as Panoptes metrics groups (JSON), the check's status group last. The exit code is 0\n"+
			"when polling_status is 0 and 1 otherwise (1 credentials refused, 2 unreachable, 3 timeout,\n"+
			"6 a path the target does not serve or no mapping reads).\n\n"+
			"Without --path it asks for every path the mappings read. The password comes from\n"+
			"PANOPTES_GNMI_PASSWORD (never a flag: it would show in the process list).", stderr)
	endpoint := fs.String("endpoint", "", "target address host:port")
	var paths listFlag
	fs.Var(&paths, "path", "path to read, repeatable or comma-separated (default: every mapped path)")
	useGet := fs.Bool("get", false, "use Get instead of Subscribe ONCE")
	encoding := fs.String("encoding", "", "json_ietf, json or proto (default: proto for Subscribe, json_ietf for Get)")
	target := fs.String("target", "", "prefix target name (gateways; most devices need none)")
	user := fs.String("username", "", "username (the password from PANOPTES_GNMI_PASSWORD)")
	useTLS := fs.Bool("tls", false, "use TLS")
	caFile := fs.String("ca-file", "", "CA of the target's certificate (with --tls; default: the system's)")
	certFile := fs.String("cert-file", "", "client certificate for mutual TLS")
	keyFile := fs.String("key-file", "", "client key for mutual TLS")
	skipVerify := fs.Bool("skip-verify", false, "accept any target certificate (lab only)")
	mapDir := fs.String("mappings", "", "directory of extra gNMI mappings (*.yaml)")
	timeout := fs.Duration("timeout", 30*time.Second, "deadline of the request")
	interval := fs.Duration("interval", 60*time.Second, "metrics_group_interval of the printed groups")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *endpoint == "" {
		fmt.Fprintln(stderr, "--endpoint is required")
		fs.Usage()
		return errUsage
	}
	set, err := gnmiMappings(*mapDir)
	if err != nil {
		return err
	}
	enc := pb.Encoding_PROTO
	if *useGet {
		enc = pb.Encoding_JSON_IETF
	}
	if *encoding != "" {
		if enc, err = gnmi.ParseEncoding(*encoding); err != nil {
			return err
		}
	}
	cfg := gnmi.Config{Address: *endpoint, Target: *target, Credential: "cli", Username: *user,
		Password: os.Getenv("PANOPTES_GNMI_PASSWORD"), Timeout: *timeout,
		TLS: gnmi.TLS{Enabled: *useTLS || *caFile != "" || *certFile != "" || *skipVerify, CAFile: *caFile,
			CertFile: *certFile, KeyFile: *keyFile, SkipVerify: *skipVerify}}
	c, err := gnmi.Dial(cfg)
	if err != nil {
		return err
	}
	defer c.Close()

	var subs []gnmi.Subscription
	for _, p := range paths {
		subs = append(subs, gnmi.Subscription{Path: p})
	}
	if len(subs) == 0 {
		subs = set.Subscriptions(*interval)
	}
	req := &gnmi.Request{Encoding: enc, Subscriptions: subs}
	var ns []*pb.Notification
	if *useGet {
		ns, err = c.Get(ctx, "", req.Paths(), enc)
	} else {
		ns, err = c.Once(ctx, req)
	}
	now := time.Now()
	res := &resource.Resource{Site: "local", Class: "network", Subclass: "switch", Type: "generic", ID: *endpoint, Endpoint: *endpoint,
		Metadata: map[string]string{}, CreationTimestamp: float64(now.UnixMilli()) / 1000, Plugin: "cli"}
	st := set.NewState(mapping.Options{Name: *endpoint})
	for _, n := range ns {
		st.Notification(n)
	}
	groups := st.Build(res, *interval, now, true)
	status := gnmi.StatusOf(err)
	switch {
	case err != nil:
	case len(ns) == 0:
		status, err = metric.StatusMissingMetrics, fmt.Errorf("the target sent nothing for %s", strings.Join(req.Paths(), ", "))
	case len(groups) == 0:
		status, err = metric.StatusMissingMetrics, fmt.Errorf("no gNMI mapping reads what the target sent for %s: "+
			"add a mapping (--mappings DIR; see gnmimaps/README.md)", strings.Join(req.Paths(), ", "))
	}
	groups = append(groups, &metric.Group{Resource: res, Type: "status", Interval: int(*interval / time.Second),
		CreationTimestamp: float64(now.UnixNano()) / 1e9, SchemaVersion: metric.SchemaVersion,
		Metrics:    []metric.Metric{{Name: "polling_status", Value: metric.Int(int64(status)), Type: metric.Gauge, Timestamp: float64(now.UnixNano()) / 1e9}},
		Dimensions: []metric.Dimension{{Name: "plugin", Value: "gnmi"}}})
	out, jerr := json.MarshalIndent(&metric.GroupSet{Groups: groups}, "", "  ")
	if jerr != nil {
		return jerr
	}
	if _, werr := fmt.Fprintf(stdout, "%s\n", out); werr != nil {
		return werr
	}
	if err != nil {
		return fmt.Errorf("polling status %d (%s): %w", status, metric.StatusName(status), err)
	}
	return nil
}

// gnmiMappings loads the shipped mappings and those of dir.
func gnmiMappings(dir string) (*mapping.Set, error) {
	maps, err := mapping.LoadFS(gnmimaps.FS, ".")
	if err != nil {
		return nil, fmt.Errorf("shipped gNMI mappings: %w", err)
	}
	if dir != "" {
		extra, err := mapping.LoadFS(os.DirFS(dir), ".")
		if err != nil {
			return nil, errors.Join(fmt.Errorf("gNMI mappings in %s", dir), err)
		}
		maps = append(maps, extra...)
	}
	return mapping.NewSet(maps...), nil
}
