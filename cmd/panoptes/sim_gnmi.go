package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/panoptes-go/panoptes/internal/sim"
	"github.com/panoptes-go/panoptes/internal/sim/gnmisim"
)

// simGNMIFlags are `panoptes sim`'s gNMI flags.
type simGNMIFlags struct {
	on                  *bool
	addr                *string
	basePort            *int
	cert, key, clientCA *string
	user                *string
	update              *time.Duration
	perLeaf             *bool
}

func addSimGNMIFlags(fs *flag.FlagSet) *simGNMIFlags {
	return &simGNMIFlags{
		on:       fs.Bool("gnmi", false, "also serve every device as a gNMI target (OpenConfig paths, the same living data)"),
		addr:     fs.String("gnmi-addr", gnmisim.DefaultAddr, "address of the gNMI targets"),
		basePort: fs.Int("gnmi-base-port", 19339, "TCP port of the first device's gNMI target, device i on + i (0: free ports)"),
		cert:     fs.String("gnmi-tls-cert", "", "serve gNMI over TLS with this certificate (and --gnmi-tls-key)"),
		key:      fs.String("gnmi-tls-key", "", "the TLS certificate's key"),
		clientCA: fs.String("gnmi-client-ca", "", "require client certificates signed by this CA (mutual TLS)"),
		user:     fs.String("gnmi-username", "", "require this username, and the password from PANOPTES_SIM_GNMI_PASSWORD"),
		update:   fs.Duration("gnmi-update", gnmisim.DefaultUpdateInterval, "how often targets refresh their values (the finest sample interval)"),
		perLeaf: fs.Bool("gnmi-per-leaf", false, "send one notification per leaf, as the reference server does (default: a container's\n"+
			"leaves of one sample, an interface's state, in one notification, as devices send them)"),
	}
}

// start serves the farm's devices over gNMI when --gnmi is set (nil
// otherwise) and returns a line saying where.
func (f *simGNMIFlags) start(ctx context.Context, farm *sim.Farm, log *slog.Logger) (*gnmisim.Server, string, error) {
	if !*f.on {
		return nil, "", nil
	}
	opts := gnmisim.Options{Addr: *f.addr, BasePort: *f.basePort, UpdateInterval: *f.update, PerLeaf: *f.perLeaf, Logger: log}
	if *f.cert != "" || *f.key != "" {
		tc, err := gnmisim.ServerTLS(*f.cert, *f.key, *f.clientCA)
		if err != nil {
			return nil, "", err
		}
		opts.TLS = tc
	}
	if *f.user != "" {
		opts.Username, opts.Password = *f.user, os.Getenv("PANOPTES_SIM_GNMI_PASSWORD")
	}
	srv, err := gnmisim.Start(ctx, farm.Devices(), opts)
	if err != nil {
		return nil, "", err
	}
	ts := srv.Targets()
	where := ts[0].Addr
	if len(ts) > 1 {
		where += " … " + ts[len(ts)-1].Addr
	}
	sec := "plaintext"
	if opts.TLS != nil {
		sec = "TLS"
		if *f.clientCA != "" {
			sec = "mutual TLS"
		}
	}
	if opts.Username != "" {
		sec += ", username " + opts.Username
	}
	return srv, fmt.Sprintf("panoptes sim: gNMI targets on %s (%s); SIGUSR1 drops every stream, SIGUSR2 silences or resumes them", where, sec), nil
}
