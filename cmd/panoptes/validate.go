package main

import (
	"context"
	"fmt"
	"io"

	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/node"
)

func validateCmd(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("validate", "--config FILE",
		"Check a config file: syntax, unknown keys, types, values, plugin options and resource filters.\n"+
			"Every problem is printed as file:line: key: reason. Exits 1 on any error.", stderr)
	path := fs.String("config", "panoptes.yaml", "config file to check")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	// node.Check builds every plugin, source and sink, so their problems
	// come out in the same run as the config's own.
	cfg, err := config.Load(*path, node.Check)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: ok (%d discovery sources, %d polling plugins, %d sinks)\n",
		*path, len(cfg.Discovery.Sources), len(cfg.Polling.Plugins), len(cfg.Sinks))
	return nil
}
