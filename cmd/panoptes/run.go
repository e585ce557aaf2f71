package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/memlimit"
	"github.com/panoptes-go/panoptes/internal/node"
	"github.com/panoptes-go/panoptes/internal/reload"
)

func runCmd(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := newFlags("run", "--config FILE",
		"Run every role in one process: discovery reads the inventory sources, the scheduler polls\n"+
			"each device of this node's site on its plugins' intervals, results go to the bus\n"+
			"(embedded NATS JetStream under data_dir unless bus.url is set), and each sink writes them.\n"+
			"Stops cleanly on SIGINT/SIGTERM: running checks finish and are published first.", stderr)
	path := fs.String("config", "panoptes.yaml", "config file")
	level := fs.String("log-level", "", "override log.level (debug, info, warn, error)")
	roles := fs.String("roles", "", "override roles: comma-separated list of discovery, resource_manager, poller, enrichment, consumer, http")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	// load reads the file as a reload does: the command line's overrides
	// apply to every version of it.
	load := func() (*config.Config, error) {
		cfg, err := config.Load(*path, node.Check)
		if err != nil {
			return nil, err
		}
		if *level != "" {
			cfg.Log.Level = *level
		}
		if *roles != "" {
			cfg.Roles = config.ParseRoles(*roles)
			if err := cfg.Validate(); err != nil {
				return nil, fmt.Errorf("--roles %q: %w", *roles, err)
			}
		}
		return cfg, nil
	}
	cfg, err := load()
	if err != nil {
		return err
	}
	lvl := new(slog.LevelVar)
	logger, err := newLogger(cfg.Log, lvl, stderr)
	if err != nil {
		return err
	}
	applyRuntime(cfg.Runtime, logger)
	n, err := node.New(cfg, logger)
	if err != nil {
		return err
	}
	r := reload.New(reload.Options{Load: load, Current: cfg, Logger: logger.With("component", "reload"), Registerer: n.Registry(),
		Apply: func(ctx context.Context, cfg *config.Config, d config.Diff) error {
			if err := n.Reload(ctx, cfg, d); err != nil {
				return err
			}
			if d.LiveChanged("log.level") {
				_ = lvl.UnmarshalText([]byte(cfg.Log.Level)) // validated
			}
			return nil
		}})
	n.Handle("POST /-/reload", r.Handler())
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go r.OnSignal(ctx, hup)
	return n.Run(ctx)
}

// newLogger makes the process's logger at lc's level, held by lvl so that
// a reload can change it.
func newLogger(lc config.Log, lvl *slog.LevelVar, w io.Writer) (*slog.Logger, error) {
	if err := lvl.UnmarshalText([]byte(strings.ToUpper(lc.Level))); err != nil {
		return nil, fmt.Errorf("log level %q: use debug, info, warn or error", lc.Level)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	if lc.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}

// applyRuntime sets the Go memory limit and GC target (runtime.*) before
// the node allocates anything, and logs what was chosen and why.
func applyRuntime(rc config.Runtime, logger *slog.Logger) {
	mem := memlimit.FromConfig(rc)
	logger.Info("go runtime: "+mem.String(), "memory_limit_bytes", mem.Limit, "gc_percent", mem.GCPercent)
}
