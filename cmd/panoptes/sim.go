package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/panoptes-go/panoptes/internal/sim"
	"github.com/panoptes-go/panoptes/internal/sim/gnmisim"
)

// listFlag collects a repeatable, comma-separated flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

func simCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("sim", "[--devices N] [--base-port P] [--template NAME|FILE]... [--inventory FILE]",
		"Serve simulated SNMP devices (v1, v2c, v3) for demos, tests and benchmarks until interrupted.\n"+
			"Device i listens on --addr:(--base-port + i); past port 65535 (or every --ports-per-addr\n"+
			"devices) the next loopback address is used. Templates are assigned round-robin: built-in\n"+
			"switch48 (Cisco 2960-X, 55 interfaces) and router400 (Juniper MX960, 400 interfaces),\n"+
			"snmpsim .snmprec or snmpwalk -On files (optionally gzipped), or names of snmpsim's example\n"+
			"recordings (cisco_16_switch). Counters advance at rates derived from --seed.\n\n"+
			"--shared-port (Linux, IPv4) puts every device on the one port --base-port (0: a free one)\n"+
			"at an address of its own: device i at --addr + i (default 127.1.0.1, 127.1.0.2, ...). A few\n"+
			"sockets then serve all devices in batches: about 3x less CPU per request under load\n"+
			"(answers may wait up to 2 ms to be batched).\n\n"+
			"SIGHUP restarts every device (sysUpTime and counters from 0, SNMPv3 engine boots + 1).\n"+
			"--topology cables the devices into one simulated network: LLDP-MIB/LLDP-V2-MIB and CDP\n"+
			"neighbour tables, BGP sessions between routers. --control ADDR serves its HTTP controls:\n"+
			"GET /network (the ground truth as JSON), POST /interface?device=D&port=P&state=down|up,\n"+
			"POST /bgp?device=D&peer=ADDR&state=idle|connect|active|opensent|openconfirm|established.\n"+
			"--gnmi also serves each device as a gNMI target (OpenConfig interfaces, components, BGP and\n"+
			"LLDP neighbours; the reference target of github.com/openconfig/gnmi) on --gnmi-base-port + i;\n"+
			"the inventory then has a gnmi_port column, and --control serves GET /gnmi/streams (each\n"+
			"target's open Subscribe streams by client address, and how many were opened).\n"+
			"The community and v3 passphrases may also come from PANOPTES_SIM_COMMUNITY,\n"+
			"PANOPTES_SIM_V3_AUTH_PASS and PANOPTES_SIM_V3_PRIV_PASS.", stderr)
	devices := fs.Int("devices", 1, "number of simulated devices")
	basePort := fs.Int("base-port", 11161, "UDP port of the first device (0: free ports)")
	addr := fs.String("addr", sim.DefaultAddr, "IP address of the first device")
	perAddr := fs.Int("ports-per-addr", 0, "devices per address before the next address (0: as many as ports allow)")
	sharedPort := fs.Bool("shared-port", false, "every device on --base-port, device i at --addr + i (default addr "+sim.DefaultSharedAddr+"; Linux, IPv4)")
	var templates listFlag
	fs.Var(&templates, "template", "template or recording, repeatable or comma-separated (default switch48)")
	community := fs.String("community", "", "v1/v2c community (default public)")
	seed := fs.Int64("seed", 1, "seed of the counter rates")
	latency := fs.Duration("latency", 0, "delay every answer by this much")
	loss := fs.Float64("loss", 0, "drop this fraction of requests (0-1)")
	v3User := fs.String("v3-user", "", "SNMPv3 user name (enables v3)")
	v3Auth := fs.String("v3-auth", "SHA", "v3 auth protocol: MD5, SHA, SHA224, SHA256, SHA384, SHA512, or none")
	v3AuthPass := fs.String("v3-auth-pass", "", "v3 auth passphrase")
	v3Priv := fs.String("v3-priv", "AES", "v3 privacy protocol: DES, AES, AES192, AES256, AES192C, AES256C, or none")
	v3PrivPass := fs.String("v3-priv-pass", "", "v3 privacy passphrase")
	maxMsg := fs.Int("max-msg-size", sim.DefaultMaxMsgSize, "largest response in bytes")
	inventory := fs.String("inventory", "", "write a CSV inventory of the devices to this file")
	credential := fs.String("credential", demoCredential, "credential name written to the inventory (define it in your config)")
	statsEvery := fs.Duration("stats", 0, "print request counters at this interval (0: never)")
	topology := fs.Bool("topology", false, "cable the devices into a simulated network (LLDP, CDP, BGP)")
	control := fs.String("control", "", "serve the HTTP controls on this host:port (with --topology or --gnmi)")
	gnmiFlags := addSimGNMIFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *community == "" {
		*community = os.Getenv("PANOPTES_SIM_COMMUNITY")
	}
	addrSet := false
	fs.Visit(func(fl *flag.Flag) { addrSet = addrSet || fl.Name == "addr" })
	if *sharedPort && !addrSet {
		*addr = "" // the shared-port default, sim.DefaultSharedAddr
	}
	if *control != "" && !*topology && !*gnmiFlags.on {
		return fmt.Errorf("--control needs --topology (it controls the simulated network) or --gnmi (GET /gnmi/streams)")
	}
	opts := sim.Options{
		Topology: *topology,
		Devices:  *devices, BasePort: *basePort, Addr: *addr, PortsPerAddr: *perAddr, SharedPort: *sharedPort, Templates: templates,
		Community: *community, Seed: *seed, Latency: *latency, Loss: *loss, MaxMsgSize: *maxMsg,
		Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo})),
	}
	if *v3User != "" {
		u := sim.V3User{Name: *v3User}
		if !strings.EqualFold(*v3Auth, "none") {
			u.AuthProto, u.AuthPass = *v3Auth, firstNonEmpty(*v3AuthPass, os.Getenv("PANOPTES_SIM_V3_AUTH_PASS"))
			if !strings.EqualFold(*v3Priv, "none") {
				u.PrivProto, u.PrivPass = *v3Priv, firstNonEmpty(*v3PrivPass, os.Getenv("PANOPTES_SIM_V3_PRIV_PASS"))
			}
		}
		opts.V3Users = []sim.V3User{u}
	}
	farm, err := sim.Start(ctx, opts)
	if err != nil {
		return err
	}
	defer farm.Close()
	gsrv, line, err := gnmiFlags.start(ctx, farm, opts.Logger)
	if err != nil {
		return err
	}
	if gsrv != nil {
		defer gsrv.Close()
	}
	if *inventory != "" {
		if err := writeInventory(farm, gsrv, *inventory, *credential); err != nil {
			return err
		}
	}
	fmt.Fprintln(stdout, simSummary(farm, opts, *inventory, *credential))
	if gsrv != nil {
		fmt.Fprintln(stdout, line)
	}
	if *control != "" {
		stop, err := serveControl(ctx, farm, gsrv, *topology, *control, stdout)
		if err != nil {
			return err
		}
		defer stop()
	}
	faults := make(chan os.Signal, 1)
	signal.Notify(faults, syscall.SIGUSR1, syscall.SIGUSR2)
	defer signal.Stop(faults)
	silent := false

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	var tick <-chan time.Time
	if *statsEvery > 0 {
		t := time.NewTicker(*statsEvery)
		defer t.Stop()
		tick = t.C
	}
	last, lastAt := farm.Stats(), time.Now()
	for {
		select {
		case <-ctx.Done():
			return farm.Close()
		case <-hup:
			farm.RestartAll()
			if gsrv != nil {
				gsrv.Restarted()
			}
			fmt.Fprintf(stdout, "panoptes sim: restarted %d devices (SIGHUP)\n", len(farm.Devices()))
		case sig := <-faults:
			if gsrv == nil {
				continue
			}
			if sig == syscall.SIGUSR1 {
				gsrv.DropAll()
				fmt.Fprintln(stdout, "panoptes sim: dropped every gNMI stream (SIGUSR1)")
			} else {
				silent = !silent
				gsrv.SilenceAll(silent)
				fmt.Fprintf(stdout, "panoptes sim: gNMI targets silent: %v (SIGUSR2)\n", silent)
			}
		case now := <-tick:
			s := farm.Stats()
			secs := now.Sub(lastAt).Seconds()
			fmt.Fprintf(stdout, "panoptes sim: %.0f requests/s, %.0f varbinds/s; dropped: loss %d, silent %d, community %d, malformed %d, usm %d\n",
				float64(s.Requests-last.Requests)/secs, float64(s.Varbinds-last.Varbinds)/secs,
				s.Lost, s.Silent, s.BadCommunity, s.Malformed, s.USM)
			last, lastAt = s, now
		}
	}
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// writeInventory writes the farm's inventory to path; with gNMI targets
// each row gets its target's port in a gnmi_port column (metadata the gNMI
// input reads). The file appears complete or not at all (renamed into
// place): harnesses poll for it.
func writeInventory(farm *sim.Farm, gsrv *gnmisim.Server, path, credential string) error {
	var buf bytes.Buffer
	if err := farm.WriteInventory(&buf, credential); err != nil {
		return fmt.Errorf("inventory %s: %w", path, err)
	}
	if gsrv != nil {
		rows, err := csv.NewReader(&buf).ReadAll()
		if err != nil {
			return fmt.Errorf("inventory %s: %w", path, err)
		}
		ts := gsrv.Targets()
		for i := range rows {
			v := "gnmi_port"
			if i > 0 {
				_, v, _ = net.SplitHostPort(ts[i-1].Addr)
			}
			rows[i] = append(rows[i], v)
		}
		buf.Reset()
		w := csv.NewWriter(&buf)
		if err := w.WriteAll(rows); err != nil {
			return fmt.Errorf("inventory %s: %w", path, err)
		}
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("inventory: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("inventory %s: %w", path, err)
	}
	return nil
}

// simSummary is the line printed at start: what is served where, and how to
// reach it (credential names, never secrets).
func simSummary(farm *sim.Farm, opts sim.Options, inventory, credential string) string {
	ds := farm.Devices()
	counts := map[string]int{}
	for _, d := range ds {
		counts[d.Template]++
	}
	names := make([]string, 0, len(counts))
	for n, c := range counts {
		names = append(names, fmt.Sprintf("%s ×%d", n, c))
	}
	sort.Strings(names)
	first, last := ds[0], ds[len(ds)-1]
	where := first.Addr
	if len(ds) > 1 {
		where = first.Addr + " … " + last.Addr
	}
	v3 := "no SNMPv3 user"
	if len(opts.V3Users) > 0 {
		v3 = "SNMPv3 user " + opts.V3Users[0].String()
	}
	line := fmt.Sprintf("panoptes sim: serving %d devices (%s) on %s; v1/v2c and %s; seed %d",
		len(ds), strings.Join(names, ", "), where, v3, opts.Seed)
	if inventory != "" {
		line += fmt.Sprintf("; inventory %s (credential %q)", inventory, credential)
	}
	return line + "; Ctrl-C stops, SIGHUP restarts the devices"
}

// serveControl serves the simulated network's HTTP controls on addr until
// stop is called.
func serveControl(ctx context.Context, farm *sim.Farm, gsrv *gnmisim.Server, topology bool, addr string, stdout io.Writer) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--control %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	var what []string
	if topology {
		mux.Handle("/", farm.ControlHandler())
		what = append(what, "GET /network, POST /interface, POST /bgp")
	}
	if gsrv != nil {
		mux.Handle("/gnmi/streams", gsrv.StreamsHandler())
		// The harness's --sim-cpu-profile reads the simulator's profile here.
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		what = append(what, "GET /gnmi/streams", "GET /debug/pprof/profile")
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	fmt.Fprintf(stdout, "panoptes sim: controls on http://%s (%s)\n", ln.Addr(), strings.Join(what, "; "))
	return func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		<-done
	}, nil
}
