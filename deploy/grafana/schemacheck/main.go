// Command schemacheck decodes dashboards with Grafana's own dashboard types
// (github.com/grafana/grafana-foundation-sdk/go, generated from Grafana's
// schemas, panel options and queries included) and validates them: a
// field of the wrong type or a missing required one fails. It is a module
// of its own so that the SDK stays out of panoptes' go.mod.
//
//	go -C deploy/grafana/schemacheck run . ../prometheus/*.json ../influxdb/*.json
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: schemacheck DASHBOARD.json...")
		os.Exit(2)
	}
	plugins.RegisterDefaultPlugins() // decode panels and queries by their types
	failed := false
	for _, path := range os.Args[1:] {
		if err := check(path); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", path, err)
			failed = true
			continue
		}
		fmt.Printf("%s: ok\n", path)
	}
	if failed {
		os.Exit(1)
	}
}

func check(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var d dashboard.Dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	if err := d.Validate(); err != nil {
		return fmt.Errorf("validate: %w", err)
	}
	if len(d.Panels) == 0 {
		return fmt.Errorf("no panels")
	}
	return nil
}
