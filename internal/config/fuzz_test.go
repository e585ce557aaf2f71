package config

import (
	"os"
	"strings"
	"testing"

	"github.com/panoptes-go/panoptes/internal/plugin"
)

// FuzzParse: the loader never panics on any text, every problem it reports
// names the file (and is a located *plugin.Error), and what it accepts
// validates.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{good, "site: a\nbogus: 1\n", "snmp:\n  timeout: fast\n  port: ${PORT}\n",
		"a: &x {b: *x}\n", "sinks:\n  - {type: file, path: x, source: {kafka: {brokers: [a]}}}\n",
		"snmp:\n  credentials:\n    x: {version: 2c, community_file: /nonexistent}\n", "site: [${A}, $$]\n"} {
		f.Add([]byte(seed))
	}
	if raw, err := os.ReadFile("../../examples/panoptes.yaml"); err == nil {
		f.Add(raw)
	}
	env := func(k string) (string, bool) { return "v{" + k + "}#", k != "UNSET" }
	f.Fuzz(func(t *testing.T, raw []byte) {
		cfg, err := Parse("f.yaml", raw, env)
		if err != nil {
			for _, e := range plugin.Flatten(err) {
				if !strings.HasPrefix(e.Error(), "f.yaml") {
					t.Fatalf("an error does not name the file: %q", e)
				}
			}
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("accepted a config that does not validate: %v", err)
		}
	})
}
