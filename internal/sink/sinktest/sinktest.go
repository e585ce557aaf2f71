// Package sinktest helps the tests of sink types and bus sources, each in
// its own folder: loading a config through the real loader with its sinks
// built as `panoptes validate` builds them.
package sinktest

import (
	"errors"
	"os"
	"testing"

	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/sink"
)

// Check builds every sink of cfg (its type and source) as node.Check does;
// give it to config.Load or config.Parse so its errors come with the
// config's.
func Check(cfg *config.Config) error {
	var errs []error
	for i, s := range cfg.Sinks {
		if s.Type == "" {
			continue // config.Validate reports it
		}
		if _, err := sink.New(s, sink.Deps{}); err != nil {
			errs = append(errs, cfg.Locate("sinks", i, "type", err))
		}
	}
	return errors.Join(errs...)
}

// LoadSample loads a config file (a sink's sample.yaml) through the real
// loader with its sinks checked, and returns each sink built, by name.
func LoadSample(t testing.TB, path string, env func(string) (string, bool)) (*config.Config, map[string]sink.Sink) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(path, raw, env, Check)
	if err != nil {
		t.Fatalf("the sample config does not load:\n%v", err)
	}
	out := map[string]sink.Sink{}
	for _, s := range cfg.Sinks {
		c, err := sink.New(s, sink.Deps{})
		if err != nil {
			t.Fatal(err)
		}
		out[s.Name] = c.Sink()
	}
	return cfg, out
}
